# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the user's ``helm`` CLI against the same cluster the module reads.

Connection options are translated to helm's own flags; the bearer token goes
through helm's ``HELM_KUBETOKEN`` environment variable, never the command
line, so it does not show in ``ps`` or in error messages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

import json


class HelmError(Exception):
    pass


def helm_timeout(seconds):
    """Seconds → a Go duration string helm accepts (``300s``)."""
    return "%ds" % int(seconds)


class HelmCli:
    """Builds and runs helm commands. ``run_command`` is AnsibleModule's.

    ``params``: connection options already resolved (``k8s.auth.connection_options``:
    environment fallbacks applied), so helm reaches the cluster the module reads.
    """

    def __init__(self, binary, params, driver, run_command):
        self.binary = binary
        self.driver = driver
        self.run_command = run_command
        self._tmp = None
        self.args, self.env = self._connection(params)

    def _connection(self, params):
        args, env = [], {"HELM_DRIVER": self.driver}
        kubeconfig = params.get("kubeconfig")
        if isinstance(kubeconfig, dict):
            import yaml
            fd, path = tempfile.mkstemp(prefix="helmops-kubeconfig-", suffix=".yaml")
            with os.fdopen(fd, "w") as handle:
                yaml.safe_dump(kubeconfig, handle)
            self._tmp = path
            kubeconfig = path
        if kubeconfig:
            args += ["--kubeconfig", os.path.expanduser(kubeconfig)]
        context = params.get("context")
        if context:
            args += ["--kube-context", context]
        host = params.get("host")
        if host:
            args += ["--kube-apiserver", host]
        token = params.get("api_key")
        if token:
            env["HELM_KUBETOKEN"] = token
        ca_cert = params.get("ca_cert")
        if ca_cert:
            args += ["--kube-ca-file", ca_cert]
        if params.get("validate_certs") is False:
            args += ["--kube-insecure-skip-tls-verify"]
        user = params.get("impersonate_user")
        if user:
            args += ["--kube-as-user", user]
        groups = params.get("impersonate_groups") or []
        for group in groups:
            args += ["--kube-as-group", group]
        return args, env

    def close(self):
        if self._tmp and os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def _run(self, argv):
        cmd = [self.binary] + argv + self.args
        rc, out, err = self.run_command(cmd, environ_update=self.env)
        if rc != 0:
            message = (err or out or "").strip()
            # Never echo credentials back, even if helm printed them.
            token = self.env.get("HELM_KUBETOKEN")
            if token:
                message = message.replace(token, "********")
            raise HelmError(message or "helm %s exited with %d" % (argv[0], rc))
        return out

    def version(self):
        out = self._run(["version", "--template", "{{.Version}}"])
        match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out)
        return tuple(int(x) for x in match.groups()) if match else None

    def rollback(self, namespace, release, revision, wait, timeout):
        argv = ["rollback", release, str(revision), "--namespace", namespace]
        if wait:
            argv += ["--wait", "--timeout", helm_timeout(timeout)]
        return self._run(argv)

    def uninstall(self, namespace, release, wait, timeout):
        argv = ["uninstall", release, "--namespace", namespace]
        if wait:
            argv += ["--wait", "--timeout", helm_timeout(timeout)]
        return self._run(argv)

    def history(self, namespace, release):
        return json.loads(self._run(["history", release, "--namespace", namespace, "-o", "json"]) or "[]")
