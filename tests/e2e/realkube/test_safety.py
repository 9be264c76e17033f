# SPDX-License-Identifier: GPL-3.0-or-later
"""What keeps helm_unstick from doing harm, on the real kube-apiserver: a real Helm write landing between
the module's read and its write wins (the real server's 409 on the module's resourceVersion precondition),
and a history bigger than one page is read whole (the real server's continue tokens). Check mode and
idempotence are in test_stories.py."""

import http.client
import json
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import helmfix
from playbook_run import run_module
from realhelm import RealHelm
from realkube import ADMIN_TOKEN
from realkube.front import Front
from realkube.stuck import make_stuck, workload_chart
from tools import both_helms

pytestmark = pytest.mark.slow


@pytest.fixture
def front(real_server):
    with Front(real_server) as proxy:
        yield proxy


def status_label(kube, namespace, name):
    return kube.store.get("secrets", namespace, name)["metadata"]["labels"]["status"]


@both_helms
def test_live_helm_write_between_read_and_write_wins(tmp_path, kube, ns, real_helm, front, module_args):
    """Real Helm's upgrade finishes while the module is about to write: the real server answers the module's
    conditional write 409, the module skips and says so; Helm's record stands."""
    shop = ns("race")
    real_helm.install("race", shop)
    name = "sh.helm.release.v1.race.v2"
    path = r"/namespaces/%s/secrets/sh\.helm\.release\.v1\.race\.v2$" % shop
    # helm and the module both talk to the front; only it can hold a request between them
    via_front = front.write_kubeconfig(tmp_path / "front")
    helm = RealHelm(via_front, real_helm.binary)
    helm_hold = front.faults.hang(method="PUT", path=path, count=1)         # Helm's final update of v2
    upgrade = helm.start("upgrade", "race", shop, chart=helmfix.make_chart(tmp_path, "0.2.0"))
    try:
        assert front.faults.wait_hanging(1, timeout=60), "helm never reached its final write"
        assert status_label(kube, shop, name) == "pending-upgrade"
        module_hold = front.faults.hang(method="PUT", path=path, count=1)   # the module's write, next in line
        result = {}
        worker = threading.Thread(target=lambda: result.update(run=run_module(
            tmp_path, module_args(kubeconfig=via_front, strategy="unlock", min_age="0s", namespaces=[shop]))))
        worker.start()
        assert front.faults.wait_hanging(2, timeout=120), "the module never tried to write"
        front.faults.release(helm_hold.id)              # Helm's write reaches the real server first ...
        out, err = upgrade.communicate(timeout=120)
        assert upgrade.returncode == 0, (out, err)
        assert status_label(kube, shop, name) == "deployed"
        front.faults.release(module_hold.id)            # ... then ours, on the resourceVersion it read
        worker.join(timeout=120)
    finally:
        front.faults.clear()
        if upgrade.poll() is None:
            upgrade.kill()
            upgrade.communicate()
    run = result["run"]
    assert run["remediated"] == [] and run["changed"] is False, run.text
    assert [(r["name"], r["state"]) for r in run["releases"]] == [("race", "refused")], run.text
    assert "changed since it was read" in run["errors"][0]["reason"], run.text
    # the real server said 409 to the module's PUT: the second held PUT of v2
    puts = [r for r in front.requests if r["method"] == "PUT" and r["path"].split("?")[0].endswith("/" + name)]
    assert [r["code"] for r in puts] == [200, 409], puts
    assert status_label(kube, shop, name) == "deployed"
    assert real_helm.history("race", shop) == [(1, "superseded"), (2, "deployed")]


