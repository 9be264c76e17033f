"""Shared pieces of the benchmarks (bench/*.py): seeding real Helm records, a
localkube server in its own process, the measured calls, machine line, tables.

Seeding: one release is installed with the real Helm SDK on a throwaway
server; its Secret is re-labelled and re-encoded for every release/revision
(real Helm records, the payload Helm wrote, only name/namespace/version/status
changed). Stuck releases are the first ``stuck`` ones: their newest revision is
``pending-upgrade``, two hours old (``modifiedAt``), so past any usual min_age.

Every server listens on 127.0.0.1 only.
"""

import base64
import gzip
import json
import os
import platform
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "tests" / "support"
COLLECTIONS = ROOT / ".venv" / "collections"
for _p in (str(SUPPORT), str(COLLECTIONS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

CHART = SUPPORT / "helmfix" / "chart"
NOW = time.time()
BIN = Path(sys.executable).parent


def decode(data):
    return json.loads(gzip.decompress(base64.b64decode(base64.b64decode(data))))


def encode(release):
    inner = base64.b64encode(gzip.compress(json.dumps(release, separators=(",", ":")).encode(), 9))
    return base64.b64encode(inner).decode()


def template_record(tmp):
    """Install one release with real Helm on a throwaway server; return its Secret."""
    from localkube import LocalKube
    with LocalKube() as kube:
        kubeconfig = str(kube.write_kubeconfig(Path(tmp) / "seed-kubeconfig"))
        code = ("import helm_python as h, sys; "
                "c = h.Config(kubeconfig_path=sys.argv[1], namespace='bench'); "
                "c.install(sys.argv[2], 'seed', {'message': 'hello', 'auth': {'password': 'bench-secret'}}, "
                "create_namespace=True)")
        subprocess.run([sys.executable, "-c", code, kubeconfig, str(CHART)], check=True)
        secret = [o for o in kube.store.list("secrets", "bench") if o["metadata"]["name"].startswith("sh.helm")][0]
    return secret


def seed_objects(template, releases, revisions, stuck, namespaces, manifest_kb=0, prefix="app"):
    """The records (Secrets) of ``releases`` x ``revisions``; the first ``stuck``
    releases' newest revision is pending-upgrade. Returns (objects, namespace names)."""
    base = decode(template["data"]["release"])
    if manifest_kb:  # a bigger chart: more rendered objects in the manifest
        doc = base["manifest"]
        base["manifest"] = "\n".join(doc.replace("-config", "-config-%d" % i)
                                     for i in range(max(1, manifest_kb * 1024 // max(len(doc), 1))))
    meta0 = dict((k, v) for k, v in template["metadata"].items()
                 if k not in ("uid", "resourceVersion", "managedFields", "creationTimestamp"))
    objects = []
    for i in range(releases):
        ns = "ns-%02d" % (i % namespaces)
        name = "%s-%05d" % (prefix, i)
        for rev in range(1, revisions + 1):
            newest = rev == revisions
            status = "deployed" if newest else "superseded"
            if newest and i < stuck:
                status = "pending-upgrade"
            # shallow copies: only name/namespace/version/status differ between records
            rel = dict(base, name=name, namespace=ns, version=rev, info=dict(base["info"], status=status))
            labels = dict(meta0.get("labels") or {}, name=name, status=status, version=str(rev),
                          modifiedAt=str(int(NOW - 7200 + rev)))
            meta = dict(meta0, name="sh.helm.release.v1.%s.v%d" % (name, rev), namespace=ns, labels=labels,
                        resourceVersion=str(len(objects) + 2))  # loaded as is: writes need one
            obj = dict(template, metadata=meta, data=dict(template["data"], release=encode(rel)))
            objects.append(obj)
    return objects, ["ns-%02d" % n for n in range(namespaces)]


def write_state(path, objects, namespaces):
    """A localkube state file (``--state-file``) holding ``objects`` (Secrets)."""
    nss = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
    with open(str(path), "w") as fh:
        json.dump({"resourceVersion": len(objects) + 2, "objects": {"secrets": objects, "namespaces": nss}}, fh)


def seed_state(path, template, releases, revisions, stuck, namespaces, manifest_kb=0):
    """Seed a state file; returns (record count, average data.release size)."""
    objects, nss = seed_objects(template, releases, revisions, stuck, namespaces, manifest_kb)
    write_state(path, objects, nss)
    return len(objects), sum(len(o["data"]["release"]) for o in objects) / len(objects)


class Server:
    """``python -m localkube`` (127.0.0.1, a free port) loading ``state``; writes ``kubeconfig``.

    ``wait=False`` returns at once (start many, then ``wait_url()`` each)."""

    def __init__(self, state, kubeconfig, wait=True, timeout=60):
        self.proc = subprocess.Popen([sys.executable, "-m", "localkube", "--host", "127.0.0.1",
                                      "--state-file", str(state), "--kubeconfig", str(kubeconfig)],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     env=dict(os.environ, PYTHONPATH=str(SUPPORT)))
        self.url = None
        if wait:
            self.wait_url(timeout)

    def wait_url(self, timeout=60):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError("localkube did not start in %ss (got %r)" % (timeout, line))
        self.url = line
        return line

    def _admin(self, method="GET"):
        req = urllib.request.Request(self.url + "/_localkube/stats", method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def stats(self):
        return self._admin()

    def reset(self):
        self._admin("DELETE")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def measure(server, fn):
    """(wall seconds, bytes served, requests, fn's result) of one call, counted by the server."""
    server.reset()
    start = time.perf_counter()
    detail = fn()
    seconds = time.perf_counter() - start
    stats = server.stats()
    return seconds, stats["bytes"], stats["requests"], detail


def module_params(**overrides):
    from ansible_collections.helmops.unstick.plugins.module_utils.module_args import UNSTICK_ARG_SPEC
    params = dict((k, v.get("default")) for k, v in UNSTICK_ARG_SPEC.items())
    params.update(overrides)
    return params


def module_run(kubeconfig, storage_class=None, **overrides):
    """The module's own code path (runner + REST storage) in this process: imports
    done beforehand, the timed part is client creation plus the whole run.
    ``storage_class``: a ReleaseStorage subclass to use instead (A/B comparisons)."""
    import kubernetes
    from ansible_collections.helmops.unstick.plugins.module_utils import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import KubeApi
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.releases import ReleaseStorage
    params = module_params(**overrides)
    start = time.perf_counter()
    client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    out = runner.run(params, (storage_class or ReleaseStorage)(KubeApi(client)), "bench", "bench")
    return dict(out["summary"], call_seconds=round(time.perf_counter() - start, 3))


def module_scan(kubeconfig):
    """Report only (remediate: false)."""
    return module_run(kubeconfig, remediate=False)


def helm_list(kubeconfig):
    """Helm SDK list(all_states, all_namespaces) in its own process (what helm 4's ``helm list -A``
    does; ``-A -a`` in helm 3)."""
    code = ("import helm_python as h, sys, json, time; "
            "c = h.Config(kubeconfig_path=sys.argv[1]); t = time.perf_counter(); "
            "r = c.list(all_states=True, all_namespaces=True); t = time.perf_counter() - t; "
            "print(json.dumps({'releases': len(r), 'pending': sum(1 for x in r if str(x.get('status', '')).startswith('pending')), "
            "'call_seconds': round(t, 3)}))")
    out = subprocess.run([sys.executable, "-c", code, str(kubeconfig)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", PYTHONPATH=str(SUPPORT))
    env.update(extra)
    return env


def machine():
    return "machine: %s, %d cores, Python %s, %s" % (platform.machine(), os.cpu_count(),
                                                   platform.python_version(), time.strftime("%Y-%m-%d"))


def table(headers, rows):
    """A Markdown table (readable as is, pasteable into the README); returns its text."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"
    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def ratio(a, b):
    return "%.0f×" % (a / b) if b else "-"
