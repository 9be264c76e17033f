# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-Helm fixtures: drive the real Helm SDK (helm-python-sdk, Helm v4.2.3)
against a local API server, and leave releases *really* stuck.

    env = HelmEnv(kube.kubeconfig)             # or driver="configmap"
    env.install("web", "shop"); env.upgrade("web", "shop", chart=make_chart(tmp_path, "0.2.0"))
    rev = make_stuck_upgrade(env, kube, "web", "shop")   # real Helm, interrupted for real
    age_record(kube, "shop", "web", rev, 3600)           # look an hour old
    assert LOCKED in assert_locked(env, "web", "shop")    # real Helm refuses to upgrade

Every Helm call runs in a child process (``python -m helmfix.op``), so a hang
or crash in the Go library cannot wedge the test process and a call can be
killed. A stuck-maker starts the real operation, makes the server hang the one
request that would let Helm finish (by default the write of the chart's
ConfigMap, ``at="object"``; or the release-record update that finalises the
operation, ``at="record"``), waits until the server reports that request
hanging, SIGKILLs Helm (a CI runner killed, a Ctrl-C, an OOM kill), releases
the hang and checks that the newest revision is left ``pending-*``.

API:
  CHART (the unstick-demo chart), LOCKED, HelmFailed
  HelmEnv(kubeconfig, context=None, driver="secret", token=None, ca_file=None, sql_connection_string=None)
      .install(name, ns, chart=None, values=None) .upgrade(name, ns, chart=None, values=None, install=False)
      .rollback(name, ns, revision=None) .uninstall(name, ns) .history(name, ns) .status(name, ns)
      .release(name, ns) .get_values(name, ns) .list_all() .upgrade_async(...) -> Popen
  make_chart(tmp_path, version="0.2.0", app_version=None, bad=False) -> chart dir
  make_stuck_upgrade(env, server, name, ns, chart=None, values=None, at="object") -> revision
  make_stuck_install(env, server, name, ns, chart=None, values=None, at="object") -> revision
  make_stuck_rollback(env, server, name, ns, revision=None, at="object") -> revision
  assert_locked(env, name, ns, chart=None) -> Helm's error text
  age_record(server_or_store_or_api, ns, name, revision, seconds, driver=None) -> the rewritten object
  newest(server_or_store, ns, name, driver="secret") -> (revision, status)
  record_name(name, revision), decode_record(obj), decode_record_file(path), encode_record(obj, release)
"""

import base64
import calendar
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
SUPPORT = str(Path(__file__).resolve().parents[1])
#: argv[0] of the SDK's child processes: the Helm SDK names its server-side apply field manager after the
#: process (Go's os.Args[0]), and the helm CLI's is "helm" -- so are these, or a release installed here and
#: upgraded by the real helm CLI would have two managers and conflict, as it would on a real cluster
HELM_ARGV0 = str(Path(sys.executable).parent / "helm")


class HelmFailed(Exception):
    """A real Helm operation failed; the message is Helm's."""


