# SPDX-License-Identifier: GPL-3.0-or-later
"""What real helm 3 and helm 4 write into their records, over real time, on the real kube-apiserver and on a
real PostgreSQL (Helm's sql driver): every assumption the collection makes about records, checked against
records real helm wrote (never against fixtures). docs/release-ages.md lists them.

One story per driver, with a pause of over a second between steps so that one-second timestamps tell the
steps apart: ``helm install`` (revision 1); ``helm upgrade --wait`` that waits on a Deployment which never
becomes ready (no controller-manager here), read while it is live (revision 2 pending-upgrade); the CLI killed
(the record stays pending, helm refuses the next upgrade); a rollback; and an upgrade that fails."""

import base64
import gzip
import json
import time

import pytest

import helmfix
from pgserver import PgServer
from realhelm import RealHelm
from realkube.stuck import kill, start_live, workload_chart
from tools import both_helms

pytestmark = pytest.mark.slow

STEP = 1.3   # seconds between steps: more than the one-second resolution of every time helm writes


def epoch(stamp):
    return helmfix._epoch(stamp) if stamp else None


def secret_records(kube, ns, name):
    """{revision: Secret} of a release, as the real server holds them."""
    return {int(o["metadata"]["labels"]["version"]): o
            for o in kube.store.list("secrets", ns, label_selector="owner=helm,name=%s" % name)}


def payload(obj):
    """The release JSON of a Secret record: the API's base64 over helm's base64(gzip(JSON))."""
    inner = base64.b64decode(obj["data"]["release"])
    raw = base64.b64decode(inner)
    assert raw[:2] == b"\x1f\x8b", "helm gzips the release"
    return json.loads(gzip.decompress(raw))


def ours(kube, ns, name, rev):
    """What helm_unstick reads of a record: records.meta_from_object."""
    from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload, meta_from_object
    obj = secret_records(kube, ns, name)[rev]
    return meta_from_object(obj), decode_payload(obj["data"]["release"], "secret")


