# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible on the real kube-apiserver: the real ansible-rulebook runs the shipped rulebook
(extensions/eda/rulebooks/remediate.yml, its source watching this test's namespace); releases are left stuck by
killing ``helm upgrade --wait`` (SIGKILL) while it waits. A stale release is remediated; the API server is
restarted mid-watch and the next stuck release is remediated too; a live upgrade gets no event while it is younger
than min_age, and one once it is killed and stays pending; each with exactly one event."""

import calendar
import time

import pytest

import helmfix
from eda_run import REMEDIATE_RULEBOOK, Rulebook
from fleet_run import write_inventory
from realkube.stuck import kill, make_stuck, start_live, workload_chart

pytestmark = pytest.mark.slow
MIN_AGE = 12


def _created(kube, namespace, name):
    """A record's creationTimestamp (epoch seconds, the server's clock)."""
    code, _headers, secret = kube.request("GET", "/api/v1/namespaces/%s/secrets/%s" % (namespace, name))
    assert code == 200, secret
    return calendar.timegm(time.strptime(secret["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))


def test_stale_release_is_remediated_events_resume_after_a_restart_and_a_young_live_upgrade_waits(
        tmp_path, kube, ns, real_helm, helm_bin):
    shop = ns("eda")
    chart = workload_chart(tmp_path, "0.2.0")
    real_helm.install("web", shop)
    real_helm.install("api", shop)
    web = make_stuck(real_helm, kube, "upgrade", "web", shop, chart=chart)
    inventory = write_inventory(tmp_path / "inventory.yml", {"real": {
        "stuck_releases_kubeconfig": kube.kubeconfig, "stuck_releases_helm_binary": helm_bin}})
    with Rulebook(tmp_path, REMEDIATE_RULEBOOK, clusters=[{"name": "real", "kubeconfig": kube.kubeconfig}],
                  min_age=MIN_AGE, inventory=inventory, source_args={"namespaces": [shop], "max_backoff": 2}) as rb:
        rb.wait_for(lambda: helmfix.newest(kube, shop, "web")[1] == "deployed", 240, "web remediated")
        kube.restart_apiserver()                     # mid-watch: the source reconnects from its resourceVersion
        api = make_stuck(real_helm, kube, "upgrade", "api", shop, chart=chart)
        rb.wait_for(lambda: helmfix.newest(kube, shop, "api")[1] == "deployed", 240, "api remediated")
        # a live upgrade (helm waiting on its Deployment) younger than min_age: no event
        real_helm.install("db", shop)
        live = start_live(real_helm, kube, "upgrade", "db", shop, chart=chart)
        db = helmfix.newest(kube, shop, "db")[0]
        created = _created(kube, shop, helmfix.record_name("db", db))
        time.sleep(max(0.0, created + MIN_AGE - 3 - kube.now()))
        assert kube.now() < created + MIN_AGE, "the live upgrade took longer than min_age to start; load?"
        assert [e for e in rb.emitted() if e[1] == shop + "/db"] == [], rb.output()[-3000:]
        kill(live)                                   # now it is stuck: its event comes at min_age
        rb.wait_for(lambda: helmfix.newest(kube, shop, "db")[1] == "deployed", 240, "db remediated")
        time.sleep(10)                               # room for a doubled event
        assert rb.emitted() == [("real", shop + "/web", web), ("real", shop + "/api", api),
                                ("real", shop + "/db", db)], rb.output()[-4000:]
    assert real_helm.history("web", shop)[-1] == (web + 1, "deployed")
    assert real_helm.history("api", shop)[-1] == (api + 1, "deployed")
    real_helm.upgrade("web", shop)                   # unlocked for real helm
