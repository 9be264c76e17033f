"""Real-Helm fixtures: drive the real Helm SDK (helm-python-sdk, Helm v4.2.3)
against a local API server, and leave releases *really* stuck.

    env = HelmEnv(kube.kubeconfig)             # or driver="configmap"
    env.install("web", "shop"); env.upgrade("web", "shop")
    rev = make_stuck_upgrade(env, kube, "web", "shop")   # interrupted for real
    age_record(kube, "shop", "web", rev, 3600)           # look an hour old
    assert "another operation" in assert_locked(env, "web", "shop")

Every Helm call runs in a child process (``helmfix.op``). A stuck-maker starts
the real operation, makes the server hang on the write of the release's chart
object (after Helm has stored the new pending revision and before it can
finalise it), waits until that request is hanging, SIGKILLs the process
(a CI runner killed, a Ctrl-C), and checks the result.
"""

import base64
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CHART = Path(__file__).resolve().parent / "chart"
LOCKED = "another operation (install/upgrade/rollback) is in progress"


class HelmFailed(Exception):
    """A real Helm operation failed; the message is Helm's."""


class HelmEnv:
    def __init__(self, kubeconfig, context=None, driver="secret", token=None, ca_file=None):
        self.base = {"kubeconfig": str(kubeconfig), "context": context, "driver": driver,
                     "token": token, "ca_file": ca_file}
        self.driver = driver

    def _request(self, op, name=None, namespace=None, **kw):
        req = dict(self.base, op=op, name=name, namespace=namespace)
        req.update(kw)
        return [sys.executable, "-m", "helmfix.op", json.dumps(req)]

    def _env(self):
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def run(self, op, name=None, namespace=None, timeout=120, **kw):
        proc = subprocess.run(self._request(op, name, namespace, **kw), capture_output=True, text=True,
                              env=self._env(), timeout=timeout)
        if proc.returncode != 0:
            raise HelmFailed(proc.stderr.strip() or "helm %s failed (%d)" % (op, proc.returncode))
        return json.loads(proc.stdout or "{}")

    def start(self, op, name=None, namespace=None, **kw):
        """Start an operation in the background; returns the Popen."""
        return subprocess.Popen(self._request(op, name, namespace, **kw), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self._env())

    # -- the operations --------------------------------------------------
    def install(self, name, namespace, chart=None, values=None, **kw):
        return self.run("install", name, namespace, chart=str(chart or CHART), values=values, **kw)

    def upgrade(self, name, namespace, chart=None, values=None, install=False, **kw):
        return self.run("upgrade", name, namespace, chart=str(chart or CHART), values=values,
                        install=install, **kw)

    def upgrade_async(self, name, namespace, chart=None, values=None, **kw):
        return self.start("upgrade", name, namespace, chart=str(chart or CHART), values=values, **kw)

    def rollback(self, name, namespace, revision=None, **kw):
        return self.run("rollback", name, namespace, revision=revision, **kw)

    def uninstall(self, name, namespace, **kw):
        return self.run("uninstall", name, namespace, **kw)

    def history(self, name, namespace):
        return self.run("history", name, namespace)

    def status(self, name, namespace, revision=None):
        return self.run("status", name, namespace, revision=revision)

    def list_all(self):
        return self.run("list", all=True, all_namespaces=True)


def make_chart(tmp_path, version="0.2.0", app_version=None, bad=False):
    """A copy of the test chart with another version; ``bad`` makes its
    ConfigMap invalid, so the API server rejects it (an upgrade that fails)."""
    dest = Path(tmp_path) / ("chart-%s%s" % (version, "-bad" if bad else ""))
    if dest.exists():
        shutil.rmtree(str(dest))
    shutil.copytree(str(CHART), str(dest))
    meta = (dest / "Chart.yaml").read_text()
    meta = re.sub(r"(?m)^version: .*$", "version: %s" % version, meta)
    if app_version:
        meta = re.sub(r'(?m)^appVersion: .*$', 'appVersion: "%s"' % app_version, meta)
    (dest / "Chart.yaml").write_text(meta)
    if bad:  # a ConfigMap whose data is not a map: the API server rejects it
        (dest / "templates" / "bad.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bad\n"
            "data: not-a-map\n")
    return dest


