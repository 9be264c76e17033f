# SPDX-License-Identifier: GPL-3.0-or-later
"""The stories that matter, on the real kube-apiserver with the real helm 3 and helm 4 CLIs: each release is
left stuck by killing ``helm … --wait`` while it waits for a Deployment that never becomes ready (no
controllers run), the way releases get stuck in life, and the CLI's own refusal is shown before and its
success after."""

import time

import pytest

import helmfix
from realkube.stuck import kill, make_stuck, start_live, workload_chart
from tools import both_helms

pytestmark = pytest.mark.slow


def records(kube, namespace):
    """{record name: (resourceVersion, status label)} of every Helm record in the namespace."""
    return {o["metadata"]["name"]: (o["metadata"]["resourceVersion"], o["metadata"]["labels"].get("status"))
            for o in kube.store.list("secrets", namespace, label_selector="owner=helm")}


@both_helms
def test_seed_story_on_the_real_server(tmp_path, kube, ns, real_helm, unstick, module_args):
    shop = ns("shop")
    real_helm.install("web", shop)
    real_helm.upgrade("web", shop, helmfix.make_chart(tmp_path, "0.2.0"))
    rev = make_stuck(real_helm, kube, "upgrade", "web", shop, chart=workload_chart(tmp_path, "0.3.0"))
    assert real_helm.history("web", shop)[-1] == (rev, "pending-upgrade")
    assert "another operation" in real_helm.refusal("web", shop)
    time.sleep(2)                     # older than min_age by the server's own creationTimestamp
    args = module_args(strategy="rollback", min_age="2s", namespaces=[shop])

    before = records(kube, shop)
    check = unstick(args, check=True)
    assert check.rc == 0, check.text
    assert [(r["name"], r["state"]) for r in check["releases"]] == [("web", "would_remediate")]
    assert records(kube, shop) == before                                    # check mode wrote nothing

    run = unstick(args)
    assert run.rc == 0, run.text
    assert [(e["name"], e["revision"], e["action"], e["target_revision"]) for e in run["remediated"]] == [
        ("web", rev, "rollback", rev - 1)]
    assert [(r["name"], r["state"]) for r in run["releases"]] == [("web", "remediated")]
    hist = real_helm.history("web", shop)
    assert hist[-1] == (rev + 1, "deployed") and hist[rev - 1] == (rev, "failed")
    cm = kube.store.get("configmaps", shop, "web-config")
    assert cm["data"]["chartVersion"] == "0.2.0"                            # the good revision, applied
    real_helm.upgrade("web", shop)                                          # the same CLI works again
    assert real_helm.history("web", shop)[-1] == (rev + 2, "deployed")
    again = unstick(args)
    assert again.rc == 0 and again["changed"] is False and again["stuck"] == [], again.text


@both_helms
@pytest.mark.parametrize("pending_install", ["unlock", "uninstall"])
def test_pending_install_on_the_real_server(tmp_path, kube, ns, real_helm, unstick, module_args, pending_install):
    shop = ns("fresh")
    rev = make_stuck(real_helm, kube, "install", "fresh", shop, chart=workload_chart(tmp_path, "0.1.0"))
    assert rev == 1 and real_helm.history("fresh", shop) == [(1, "pending-install")]
    real_helm.refusal("fresh", shop)
    time.sleep(2)
    run = unstick(module_args(pending_install=pending_install, min_age="2s", namespaces=[shop]))
    assert run.rc == 0, run.text
    assert [(e["status"], e["action"]) for e in run["remediated"]] == [("pending-install", pending_install)]
    if pending_install == "uninstall":
        assert real_helm.run("history", "fresh", namespace=shop, check=False).returncode == 1
        assert kube.store.get("configmaps", shop, "fresh-config") is None
    else:
        assert real_helm.history("fresh", shop) == [(1, "failed")]
    real_helm.upgrade("fresh", shop, None, "--install")
    assert real_helm.history("fresh", shop)[-1][1] == "deployed"


@both_helms
def test_pending_rollback_on_the_real_server(tmp_path, kube, ns, real_helm, unstick, module_args):
    shop = ns("api")
    real_helm.install("api", shop, chart=workload_chart(tmp_path, "0.1.0"))    # no --wait: deployed
    real_helm.upgrade("api", shop, helmfix.make_chart(tmp_path, "0.2.0"))
    rev = make_stuck(real_helm, kube, "rollback", "api", shop, revision=1)     # waits for revision 1's Deployment
    real_helm.refusal("api", shop)
    time.sleep(2)
    run = unstick(module_args(strategy="rollback", min_age="2s", namespaces=[shop]))
    assert run.rc == 0, run.text
    entry = run["remediated"][0]
    assert (entry["status"], entry["action"], entry["last_good_revision"]) == ("pending-rollback", "rollback", 2)
    assert real_helm.history("api", shop)[rev - 1] == (rev, "failed")
    assert real_helm.history("api", shop)[-1] == (rev + 1, "deployed")
    real_helm.upgrade("api", shop)
    assert real_helm.history("api", shop)[-1][1] == "deployed"


def test_a_live_operation_younger_than_min_age_is_left_alone(tmp_path, kube, ns, real_helm, unstick, module_args):
    shop = ns("live")
    real_helm.install("web", shop)
    live = start_live(real_helm, kube, "upgrade", "web", shop, chart=workload_chart(tmp_path, "0.2.0"))
    try:
        before = records(kube, shop)
        run = unstick(module_args(strategy="rollback", min_age="10m", namespaces=[shop]))
        assert run.rc == 0, run.text
        assert [(r["name"], r["state"]) for r in run["releases"]] == [("web", "in_progress")]
        assert run["remediated"] == [] and run["changed"] is False
        assert records(kube, shop) == before                      # not one write: Helm is still working
        assert live.poll() is None                                # and still waiting
    finally:
        kill(live)