@both_helms
def test_what_real_helm_writes_into_secret_records_over_time(tmp_path, kube, ns, real_helm):
    shop = ns("records")
    chart = workload_chart(tmp_path, "0.1.0")
    t_install = kube.now()
    real_helm.install("web", shop, chart=chart)
    one = secret_records(kube, shop, "web")[1]
    labels1 = one["metadata"]["labels"]
    # names, type and labels (records.py, classify.py, k8s/releases.py)
    assert one["metadata"]["name"] == "sh.helm.release.v1.web.v1" and one["type"] == "helm.sh/release.v1"
    assert {k: labels1[k] for k in ("name", "owner", "status", "version")} == {
        "name": "web", "owner": "helm", "status": "deployed", "version": "1"}
    # install creates the record pending-install and then updates it: modifiedAt set, createdAt gone
    assert "createdAt" not in labels1 and t_install - 1 <= int(labels1["modifiedAt"]) <= kube.now() + 1, labels1
    created1 = epoch(one["metadata"]["creationTimestamp"])
    assert t_install - 1 <= created1 <= kube.now() + 1
    body1 = payload(one)
    assert body1["info"]["status"] == "deployed" and body1["version"] == 1
    assert epoch(body1["info"]["first_deployed"]) == epoch(body1["info"]["last_deployed"])
    assert abs(epoch(body1["info"]["first_deployed"]) - created1) <= 1
    assert not body1["info"].get("deleted")

    time.sleep(STEP * 2)   # the previous revision is now clearly older than anything the upgrade writes
    t_upgrade = kube.now()
    proc = start_live(real_helm, kube, "upgrade", "web", shop, chart=workload_chart(tmp_path, "0.2.0"))
    try:
        records = secret_records(kube, shop, "web")
        two, one = records[2], records[1]
        labels2 = two["metadata"]["labels"]
        assert labels2["status"] == "pending-upgrade" == payload(two)["info"]["status"]
        # the new record is CREATED pending: its creation time is the start of the operation ...
        created2 = epoch(two["metadata"]["creationTimestamp"])
        assert t_upgrade - 1 <= created2 <= kube.now() + 1 and created2 >= created1 + 2
        # ... helm labels it createdAt now, and COPIES modifiedAt from the previous revision (issue 25)
        assert abs(int(labels2["createdAt"]) - created2) <= 1, labels2
        assert labels2["modifiedAt"] == labels1["modifiedAt"] and int(labels2["modifiedAt"]) < created2 - 1, labels2
        # the previous revision is not touched while the upgrade waits (superseded only at the end)
        assert one["metadata"]["labels"] == labels1
        info2 = payload(two)["info"]
        assert abs(epoch(info2["last_deployed"]) - created2) <= 1            # the upgrade's start
        assert epoch(info2["first_deployed"]) == epoch(body1["info"]["first_deployed"])
        # what helm_unstick makes of it: dated by its creation, so a live upgrade is never older than it is
        meta, release = ours(kube, shop, "web", 2)
        assert meta.created_at == created2 and meta.modified_at == float(labels1["modifiedAt"])
        assert meta.status == release["info"]["status"] == "pending-upgrade"
        # helm's writes of the objects carry a field manager named helm* (liveness.judge)
        path = "/apis/apps/v1/namespaces/%s/deployments/web-app" % shop
        deadline = time.time() + 60
        while not kube.request("GET", path)[2]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0.2.0"):
            assert time.time() < deadline, "helm never applied the new chart"
            time.sleep(0.1)
        deployment = kube.request("GET", path)[2]
        managers = {(e["manager"], e["operation"]) for e in deployment["metadata"]["managedFields"]}
        assert [m for m, _ in managers if m.startswith("helm")], managers
        latest = max(epoch(e["time"]) for e in deployment["metadata"]["managedFields"] if e["manager"].startswith("helm"))
        assert latest >= created2 - 1, deployment["metadata"]["managedFields"]   # the upgrade applied the chart
    finally:
        kill(proc)
    # killed: the record stays as it was, pending; helm's lock is the newest revision being pending
    assert secret_records(kube, shop, "web")[2]["metadata"]["labels"] == labels2
    assert "another operation" in real_helm.refusal("web", shop)

    time.sleep(STEP)
    t_rollback = kube.now()
    real_helm.rollback("web", shop, 1)       # rollback does not check the lock; the pending revision stays
    records = secret_records(kube, shop, "web")
    assert [records[r]["metadata"]["labels"]["status"] for r in sorted(records)] == [
        "superseded", "pending-upgrade", "deployed"]
    three = records[3]["metadata"]
    assert "createdAt" not in three["labels"] and int(three["labels"]["modifiedAt"]) >= t_rollback - 1
    assert epoch(three["creationTimestamp"]) >= t_rollback - 1
    # revision 1, superseded by the rollback: helm re-saves the record it loaded with the labels it read,
    # so its modifiedAt is NOT the time of that change (it stays the install's): no label dates a change
    superseded = records[1]["metadata"]["labels"]
    assert superseded["status"] == "superseded" and "createdAt" not in superseded
    assert superseded["modifiedAt"] == labels1["modifiedAt"] and int(superseded["modifiedAt"]) < t_rollback - 1
    assert epoch(records[1]["metadata"]["creationTimestamp"]) == created1              # never re-created
    assert records[2]["metadata"]["labels"] == labels2                                  # history left as it was

    time.sleep(STEP)
    t_fail = kube.now()
    with pytest.raises(AssertionError):
        real_helm.upgrade("web", shop, helmfix.make_chart(tmp_path, "0.3.0", bad=True))
    failed = secret_records(kube, shop, "web")[4]
    info4 = payload(failed)["info"]
    assert failed["metadata"]["labels"]["status"] == info4["status"] == "failed"
    assert "createdAt" not in failed["metadata"]["labels"]
    # created pending-upgrade with the modifiedAt copied from revision 3, updated to failed keeping it
    assert failed["metadata"]["labels"]["modifiedAt"] == three["labels"]["modifiedAt"]
    assert int(failed["metadata"]["labels"]["modifiedAt"]) < t_fail - 1
    assert epoch(failed["metadata"]["creationTimestamp"]) >= t_fail - 1
    # helm's failRelease leaves last_deployed at the operation's start (records.mark_failed mirrors it)
    assert abs(epoch(info4["last_deployed"]) - epoch(failed["metadata"]["creationTimestamp"])) <= 1


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