def clones(kube, record, revisions, connections=4):
    """Copies of a real Helm record as other revisions, {revision: status} (payload and labels agree),
    created over a few kept-alive connections (hundreds of them: one TLS session each would cost seconds)."""
    meta = record["metadata"]
    release = json.loads(helmfix.decode_record(record))

    def create(batch):
        conn = http.client.HTTPSConnection("127.0.0.1", kube.port,
                                           context=ssl.create_default_context(cafile=kube.ca_file))
        try:
            for revision, status in batch:
                labels = dict(meta["labels"], version=str(revision), status=status)
                obj = {"apiVersion": "v1", "kind": "Secret", "type": record["type"], "data": {},
                       "metadata": {"name": helmfix.record_name(release["name"], revision),
                                    "namespace": meta["namespace"], "labels": labels}}
                helmfix.encode_record(obj, dict(release, version=revision, info=dict(release["info"], status=status)))
                conn.request("POST", "/api/v1/namespaces/%s/secrets" % meta["namespace"], json.dumps(obj),
                             {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
                assert resp.status == 201, (resp.status, body)
        finally:
            conn.close()
    items = sorted(revisions.items())
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(create, [items[i::connections] for i in range(connections)]))


def list_secret_requests(kube):
    """kube-apiserver's own count of namespaced LIST requests on secrets (every page is one request)."""
    return sum(value for (name, labels), value in kube.metrics().items()
               if name == "apiserver_request_total" and dict(labels).get("verb") == "LIST"
               and dict(labels).get("resource") == "secrets" and dict(labels).get("scope") == "namespace")


def test_a_history_longer_than_a_page_is_read_whole(tmp_path, kube, ns, real_helm, unstick, module_args):
    """A long-lived release whose history holds 520 records (revisions 100..619, unlimited --history-max,
    the oldest pruned long ago): the real server pages its list at 500, in key order, so the newest
    revisions (600..619, the stuck one and its last good one among them) come on the second page."""
    shop = ns("paged")
    real_helm.env["HELM_MAX_HISTORY"] = "0"          # helm prunes nothing (its default keeps 10)
    real_helm.install("web", shop)
    real_helm.install("api", shop)                   # a healthy neighbour, not reported
    first = kube.store.get("secrets", shop, "sh.helm.release.v1.web.v1")
    clones(kube, first, dict([(r, "superseded") for r in range(100, 617)] + [(617, "deployed")]))
    code, _, body = kube.request("DELETE", "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.web.v1" % shop)
    assert code == 200, (code, body)
    real_helm.upgrade("web", shop, helmfix.make_chart(tmp_path, "0.2.0"))                  # 618, deployed
    rev = make_stuck(real_helm, kube, "upgrade", "web", shop, chart=workload_chart(tmp_path, "0.3.0"))
    assert rev == 619
    names = [o["metadata"]["name"] for o in kube.store.list("secrets", shop, label_selector="owner=helm,name=web")]
    assert len(names) == 520 and names[500:] == ["sh.helm.release.v1.web.v%d" % r for r in range(600, 620)]
    time.sleep(2)                                    # older than min_age by the server's creationTimestamp

    before = list_secret_requests(kube)
    run = unstick(module_args(strategy="unlock", min_age="2s", namespaces=[shop]))
    lists = list_secret_requests(kube) - before
    assert run.rc == 0, run.text
    assert [(r["name"], r["state"]) for r in run["releases"]] == [("web", "remediated")], run.text
    [entry] = run["remediated"]
    assert (entry["revision"], entry["action"], entry["last_good_revision"]) == (619, "unlock", 618), run.text
    # the scan's two filtered lists (one page each), then the release's history in two pages (500 + 20)
    # before the write and again after it (the module checks what it wrote): unpaged, it would be 4
    assert lists == 2 + 2 * 2, lists
    assert real_helm.history("web", shop)[-2:] == [(618, "deployed"), (619, "failed")]
    real_helm.upgrade("web", shop)
    assert real_helm.history("web", shop)[-1] == (620, "deployed")


def test_the_front_answers_with_the_real_servers_bytes(kube, ns, front):
    """What the race above stands on: through the front, answers are the real server's (bodies byte for
    byte, errors included), a watch is relayed as it happens, and a held request goes on once released."""
    shop = ns("front")
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": shop},
                "data": {"k": "v"}})

    def raw(base_port, ca_file, method, path, token=ADMIN_TOKEN, body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", base_port, context=ssl.create_default_context(cafile=ca_file))
        try:
            conn.request(method, path, body, {"Authorization": "Bearer " + token, "Accept": "application/json",
                                              "Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()
    cm = "/api/v1/namespaces/%s/configmaps" % shop
    for method, path, token, body in [("GET", cm + "/a", ADMIN_TOKEN, None),          # an object
                                      ("GET", cm + "/missing", ADMIN_TOKEN, None),    # 404
                                      ("POST", cm, "reader-token", '{"metadata":{"name":"b"}}'),   # 403
                                      ("GET", cm + "/a", "bad-token", None)]:         # 401
        direct = raw(kube.port, kube.ca_file, method, path, token, body)
        assert raw(front.port, front.ca_file, method, path, token, body) == direct, (method, path)
    assert [r["code"] for r in front.requests] == [200, 404, 403, 401]

    _, _, listed = kube.request("GET", cm)
    watch = http.client.HTTPSConnection("127.0.0.1", front.port, context=ssl.create_default_context(
        cafile=front.ca_file), timeout=30)
    watch.request("GET", "%s?watch=1&resourceVersion=%s" % (cm, listed["metadata"]["resourceVersion"]),
                  headers={"Authorization": "Bearer " + ADMIN_TOKEN})
    stream = watch.getresponse()
    assert stream.status == 200 and stream.getheader("Transfer-Encoding") == "chunked"
    kube.store.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": shop}},
                   "configmaps")
    event = json.loads(stream.readline())            # relayed while the watch is still open
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "c")
    watch.close()

    hold = front.faults.hang(method="POST", path="/configmaps", count=1)
    poster = threading.Thread(target=lambda: raw(front.port, front.ca_file, "POST", cm, ADMIN_TOKEN,
                                                 '{"metadata":{"name":"d"}}'))
    poster.start()
    assert front.faults.wait_hanging(1, timeout=10)
    assert kube.store.get("configmaps", shop, "d") is None           # held: the real server has not seen it
    front.faults.release(hold.id)
    poster.join(timeout=30)
    assert kube.store.get("configmaps", shop, "d")["metadata"]["name"] == "d"
