# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the user's ``helm`` CLI against exactly the cluster the module scanned.

Each call gets a private kubeconfig (0600, in a 0700 directory removed right
after) written from the one resolved ``Connection``, ``--kube-context``
always, and an environment without helm's own connection variables, so
nothing on the controller can point helm at another cluster. Credentials
are never on the command line, and are masked in anything helm prints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError

SUPPORTED_MAJORS = (3, 4)
#: seconds helm may run beyond its own --timeout before it is killed
KILL_GRACE = 60
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def helm_timeout(seconds):
    """Seconds → a Go duration string helm accepts (``300s``)."""
    return "%ds" % int(seconds)


def parse_version(text):
    """``v3.21.4`` → (3, 21, 4); ``v3.21`` (a ``go install`` without ldflags) → (3, 21, None)."""
    match = _VERSION_RE.search(text or "")
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch) if patch is not None else None


def format_version(version):
    return "v" + ".".join(str(part) for part in version if part is not None)


def run_subprocess(argv, env, timeout):
    """(rc, stdout, stderr) of ``argv``; rc None when it had to be killed after ``timeout``."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, universal_newlines=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, out, err
    return proc.returncode, out, err


class HelmCli:
    """The helm CLI at ``binary``, bound to one ``Connection`` and storage driver.

    ``storage_environment``: what helm needs to reach the records when they are not in the cluster
    (the sql driver: HELM_DRIVER and its connection string); ``storage_secrets``: masked like credentials."""

    def __init__(self, binary, connection, driver, run=run_subprocess, environ=None, storage_environment=None,
                 storage_secrets=()):
        self.binary = binary
        self.connection = connection
        self.driver = driver
        self.run = run
        self.environ = os.environ if environ is None else environ
        self.storage_environment = dict(storage_environment or {})
        self.storage_secrets = tuple(s for s in storage_secrets if s)
        self.version = None

    def _mask(self, text):
        text = self.connection.mask(text)
        for secret in sorted(self.storage_secrets, key=len, reverse=True):
            text = text.replace(secret, "********")
        return text

    def _call(self, argv, timeout, cluster=True):
        # a call without the cluster (``version``) needs no records either: helm would still open the sql
        # driver's database first and fail where the role may not run Helm's migrations check
        env = self.connection.helm_environment(self.environ, self.driver if cluster else "secret")
        if cluster:
            env.update(self.storage_environment)
        directory = None
        cmd = [self.binary] + argv
        try:
            if cluster:
                directory = self.connection.private_dir()
                path = self.connection.helm_kubeconfig(directory)
                cmd += ["--kubeconfig", path, "--kube-context", self.connection.context]
            try:
                rc, out, err = self.run(cmd, env, timeout)
            except OSError as exc:
                raise HelmError("cannot run %s: %s" % (self.binary, exc.strerror or exc))
        finally:
            if directory:
                self.connection.remove_private_dir(directory)
        out, err = self._mask(out or ""), self._mask(err or "")
        if rc is None:
            raise HelmError("helm %s did not finish within %ds and was killed" % (argv[0], timeout))
        if rc != 0:
            raise HelmError((err or out).strip() or "helm %s exited with %d" % (argv[0], rc))
        return out

    def check(self):
        """Make sure ``binary`` is a helm this module supports; remembers its version.
        Raises HelmError naming the path and the version found."""
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise HelmError("%s is not an executable file" % self.binary)
        try:
            out = self._call(["version", "--template", "{{.Version}}"], 30, cluster=False)
        except HelmError as err:
            raise HelmError("%s does not answer 'version' like helm: %s" % (self.binary, err))
        version = parse_version(out.strip())
        if version is None:
            raise HelmError("%s does not look like helm: 'version' printed %r" % (self.binary, out.strip()[:80]))
        if version[0] not in SUPPORTED_MAJORS:
            raise HelmError("%s is helm %s; helm 3.x or 4.x is needed" % (self.binary, format_version(version)))
        self.version = version
        return version

    def _wait_flags(self, wait, timeout):
        if not wait:
            return ["--timeout", helm_timeout(timeout)]
        # helm 4's --wait takes a strategy; bare --wait is helm 3's (legacy polling)
        flag = "--wait=watcher" if self.version and self.version[0] >= 4 else "--wait"
        return [flag, "--timeout", helm_timeout(timeout)]

    def rollback(self, namespace, release, revision, wait, timeout):
        argv = ["rollback", release, str(revision), "--namespace", namespace]
        return self._call(argv + self._wait_flags(wait, timeout), timeout + KILL_GRACE)

    def uninstall(self, namespace, release, wait, timeout):
        argv = ["uninstall", release, "--namespace", namespace]
        return self._call(argv + self._wait_flags(wait, timeout), timeout + KILL_GRACE)