class HelmEnv:
    """Real Helm (SDK) against one cluster; each call in a child process."""

    def __init__(self, kubeconfig, context=None, driver="secret", token=None, ca_file=None,
                 sql_connection_string=None):
        self.kubeconfig = str(kubeconfig)
        self.driver = driver
        #: driver="sql": Helm reads the database from HELM_DRIVER_SQL_CONNECTION_STRING (helmfix/sql.py)
        self.sql_connection_string = sql_connection_string
        self.base = {"kubeconfig": self.kubeconfig, "context": context, "driver": driver,
                     "token": token, "ca_file": ca_file}

    def _request(self, op, name=None, namespace=None, **kw):
        req = dict(self.base, op=op, name=name, namespace=namespace)
        req.update(kw)
        return [HELM_ARGV0, "-m", "helmfix.op", json.dumps(req)]

    def _env(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = SUPPORT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if self.sql_connection_string:
            env["HELM_DRIVER_SQL_CONNECTION_STRING"] = self.sql_connection_string
        return env

    def run(self, op, name=None, namespace=None, timeout=120, **kw):
        """Run one operation to completion; HelmFailed with Helm's message if it fails."""
        try:
            proc = subprocess.run(self._request(op, name, namespace, **kw), capture_output=True, text=True,
                                  env=self._env(), timeout=timeout, executable=sys.executable)
        except subprocess.TimeoutExpired:
            raise HelmFailed("helm %s %s/%s did not finish in %ss (killed)" % (op, namespace, name, timeout))
        if proc.returncode != 0:
            raise HelmFailed(_helm_error(proc.stderr) or "helm %s failed (%d)" % (op, proc.returncode))
        return json.loads(proc.stdout or "{}")

    def start(self, op, name=None, namespace=None, **kw):
        """Start an operation in the background; returns the Popen (stdout/stderr piped)."""
        return subprocess.Popen(self._request(op, name, namespace, **kw), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self._env(), executable=sys.executable)

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
        """Oldest first: [{revision, updated, status, chart, app_version, description,
        chart_name, chart_version, deployed_at, labels}]."""
        return self.run("history", name, namespace)

    def status(self, name, namespace, revision=None):
        """The SDK's summary (name, namespace, revision, status, chart_name, ..., manifest)."""
        return self.run("status", name, namespace, revision=revision)

    def release(self, name, namespace, revision=None):
        """The release as ``helm status -o json`` shows it (info, config, manifest, version ...)."""
        return self.run("release", name, namespace, revision=revision)

    def get_values(self, name, namespace, all=False):
        return self.run("values", name, namespace, all=all)

    def list_all(self):
        """Newest revision of every release in every namespace, any state."""
        return self.run("list", all=True, all_namespaces=True)


def _helm_error(stderr):
    """Helm's error message without the Go client's klog noise."""
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip() and not re.match(r"[IWE]\d{4} ", ln)]
    return "\n".join(lines).strip()


def make_chart(tmp_path, version="0.2.0", app_version=None, bad=False):
    """A copy of the test chart with another ``version`` (and ``appVersion``).
    ``bad=True`` adds a ConfigMap whose ``data`` is not a map: the API server
    rejects it (400), so an install/upgrade with this chart fails for real."""
    dest = Path(tmp_path) / ("chart-%s%s" % (version, "-bad" if bad else ""))
    if dest.exists():
        shutil.rmtree(str(dest))
    shutil.copytree(str(CHART), str(dest))
    meta = (dest / "Chart.yaml").read_text()
    meta = re.sub(r"(?m)^version: .*$", "version: %s" % version, meta)
    if app_version:
        meta = re.sub(r'(?m)^appVersion: .*$', 'appVersion: "%s"' % app_version, meta)
    (dest / "Chart.yaml").write_text(meta)
    if bad:
        (dest / "templates" / "bad.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-bad\n"
            "data: not-a-map\n")
    return dest


# -- records ---------------------------------------------------------------
def _resource(driver):
    return "configmaps" if driver == "configmap" else "secrets"


def record_name(name, revision):
    return "sh.helm.release.v1.%s.v%d" % (name, int(revision))


def _store(server_or_store):
    return getattr(server_or_store, "store", server_or_store)


def newest(server_or_store, namespace, name, driver="secret"):
    """(revision, status) of the newest record of a release, read from the server's store."""
    best = None
    for obj in _store(server_or_store).list(_resource(driver), namespace):
        labels = obj["metadata"].get("labels") or {}
        if labels.get("owner") == "helm" and labels.get("name") == name:
            rev = int(labels["version"])
            if best is None or rev > best[0]:
                best = (rev, labels.get("status"))
    return best


def _is_secret(obj):
    return obj.get("kind") == "Secret" or obj.get("type") == "helm.sh/release.v1"


def decode_record(obj):
    """The release JSON text of a Secret/ConfigMap record (values included).
    Secret: data.release = base64(base64(gzip(JSON))); ConfigMap: base64(gzip(JSON))."""
    data = obj["data"]["release"]
    inner = base64.b64decode(data) if _is_secret(obj) else data
    raw = base64.b64decode(inner)
    return gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()


def decode_record_file(path):
    with open(path) as handle:
        return decode_record(json.load(handle))


def encode_record(obj, release):
    raw = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    obj["data"]["release"] = (base64.b64encode(raw) if _is_secret(obj) else raw).decode()
    return obj


