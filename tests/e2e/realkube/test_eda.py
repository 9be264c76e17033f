# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible on the real kube-apiserver: the real ansible-rulebook runs the shipped rulebook
(extensions/eda/rulebooks/remediate.yml, its source watching this test's namespace); releases are left stuck by
killing ``helm upgrade --wait`` (SIGKILL) while it waits. A stale release is remediated; the API server is
restarted mid-watch and the next stuck release is remediated too, each with exactly one event."""

import time

import pytest

import helmfix
from eda_run import REMEDIATE_RULEBOOK, Rulebook
from fleet_run import write_inventory
from realkube.stuck import make_stuck, workload_chart

pytestmark = pytest.mark.slow


def test_stale_release_is_remediated_and_events_resume_after_an_api_server_restart(
        tmp_path, kube, ns, real_helm, helm_bin):
    shop = ns("eda")
    chart = workload_chart(tmp_path, "0.2.0")
    real_helm.install("web", shop)
    real_helm.install("api", shop)
    web = make_stuck(real_helm, kube, "upgrade", "web", shop, chart=chart)
    inventory = write_inventory(tmp_path / "inventory.yml", {"real": {
        "stuck_releases_kubeconfig": kube.kubeconfig, "stuck_releases_helm_binary": helm_bin}})
    with Rulebook(tmp_path, REMEDIATE_RULEBOOK, clusters=[{"name": "real", "kubeconfig": kube.kubeconfig}],
                  min_age=8, inventory=inventory, source_args={"namespaces": [shop], "max_backoff": 2}) as rb:
        rb.wait_for(lambda: helmfix.newest(kube, shop, "web")[1] == "deployed", 240, "web remediated")
        kube.restart_apiserver()                     # mid-watch: the source reconnects from its resourceVersion
        api = make_stuck(real_helm, kube, "upgrade", "api", shop, chart=chart)
        rb.wait_for(lambda: helmfix.newest(kube, shop, "api")[1] == "deployed", 240, "api remediated")
        time.sleep(10)                               # room for a doubled event
        assert rb.emitted() == [("real", shop + "/web", web), ("real", shop + "/api", api)], rb.output()[-4000:]
    assert real_helm.history("web", shop)[-1] == (web + 1, "deployed")
    assert real_helm.history("api", shop)[-1] == (api + 1, "deployed")
    real_helm.upgrade("web", shop)                   # unlocked for real helm