# -- stuck releases ------------------------------------------------------
def _resource(driver):
    return "configmaps" if driver == "configmap" else "secrets"


def newest(kube, namespace, name, driver="secret"):
    """(revision, status) of the newest record of a release, read from the store."""
    best = None
    for obj in kube.store.list(_resource(driver), namespace):
        labels = obj["metadata"].get("labels") or {}
        if labels.get("owner") == "helm" and labels.get("name") == name:
            rev = int(labels["version"])
            if best is None or rev > best[0]:
                best = (rev, labels.get("status"))
    return best


def interrupt(kube, proc, namespace, name, what, timeout=60):
    """Hang the server on the release's chart object, then kill Helm."""
    fault = kube.faults.hang(path=r"/namespaces/%s/configmaps/%s-config" % (re.escape(namespace), re.escape(name)),
                             method="PATCH", count=1)
    try:
        if not kube.faults.wait_hanging(1, timeout=timeout):
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("real Helm %s never reached its chart object: %s %s" % (what, out, err))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.time() + 10
        while kube.faults.hanging and time.time() < deadline:  # the server notices the dead client
            time.sleep(0.02)
    finally:
        kube.faults.remove(fault.id)


def _stuck(env, kube, name, namespace, op, expect, **kw):
    proc = env.start(op, name, namespace, **kw)
    interrupt(kube, proc, namespace, name, op)
    rev, status = newest(kube, namespace, name, env.driver)
    assert status == expect, "expected %s after interrupting %s, got %s" % (expect, op, status)
    return rev


def make_stuck_upgrade(env, kube, name, namespace, chart=None, values=None):
    return _stuck(env, kube, name, namespace, "upgrade", "pending-upgrade",
                  chart=str(chart or CHART), values=values)


def make_stuck_install(env, kube, name, namespace, chart=None, values=None):
    return _stuck(env, kube, name, namespace, "install", "pending-install",
                  chart=str(chart or CHART), values=values)


def make_stuck_rollback(env, kube, name, namespace, revision):
    return _stuck(env, kube, name, namespace, "rollback", "pending-rollback", revision=revision)


def assert_locked(env, name, namespace, chart=None):
    """Real Helm must refuse to upgrade; return its error message."""
    try:
        env.upgrade(name, namespace, chart=chart)
    except HelmFailed as err:
        assert LOCKED in str(err), str(err)
        return str(err)
    raise AssertionError("real Helm upgraded %s/%s: it was not locked" % (namespace, name))


# -- records -------------------------------------------------------------
def decode_record(obj):
    """The release JSON text of a Secret/ConfigMap record (values included)."""
    data = obj["data"]["release"]
    inner = base64.b64decode(data) if obj.get("kind") == "Secret" or obj.get("type") == "helm.sh/release.v1" else data
    raw = base64.b64decode(inner)
    return gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()


def decode_record_file(path):
    with open(path) as handle:
        return decode_record(json.load(handle))


def encode_record(obj, release):
    raw = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    secret = obj.get("kind") == "Secret" or obj.get("type") == "helm.sh/release.v1"
    obj["data"]["release"] = (base64.b64encode(raw) if secret else raw).decode()
    return obj


def age_record(kube, namespace, name, revision, seconds, driver="secret"):
    """Make one record look ``seconds`` older (modifiedAt label, creationTimestamp,
    info.last_deployed), as if the interrupted operation had started back then."""
    resource = _resource(driver)
    obj = kube.store.get(resource, namespace, "sh.helm.release.v1.%s.v%d" % (name, revision))
    then = kube.now() - seconds
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(then))
    labels = obj["metadata"].setdefault("labels", {})
    labels["modifiedAt"] = str(int(then))
    obj["metadata"]["creationTimestamp"] = stamp
    release = json.loads(decode_record(obj))
    release["info"]["last_deployed"] = stamp
    kube.store.put(encode_record(obj, release), resource)
    return obj