def _epoch(stamp):
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def _rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _age(obj, now, seconds):
    """Rewrite one record in place so it looks ``seconds`` old at server time ``now``, as helm would have
    written it back then: its creation time (what a pending revision's age is measured from), the time labels
    helm wrote (those present: a new revision copies the previous one's ``modifiedAt``, so a live upgrade of
    a release aged here carries an old ``modifiedAt``, as in life) and the payload's times."""
    then = int(now - seconds)
    stamp = _rfc3339(then)
    obj["metadata"]["creationTimestamp"] = stamp
    labels = obj["metadata"].setdefault("labels", {})
    for label in ("modifiedAt", "createdAt"):
        if label in labels:
            labels[label] = str(then)
    release = json.loads(decode_record(obj))
    info = release.setdefault("info", {})
    info["last_deployed"] = stamp
    if info.get("first_deployed") and _epoch(info["first_deployed"]) > then:
        info["first_deployed"] = stamp
    return encode_record(obj, release)


def age_record(target, namespace, name, revision, seconds, driver=None):
    """Make one release record ``seconds`` older, as if the interrupted operation had started back then:
    ``metadata.creationTimestamp`` (the server reports it; localkube's store is written directly, or through
    its test hook when it runs as a process), the payload's ``info.last_deployed`` (and ``first_deployed`` if
    it would be later), and helm's managedFields times on the release's objects, all measured from the API
    server's clock; the ``createdAt``/``modifiedAt`` labels present, to that time too.

    ``target``: a LocalKube (or anything with ``.store``: a remote one's store has ``set_creation``) or a
    localkube Store. A ``kubernetes.client.CoreV1Api`` is refused: over the API no record can be made older
    (a real API server keeps its creationTimestamp), so on a real server a test waits for real.
    ``driver``: "secret"/"configmap"; None finds whichever holds the record. Returns the rewritten object."""
    if hasattr(target, "read_namespaced_secret"):
        raise AssertionError("age_record: no API request can make a record older (the server keeps its "
                             "creationTimestamp); use localkube's store, or wait on a real server")
    store = _store(target)
    drivers = [driver] if driver else ["secret", "configmap"]
    for drv in drivers:
        obj = store.get(_resource(drv), namespace, record_name(name, revision))
        if obj is not None:
            break
    else:
        raise AssertionError("no release record %s in %s (%s)" % (record_name(name, revision), namespace,
                                                                  "/".join(drivers)))
    now = target.now() if hasattr(target, "now") else _epoch(store.clock())
    _age(obj, now, seconds)
    obj = store.put(obj, _resource(drv)) or obj
    if hasattr(store, "set_creation"):
        obj = store.set_creation(_resource(drv), namespace, record_name(name, revision),
                                 _rfc3339(int(now - seconds)))
    _age_objects(store, namespace, json.loads(decode_record(obj)), int(now - seconds))
    return obj


def _age_objects(store, namespace, release, then):
    """The operation started back then, so helm's writes of the release's objects (their managedFields times
    of a field manager named helm*) are no newer than that either: what helm_unstick's liveness checks read."""
    import yaml
    from localkube.discovery import KIND_TO_RESOURCE
    for text in (release.get("manifest") or "").split("\n---"):
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or doc.get("kind") not in KIND_TO_RESOURCE:
            continue
        meta = doc.get("metadata") or {}
        resource = KIND_TO_RESOURCE[doc["kind"]]
        live = store.get(resource, meta.get("namespace") or namespace, meta.get("name"))
        if live is None:
            continue
        changed = False
        for entry in live["metadata"].get("managedFields") or []:
            if (entry.get("manager") or "").startswith("helm") and entry.get("time") \
                    and _epoch(entry["time"]) > then:
                entry["time"] = _rfc3339(then)
                changed = True
        if changed:
            store.put(live, resource)


# -- stuck releases --------------------------------------------------------
def _hang_target(env, name, namespace, at):
    ns = re.escape(namespace)
    if at == "object":    # the chart's ConfigMap, applied by Helm (server-side apply = PATCH)
        return {"method": "PATCH", "path": r"/namespaces/%s/configmaps/%s-config(\?|$)" % (ns, re.escape(name))}
    if at == "record":    # the first release-record update (supersede the old / finalise the new)
        return {"method": "PUT", "path": r"/namespaces/%s/%s/sh\.helm\.release\.v1\.%s\.v\d+(\?|$)"
                % (ns, _resource(env.driver), re.escape(name))}
    raise ValueError("at must be 'object' or 'record', not %r" % at)


