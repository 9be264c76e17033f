# SPDX-License-Identifier: GPL-3.0-or-later
"""A real helm CLI (tests/support/tools.py) run the way a user runs it, against one cluster:
``helm history``, ``helm upgrade`` and the refusal users meet on a stuck release. ``start`` lets
helmfix's stuck-makers interrupt the real CLI exactly as they interrupt the SDK:

    real = RealHelm(kube.kubeconfig, tools.HELM3)
    rev = helmfix.make_stuck_upgrade(real, kube, "web", "shop", chart=new_chart)   # helm 3 killed mid-apply
"""

import json
import os
import subprocess
import tempfile

from helmfix import CHART, LOCKED
from tools import HELM, HELM3

#: helm's own connection variables: a test's helm reads only the kubeconfig it is given
HELM_CONNECTION_VARS = ("KUBECONFIG", "HELM_KUBECONTEXT", "HELM_KUBETOKEN", "HELM_KUBEAPISERVER",
                        "HELM_NAMESPACE", "HELM_KUBECAFILE", "HELM_DRIVER", "HELM_DRIVER_SQL_CONNECTION_STRING")


class RealHelm:
    def __init__(self, kubeconfig, binary=HELM, context=None, driver="secret", sql_connection_string=None):
        self.binary = str(binary)
        self.driver = driver
        self.flags = ["--kubeconfig", str(kubeconfig)] + (["--kube-context", context] if context else [])
        self.env = {k: v for k, v in os.environ.items() if k not in HELM_CONNECTION_VARS}
        self.env["HELM_DRIVER"] = driver
        if sql_connection_string:   # driver="sql": the database, as a user exports it for helm
            self.env["HELM_DRIVER_SQL_CONNECTION_STRING"] = sql_connection_string

    def argv(self, *args, namespace="default"):
        return [self.binary] + self.flags + ["--namespace", namespace] + list(args)

    def run(self, *args, namespace="default", check=True, timeout=180):
        proc = subprocess.run(self.argv(*args, namespace=namespace), capture_output=True, text=True,
                              env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("%s %s failed (%d): %s" % (self.binary, " ".join(args), proc.returncode,
                                                           proc.stderr.strip()))
        return proc

    def history(self, name, namespace):
        """[(revision, status)] oldest first, from ``helm history -o json``."""
        rows = json.loads(self.run("history", name, "-o", "json", namespace=namespace).stdout)
        return [(row["revision"], row["status"]) for row in rows]

    def install(self, name, namespace, chart=None, values=None):
        return self.run(*self._op_args("install", name, chart, values), namespace=namespace).stdout

    def upgrade(self, name, namespace, chart=None, *extra):
        return self.run("upgrade", name, str(chart or CHART), *extra, namespace=namespace).stdout

    def rollback(self, name, namespace, revision=None):
        return self.run(*self._op_args("rollback", name, revision=revision), namespace=namespace).stdout

    def refusal(self, name, namespace, chart=None):
        """The error ``helm upgrade`` prints on a stuck release (asserting that it refuses)."""
        proc = self.run("upgrade", name, str(chart or CHART), namespace=namespace, check=False)
        assert proc.returncode == 1 and LOCKED in proc.stderr, (proc.returncode, proc.stdout, proc.stderr)
        return proc.stderr.strip()

    @property
    def major(self):
        """3 or 4: the helm major version of this binary (by its pinned build)."""
        return 3 if self.binary == str(HELM3) else 4

    def wait_flags(self):
        """``--wait`` as each version spells its watching wait."""
        return ["--wait"] if self.major == 3 else ["--wait=watcher"]

    def start(self, op, name, namespace, chart=None, values=None, revision=None, extra=()):
        """``helm install|upgrade|rollback`` in the background (for the stuck-makers)."""
        argv = self._op_args(op, name, chart, values, revision) + list(extra)
        return subprocess.Popen(self.argv(*argv, namespace=namespace),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)

    @staticmethod
    def _op_args(op, name, chart=None, values=None, revision=None):
        if op == "rollback":
            return ["rollback", name] + ([str(revision)] if revision else [])
        args = [op, name, str(chart or CHART)]
        if values:   # a values file, as users pass them (values may hold passwords: never on argv)
            handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            with handle:
                json.dump(values, handle)
            args += ["-f", handle.name]
        return args
