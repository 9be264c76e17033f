# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the benchmarks (bench/*.py): seeding real Helm records, a
localkube server in its own process, the measured calls, machine line, tables.

Seeding: one release is installed with the real Helm SDK on a throwaway
server; its Secret is re-labelled and re-encoded for every release/revision
(real Helm records, the payload Helm wrote, only name/namespace/version/status
changed). Stuck releases are the first ``stuck`` ones: their newest revision is
``pending-upgrade``, two hours old (``creationTimestamp``, what its age is measured from), so past any usual
min_age.

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
                        creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 7200 + rev)),
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
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import UNSTICK_ARG_SPEC
    params = dict((k, v.get("default")) for k, v in UNSTICK_ARG_SPEC.items())
    params.update(overrides)
    return params


def module_run(kubeconfig, storage_class=None, **overrides):
    """The module's own code path (runner + REST storage) in this process: imports
    done beforehand, the timed part is client creation plus the whole run.
    ``storage_class``: a ReleaseStorage subclass to use instead (A/B comparisons)."""
    import kubernetes
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
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
    """A Markdown table (readable as is, pasteable into docs/benchmarks.md); returns its text."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"
    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def ratio(a, b):
    return "%.0f×" % (a / b) if b else "-"


# --- the real kube-apiserver (tests/support/realkube): seeding over HTTPS, measuring by its /metrics ---

#: requests kube-apiserver makes to itself while idle (lease renewal, the endpoints reconciler, the
#: OpenAPI aggregator): none of the measured clients touches these, so they are reported apart
BACKGROUND = ("leases", "endpoints", "endpointslices", "openapi/v2", "openapi/v3")


def _https(kube, timeout=120):
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=str(kube.ca_file))
    return http.client.HTTPSConnection("127.0.0.1", kube.port, context=ctx, timeout=timeout)


def seed_real(kube, objects, namespaces, threads=16):
    """Create ``namespaces`` and then every Secret of ``objects`` on a RealKube, ``threads`` at a time
    (one keep-alive HTTPS connection per thread, admin token, ``fieldManager=helm`` as Helm's own
    writes). Returns the seconds the Secrets took."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from realkube import ADMIN_TOKEN
    for ns in namespaces:
        kube.create_namespace(ns)
    local = threading.local()
    headers = {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json",
               "Accept": "application/json"}

    def post(obj):
        meta = obj["metadata"]
        body = json.dumps({"apiVersion": "v1", "kind": "Secret", "type": obj["type"],
                           "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                        "labels": meta["labels"]},
                           "data": obj["data"]}, separators=(",", ":")).encode()
        path = "/api/v1/namespaces/%s/secrets?fieldManager=helm" % meta["namespace"]
        for attempt in range(5):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = _https(kube)
            try:
                conn.request("POST", path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if resp.status == 201 or (resp.status == 409 and attempt):   # 409 after a retry: it was made
                return
            if resp.status == 429 or resp.status >= 500:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise RuntimeError("creating %s: %s %s" % (meta["name"], resp.status, data[:300]))
        raise RuntimeError("creating %s: gave up after retries" % meta["name"])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(post, objects):
            pass
    seconds = time.perf_counter() - start
    # every Secret on this server is a seeded record (no controller-manager: no token Secrets)
    code, _, body = kube.request("GET", "/api/v1/secrets?limit=1")
    held = len(body["items"]) + int(body["metadata"].get("remainingItemCount") or 0)
    if code != 200 or held != len(objects):
        raise RuntimeError("the server holds %s Secrets, seeded %d (%s)" % (held, len(objects), code))
    return seconds


def api_counters(kube):
    """From kube-apiserver's /metrics: {"requests": {(verb, what, scope, code): n} from
    apiserver_request_total, "sizes": {(verb, what, scope): [sum, count]} from the histogram
    apiserver_response_sizes (kube-apiserver observes it for GET and LIST only)}. ``what`` is the
    resource (group/resource, /subresource) or, for a non-resource URL, its path; "durations":
    {(verb, what, scope): seconds} from apiserver_request_duration_seconds_sum (WATCH and CONNECT excluded
    by kube-apiserver); "dispatched": apiserver_flowcontrol_dispatched_requests_total, all flow schemas.

    apiserver_request_total does not count every request: GET /version and discovery (/api, /apis) are
    not in it. API Priority and Fairness dispatches every (non-long-running) request, these and the
    /metrics scrape included, so its counter shows how many requests apiserver_request_total missed."""
    requests, sizes, durations, dispatched = {}, {}, {}, 0.0
    for (name, labels), value in kube.metrics().items():
        lab = dict(labels)
        if name == "apiserver_flowcontrol_dispatched_requests_total":
            dispatched += value
            continue
        if name not in ("apiserver_request_total", "apiserver_response_sizes_sum",
                        "apiserver_response_sizes_count", "apiserver_request_duration_seconds_sum"):
            continue
        what = lab.get("resource") or ""
        if what:
            what = (lab["group"] + "/" if lab.get("group") else "") + what
            what += "/" + lab["subresource"] if lab.get("subresource") else ""
        else:
            what = lab.get("subresource") or "?"
        key = (lab["verb"], what, lab.get("scope") or "-")
        if name == "apiserver_request_total":
            requests[key + (lab.get("code", ""),)] = requests.get(key + (lab.get("code", ""),), 0) + value
        elif name == "apiserver_request_duration_seconds_sum":
            durations[key] = durations.get(key, 0.0) + value
        else:
            pair = sizes.setdefault(key, [0.0, 0.0])
            pair[0 if name.endswith("_sum") else 1] += value
    return {"requests": requests, "sizes": sizes, "durations": durations, "dispatched": dispatched}


def _is_background(key):
    return key[1].split("/")[-1] in BACKGROUND or key[1] in BACKGROUND


def counters_delta(before, after):
    """after - before, split into the clients' part and kube-apiserver's own background."""
    out = {"requests": {}, "sizes": {}, "background": {}, "server_seconds": 0.0}
    # the "after" scrape is dispatched (and counted) before it reads the counter: one request is ours
    dispatched = int(round(after["dispatched"] - before["dispatched"])) - 1
    for key, value in after["durations"].items():
        if not _is_background(key):
            out["server_seconds"] += value - before["durations"].get(key, 0.0)
    for key, value in after["requests"].items():
        n = int(round(value - before["requests"].get(key, 0)))
        if n:
            (out["background"] if _is_background(key) else out["requests"])[key] = n
    for key, (total, count) in after["sizes"].items():
        b = before["sizes"].get(key, (0.0, 0.0))
        if count - b[1] and not _is_background(key):
            out["sizes"][key] = (int(round(total - b[0])), int(round(count - b[1])))
    # requests APF dispatched that apiserver_request_total does not show (/version, discovery)
    out["uncounted"] = dispatched - sum(out["requests"].values()) - sum(out["background"].values())
    return out


def measure_real(kube, fn):
    """(wall seconds, response bytes, requests, fn's result, delta) of one call, counted by
    kube-apiserver itself: the apiserver_request_total and apiserver_response_sizes deltas between
    two scrapes of /metrics (kube-apiserver does not count its own /metrics in either).
    Response bytes: apiserver_response_sizes_sum, the body bytes as written (gzipped when the server
    compressed them), GET and LIST only; requests: apiserver_request_total, every verb, background apart."""
    before = api_counters(kube)
    start = time.perf_counter()
    detail = fn()
    seconds = time.perf_counter() - start
    delta = counters_delta(before, api_counters(kube))
    return (seconds, sum(s for s, _ in delta["sizes"].values()), sum(delta["requests"].values()),
            detail, delta)


def describe_requests(counts, sizes=None):
    """'LIST secrets (cluster) 1 = 8,699,552 B, GET secrets (resource) 10 = ...' from
    {(verb, what, scope[, code]): n} and, if given, the response bytes {(verb, what, scope): (sum, count)}."""
    parts = []
    for key in sorted(counts):
        verb, what, scope = key[:3]
        code = key[3] if len(key) > 3 and key[3] not in ("200", "201") else ""
        size = (sizes or {}).get(key[:3])
        parts.append("%s %s (%s)%s %d%s" % (verb, what, scope, " code " + code if code else "", counts[key],
                                            " = {:,} B".format(size[0]) if size and not code else ""))
    return ", ".join(parts) or "-"


def helm_cli_list(helm, kubeconfig, tmp, all_states):
    """The real helm CLI: ``helm list -A [-a] --max 0 -o json`` with ``kubeconfig`` (admin), its own
    empty HELM_*_HOME. ``--max 0`` and ``-o json`` change only what is printed (helm reads every record
    either way; the default --max 256 trims after reading), so the result can be counted."""
    home = Path(tmp) / ("home-" + Path(str(helm)).parent.name)
    env = dict(os.environ, HOME=str(home), HELM_CONFIG_HOME=str(home / "config"),
               HELM_CACHE_HOME=str(home / "cache"), HELM_DATA_HOME=str(home / "data"),
               KUBECONFIG=str(kubeconfig))
    argv = [str(helm), "list", "-A"] + (["-a"] if all_states else []) + ["--max", "0", "-o", "json",
                                                                         "--kubeconfig", str(kubeconfig)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    rels = json.loads(out.stdout)
    return {"releases": len(rels), "pending": sum(1 for r in rels if str(r.get("status", "")).startswith("pending"))}


def raw_list(kube, accept, gzip_ok):
    """One unpaged ``GET /api/v1/secrets?labelSelector=owner=helm`` (Helm's own list request) with
    ``accept`` and, if ``gzip_ok``, ``Accept-Encoding: gzip``; returns what arrived."""
    from realkube import ADMIN_TOKEN
    conn = _https(kube)
    headers = {"Authorization": "Bearer " + ADMIN_TOKEN, "Accept": accept}
    if gzip_ok:
        headers["Accept-Encoding"] = "gzip"
    try:
        conn.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError("list: %s %s" % (resp.status, body[:300]))
    return {"body bytes received": len(body), "Content-Type": resp.headers.get("Content-Type"),
            "Content-Encoding": resp.headers.get("Content-Encoding") or "identity"}