def interrupt(server, proc, hang, what, timeout=60):
    """Hang the server on ``hang`` (fault kwargs), wait until Helm's request is
    hanging there, SIGKILL Helm, wait until the server saw the client go (the
    hung request is then dropped, never served), lift the fault.

    Safe with several stuck-makers on one server at once: progress is judged by
    this fault having fired and the server's count of requests that ever hung,
    not by the number hanging right now."""
    faults = server.faults
    total_before = faults.hung_total
    fault = faults.hang(count=1, **hang)
    try:
        deadline = time.time() + timeout
        while not (fault.fired and faults.hung_total > total_before and faults.hanging):
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError("real Helm %s finished (rc=%s) without reaching %s: %s %s"
                                     % (what, proc.returncode, hang["path"], out, _helm_error(err)))
            if time.time() > deadline:
                raise AssertionError("real Helm %s never reached %s in %ss" % (what, hang["path"], timeout))
            faults.wait_hanging(1, timeout=0.02)
        hanging = faults.hanging
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        # the server polls a hung client every 50 ms; let it see the EOF and drop
        # the request before the fault is lifted (lifting first would serve it)
        time.sleep(0.15)
        deadline = time.time() + 2
        while faults.hanging >= hanging and time.time() < deadline:
            time.sleep(0.01)
    finally:
        faults.remove(fault.id)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _stuck(env, server, name, namespace, op, expect, at, **kw):
    before = newest(server, namespace, name, env.driver)
    proc = env.start(op, name, namespace, **kw)
    interrupt(server, proc, _hang_target(env, name, namespace, at), "%s %s/%s" % (op, namespace, name))
    rev, status = newest(server, namespace, name, env.driver) or (None, None)
    assert status == expect, "expected %s after interrupting %s, got %s" % (expect, op, status)
    assert before is None or rev == before[0] + 1, "expected a new revision after %s, got %s" % (before, rev)
    return rev


def make_stuck_upgrade(env, server, name, namespace, chart=None, values=None, at="object"):
    """Interrupt a real ``helm upgrade``: the new revision stays pending-upgrade. Returns it."""
    return _stuck(env, server, name, namespace, "upgrade", "pending-upgrade", at,
                  chart=str(chart or CHART), values=values)


def make_stuck_install(env, server, name, namespace, chart=None, values=None, at="object"):
    """Interrupt a real ``helm install``: revision 1 stays pending-install. Returns it."""
    return _stuck(env, server, name, namespace, "install", "pending-install", at,
                  chart=str(chart or CHART), values=values)


def make_stuck_rollback(env, server, name, namespace, revision=None, at="object"):
    """Interrupt a real ``helm rollback`` (to ``revision``, default the previous):
    the new revision stays pending-rollback. Returns it."""
    return _stuck(env, server, name, namespace, "rollback", "pending-rollback", at, revision=revision)


def stuck_upgrade(env, server, name="web", namespace="shop", age=3600):
    """Install ``name`` with real Helm (``env``), interrupt its upgrade and make the pending revision ``age``
    seconds old (stuck past any min_age). Returns the pending revision."""
    env.install(name, namespace)
    rev = make_stuck_upgrade(env, server, name, namespace)
    age_record(server, namespace, name, rev, age)
    return rev


def installed_and_stuck(server, kubeconfig, name="web", namespace="shop", age=3600):
    """``stuck_upgrade`` with real Helm reaching ``server`` through ``kubeconfig``. Returns the pending revision."""
    return stuck_upgrade(HelmEnv(kubeconfig), server, name, namespace, age)


def assert_locked(env, name, namespace, chart=None):
    """Real Helm must refuse to upgrade; returns its error message."""
    try:
        env.upgrade(name, namespace, chart=chart)
    except HelmFailed as err:
        assert LOCKED in str(err), str(err)
        return str(err)
    raise AssertionError("real Helm upgraded %s/%s: it was not locked" % (namespace, name))