@both_helms
def test_what_real_helm_writes_into_sql_rows_over_time(tmp_path, kube, ns, pg, helm_bin):
    db = pg.new_database()
    real = RealHelm(kube.kubeconfig, helm_bin, driver="sql", sql_connection_string=db.dsn)
    shop = ns("sqlrecords")

    def rows():
        return {r["version"]: r for r in db.execute("SELECT * FROM releases_v1 WHERE namespace = %s AND name = 'web'",
                                                    (shop,))}

    def db_now():
        return db.execute("SELECT extract(epoch FROM now())::float8 AS now")[0]["now"]

    t_install = db_now()
    real.install("web", shop, chart=workload_chart(tmp_path, "0.1.0"))
    one = rows()[1]
    # the columns sql/releases.py reads (sql/rows.py META_COLUMNS, the body and type)
    assert {"key", "type", "body", "name", "namespace", "version", "status", "owner", "createdat",
            "modifiedat"} <= set(one), sorted(one)
    assert (one["key"], one["type"], one["owner"], one["status"]) == (
        "sh.helm.release.v1.web.v1", "helm.sh/release.v1", "helm", "deployed")
    assert t_install - 2 <= one["createdat"] <= db_now() + 1
    assert one["modifiedat"] >= one["createdat"]            # created pending-install, updated to deployed
    body = json.loads(gzip.decompress(base64.b64decode(one["body"])))      # base64(gzip(JSON)), no extra layer
    assert body["info"]["status"] == one["status"] and body["version"] == 1

    time.sleep(STEP * 2)
    t_upgrade = db_now()
    proc = real.start("upgrade", "web", shop, chart=workload_chart(tmp_path, "0.2.0"),
                      extra=real.wait_flags() + ["--timeout", "30m"])
    try:
        deadline = time.time() + 120
        while 2 not in rows():
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "helm never wrote revision 2"
            time.sleep(0.1)
        two = rows()[2]
        assert two["status"] == "pending-upgrade"
        # createdat: the insert, when the operation started (helm's clock: here the same host's as the database)
        assert t_upgrade - 2 <= two["createdat"] <= db_now() + 1 and two["createdat"] >= one["createdat"] + 2
        # modifiedat of a new row: 0, never updated (nothing is copied from the previous revision in SQL)
        assert two["modifiedat"] == 0, two
        assert rows()[1]["status"] == "deployed"
        from ansible_collections.helmops.unstick.plugins.module_utils.release.records import meta_from_object
        from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.rows import record_object
        meta = meta_from_object(record_object(dict(two, row_version=1)))
        assert meta.created_at == float(two["createdat"]) and meta.status == "pending-upgrade"
    finally:
        kill(proc)
    assert rows()[2]["status"] == "pending-upgrade"
    assert "another operation" in real.refusal("web", shop)
    time.sleep(STEP)
    t_rollback = db_now()
    real.rollback("web", shop, 1)
    after = rows()
    assert [after[v]["status"] for v in sorted(after)] == ["superseded", "pending-upgrade", "deployed"]
    assert after[1]["modifiedat"] >= t_rollback - 2 and after[1]["createdat"] == one["createdat"]   # updated
    assert after[2]["createdat"] == two["createdat"]
