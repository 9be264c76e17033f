# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible on localkube: the real ansible-rulebook (drools on Java 17) runs the collection's event
source helmops.unstick.stuck_releases; releases are left stuck by killing the real helm CLI (SIGKILL) mid-upgrade.

- the shipped rulebook (extensions/eda/rulebooks/remediate.yml) remediates a stale release seconds after
  min_age, and a live operation that finishes before min_age gets no event;
- one event per stuck revision through a rewrite of the record, an API server restart mid-watch, a
  compaction (410 Gone, relist) and a cluster that is down at start and comes up later."""

import socket
import time

import helmfix
from eda_run import EVENTS_RULEBOOK, REMEDIATE_RULEBOOK, Rulebook
from fleet_run import write_inventory
from localkube import LocalKube
from localkube.testing import raw

SECRET_VALUE = "s3cret-db-password-1f2e"


def test_stale_release_is_remediated_and_a_live_young_operation_gets_no_event(tmp_path, kube, real_helm, helm_bin):
    real_helm.install("web", "shop", values={"db_password": SECRET_VALUE})
    real_helm.install("api", "shop")
    stuck = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop")          # helm killed mid-upgrade
    inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {
        "stuck_releases_kubeconfig": kube.kubeconfig, "stuck_releases_helm_binary": helm_bin}})
    min_age = 20
    with Rulebook(tmp_path, REMEDIATE_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig}],
                  min_age=min_age, inventory=inventory) as rb:
        # a live upgrade of api: pending while helm applies the chart, finished well before min_age
        fault = kube.faults.hang(path=r"/namespaces/shop/configmaps/api-config(\?|$)", method="PATCH", count=1)
        live = real_helm.start("upgrade", "api", "shop", chart=str(helmfix.CHART))
        assert kube.faults.wait_hanging(1, timeout=60), "the live helm upgrade never reached the server"
        assert helmfix.newest(kube, "shop", "api") == (2, "pending-upgrade")
        live_started = time.time()
        time.sleep(2)
        kube.faults.release(fault.id)
        assert live.wait(timeout=120) == 0, live.communicate()
        assert helmfix.newest(kube, "shop", "api") == (2, "deployed")

        rb.wait_for(lambda: helmfix.newest(kube, "shop", "web")[1] == "deployed", 240, "web remediated")
        # past api's min_age, with room for a late event
        time.sleep(max(0.0, live_started + min_age + 5 - time.time()))
        assert rb.emitted() == [("eu", "shop/web", stuck)], rb.output()[-4000:]
    assert SECRET_VALUE not in rb.output()
    assert helmfix.newest(kube, "shop", "web") == (stuck + 1, "deployed")   # helm rollback to the last good one
    assert real_helm.history("web", "shop")[-1] == (stuck + 1, "deployed")
    real_helm.upgrade("web", "shop")                                          # the lock is gone for real helm
    assert helmfix.newest(kube, "shop", "api") == (2, "deployed")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lists(server):
    """The source's lists (not watches) of release records this server answered."""
    return [r for r in server.requests if "labelSelector=owner" in r["path"] and "watch=true" not in r["path"]
            and r["method"] == "GET"]


def test_one_event_per_stuck_revision_through_rewrite_restart_410_and_a_cluster_down_at_start(
        tmp_path, kube, real_helm, helm_bin):
    from realhelm import RealHelm
    late = LocalKube(port=_free_port())                    # down at start: nothing listens on its port yet
    late.kubeconfig = str(late.write_kubeconfig(tmp_path / "late.kubeconfig"))
    real_helm.install("web", "shop")
    real_helm.install("api", "shop")
    web = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop")
    clusters = [{"name": "eu", "kubeconfig": kube.kubeconfig}, {"name": "us", "kubeconfig": late.kubeconfig}]
    with Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=clusters, min_age=4,
                  source_args={"watch_timeout": 5, "max_backoff": 2}) as rb:
        rb.wait_for(lambda: rb.events(), 120, "the event of web on eu while us is down")
        assert rb.events() == [("eu", "shop", "web", web, "pending-upgrade")]

        # the record rewritten while still pending (a label patched): the same stuck revision
        path = "/api/v1/namespaces/shop/secrets/%s" % helmfix.record_name("web", web)
        code, _h, _b = raw(kube, "PATCH", path, {"metadata": {"labels": {"team": "payments"}}},
                           headers={"Content-Type": "application/merge-patch+json"})
        assert code == 200
        # the API server restarts mid-watch, and the changes it remembers are compacted meanwhile (410 Gone)
        lists_before = len(_lists(kube))
        kube.stop()
        kube.store.put({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "noise", "namespace": "default"}}, "configmaps")
        kube.store.compact()
        time.sleep(3)
        kube.start()
        api = helmfix.make_stuck_upgrade(real_helm, kube, "api", "shop")
        rb.wait_for(lambda: len(rb.events()) >= 2, 120, "the event of api after the restart")
        assert len(_lists(kube)) > lists_before, "no relist after 410 Gone"

        # the cluster that was down comes up; a release goes stuck there
        late.start()
        try:
            late_helm = RealHelm(late.kubeconfig, helm_bin)
            db = helmfix.make_stuck_install(late_helm, late, "db", "data")
            rb.wait_for(lambda: len(rb.events()) >= 3, 120, "the event of db on us")
            time.sleep(8)   # two min_ages and a watch renewal more: nothing doubled
        finally:
            late.stop()
    assert sorted(rb.events()) == sorted([("eu", "shop", "web", web, "pending-upgrade"),
                                          ("eu", "shop", "api", api, "pending-upgrade"),
                                          ("us", "data", "db", db, "pending-install")]), rb.output()[-4000:]
    out = rb.output()
    assert "cluster us" in out and "retrying" in out          # said that us was down, and went on
    assert "410 Gone" in out


def test_bad_source_arguments_fail_before_any_request(tmp_path, kube):
    rb = Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig,
                                                        "context": "no-such-context"}], min_age=4)
    kube.requests.clear()
    with rb:
        deadline = time.time() + 120
        while rb.proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
    assert rb.proc.returncode not in (None, 0), rb.output()[-3000:]
    assert "no-such-context" in rb.output()
    assert not [r for r in kube.requests if "secrets" in r["path"]]


def test_min_age_must_be_a_duration(tmp_path, kube):
    rb = Rulebook(tmp_path, EVENTS_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kube.kubeconfig}],
                  min_age="soon")
    with rb:
        deadline = time.time() + 120
        while rb.proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
    assert rb.proc.returncode not in (None, 0)
    assert "min_age='soon'" in rb.output()
