# SPDX-License-Identifier: GPL-3.0-or-later
"""Releases left stuck for real on the real API server, the way most of them are in life: ``helm
upgrade|install|rollback --wait`` waits for a Deployment that never becomes ready (no controller-manager
runs here), and the client is killed while it waits (a CI runner killed at its time limit, a Ctrl-C).
Helm has written the new revision as ``pending-*`` and applied the chart; nobody finishes it.

    real = RealHelm(kube.kubeconfig, tools.HELM3)
    kube.create_namespace("shop")
    real.install("web", "shop")                                          # revision 1, deployed
    rev = make_stuck(real, kube, "upgrade", "web", "shop", chart=workload_chart(tmp_path, "0.2.0"))
    proc = start_live(real, kube, "upgrade", "web", "shop", chart=...)   # a live one: kill it yourself

No fault injection: the server is the real one and the interruption is a SIGKILL of the real CLI.
"""

import os
import signal
import time

import helmfix

EXPECT = {"install": "pending-install", "upgrade": "pending-upgrade", "rollback": "pending-rollback"}

_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: registry.invalid/never-pulled:{{ .Chart.Version }}
"""


def workload_chart(tmp_path, version="0.2.0"):
    """The test chart plus a Deployment: with ``--wait``, Helm waits for it for as long as it is let."""
    dest = helmfix.make_chart(tmp_path, version)
    workload = dest.parent / (dest.name + "-workload")
    if workload.exists():
        return workload
    dest.rename(workload)
    (workload / "templates" / "deployment.yaml").write_text(_DEPLOYMENT)
    return workload


def start_live(real, kube, op, name, namespace, chart=None, revision=None, timeout=120):
    """Start ``helm OP --wait`` and return once the new revision is recorded ``pending-*`` and the CLI
    is waiting on the Deployment: a live operation (the caller kills or lets it run)."""
    before = helmfix.newest(kube, namespace, name)
    extra = real.wait_flags() + ["--timeout", "30m"]
    proc = real.start(op, name, namespace, chart=chart, revision=revision, extra=extra)
    want = (before[0] + 1 if before else 1, EXPECT[op])
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("real helm %s %s/%s ended (rc=%s) before it waited: %s %s"
                                 % (op, namespace, name, proc.returncode, out, err))
        if helmfix.newest(kube, namespace, name) == want and _waiting(kube, namespace, name):
            return proc
        if time.time() > deadline:
            proc.kill()
            proc.communicate()
            raise AssertionError("real helm %s %s/%s never reached %s in %ss (newest: %s)"
                                 % (op, namespace, name, want, timeout, helmfix.newest(kube, namespace, name)))
        time.sleep(0.1)


def _waiting(kube, namespace, name):
    """Helm applies the chart before it waits: the Deployment exists once the wait has begun."""
    code, _, _ = kube.request("GET", "/apis/apps/v1/namespaces/%s/deployments/%s-app" % (namespace, name))
    return code == 200


def kill(proc):
    """SIGKILL the real CLI (nothing of Helm runs after it) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def make_stuck(real, kube, op, name, namespace, chart=None, revision=None):
    """Leave the release stuck by killing ``helm OP --wait`` while it waits; returns the pending revision."""
    proc = start_live(real, kube, op, name, namespace, chart=chart, revision=revision)
    kill(proc)
    rev, status = helmfix.newest(kube, namespace, name)
    assert status == EXPECT[op], "after killing helm %s: %s" % (op, status)
    return rev
