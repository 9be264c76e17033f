# SPDX-License-Identifier: GPL-3.0-or-later
"""The seed's story, end to end, with real Helm: a release really stuck by an
interrupted operation, Helm refusing, helm_unstick remediating, Helm working.
The main stories run on the real helm 3 and helm 4 CLIs: the CLI itself is
killed mid-operation, refuses, is driven by the module, and upgrades again."""

import pytest

import helmfix
from tools import both_helms

pytestmark = pytest.mark.slow


def stuck_upgrade(env, kube, name="web", ns="shop"):
    env.install(name, ns)
    env.upgrade(name, ns)
    rev = helmfix.make_stuck_upgrade(env, kube, name, ns)
    helmfix.age_record(kube, ns, name, rev, 3600)
    assert "another operation" in helmfix.assert_locked(env, name, ns)
    return rev


def statuses(env, name, ns):
    return [(h["revision"], h["status"]) for h in env.history(name, ns)]


@both_helms
def test_rollback_strategy_unblocks_real_helm(tmp_path, kube, real_helm, unstick, module_args):
    real_helm.run("install", "web", str(helmfix.CHART), namespace="shop")
    real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    # the CLI killed while it applies the chart's ConfigMap (a CI runner killed mid-upgrade)
    rev = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0"))
    assert real_helm.history("web", "shop")[-1] == (rev, "pending-upgrade")
    helmfix.age_record(kube, "shop", "web", rev, 3600)
    assert "UPGRADE FAILED: another operation" in real_helm.refusal("web", "shop")
    run = unstick(module_args(strategy="rollback"))
    assert run.rc == 0, run.text
    assert [(e["name"], e["revision"], e["action"], e["target_revision"]) for e in run["remediated"]] == [
        ("web", rev, "rollback", rev - 1)]
    hist = real_helm.history("web", "shop")
    assert hist[-1] == (rev + 1, "deployed")        # helm rollback made a new revision
    assert hist[rev - 1] == (rev, "failed")         # the stuck one, claimed and marked failed
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["chartVersion"] == "0.2.0"
    real_helm.upgrade("web", "shop")                # the same CLI works again
    assert real_helm.history("web", "shop")[-1] == (rev + 2, "deployed")
    assert unstick(module_args(strategy="rollback"))["changed"] is False


def test_unlock_strategy_unblocks_real_helm_and_keeps_every_record(kube, helm_env, unstick, module_args):
    rev = stuck_upgrade(helm_env, kube)
    before = len(kube.store.list("secrets", "shop"))
    run = unstick(module_args(strategy="unlock"))
    assert run.rc == 0, run.text
    assert [(e["name"], e["action"]) for e in run["remediated"]] == [("web", "unlock")]
    assert len(kube.store.list("secrets", "shop")) == before
    history = helm_env.history("web", "shop")
    assert history[-1]["status"] == "failed" and "helmops.unstick" in history[-1]["description"]
    helm_env.upgrade("web", "shop")
    assert statuses(helm_env, "web", "shop")[-1] == (rev + 1, "deployed")
    second = unstick(module_args(strategy="unlock"))
    assert second["changed"] is False and second["stuck"] == []


@both_helms
@pytest.mark.parametrize("pending_install", ["unlock", "uninstall"])
def test_pending_install(kube, real_helm, unstick, module_args, pending_install):
    # killed before it could record the install as done (helm 3 creates objects with POST, so the hang
    # is on the record update both versions make)
    rev = helmfix.make_stuck_install(real_helm, kube, "fresh", "shop", at="record")
    helmfix.age_record(kube, "shop", "fresh", rev, 3600)
    assert real_helm.history("fresh", "shop") == [(1, "pending-install")]
    real_helm.refusal("fresh", "shop")
    run = unstick(module_args(pending_install=pending_install))
    assert run.rc == 0, run.text
    assert [(e["status"], e["action"]) for e in run["remediated"]] == [("pending-install", pending_install)]
    if pending_install == "uninstall":
        assert real_helm.run("history", "fresh", namespace="shop", check=False).returncode == 1  # gone
        assert kube.store.get("configmaps", "shop", "fresh-config") is None
    else:
        assert real_helm.history("fresh", "shop") == [(1, "failed")]
    real_helm.upgrade("fresh", "shop", None, "--install")  # helm upgrade --install can retry
    assert real_helm.history("fresh", "shop")[-1][1] == "deployed"


@both_helms
@pytest.mark.parametrize("strategy", ["rollback", "unlock"])
def test_pending_rollback(tmp_path, kube, real_helm, unstick, module_args, strategy):
    real_helm.run("install", "api", str(helmfix.CHART), namespace="shop")
    real_helm.upgrade("api", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    rev = helmfix.make_stuck_rollback(real_helm, kube, "api", "shop", 1)   # killed applying revision 1
    helmfix.age_record(kube, "shop", "api", rev, 3600)
    real_helm.refusal("api", "shop")
    run = unstick(module_args(strategy=strategy), diff=True)
    assert run.rc == 0, run.text
    entry = run["remediated"][0]
    assert (entry["status"], entry["action"], entry["last_good_revision"]) == ("pending-rollback", strategy, 2)
    after = "deployed (rolled back to revision 2, now revision %d)" % (rev + 1) if strategy == "rollback" else "failed (revision %d)" % rev
    assert run["diff"]["before"]["shop/api"] == "pending-rollback (revision %d)" % rev
    assert run["diff"]["after"]["shop/api"] == after
    assert real_helm.history("api", "shop")[rev - 1] == (rev, "failed")     # claimed / unlocked
    real_helm.upgrade("api", "shop")
    assert real_helm.history("api", "shop")[-1][1] == "deployed"
    assert unstick(module_args(strategy=strategy))["changed"] is False


def test_release_healed_by_an_earlier_rollback_is_not_reported(kube, helm_env, unstick, module_args):
    rev = stuck_upgrade(helm_env, kube)
    helm_env.rollback("web", "shop", rev - 1)      # the manual fix
    assert statuses(helm_env, "web", "shop")[rev - 1][1] == "pending-upgrade"  # still in history
    run = unstick(module_args())
    assert run.rc == 0, run.text
    assert run["stuck"] == [] and run["in_progress"] == [] and run["errors"] == []
    assert run["changed"] is False


def test_rollback_without_a_good_revision_falls_back_and_says_so(tmp_path, kube, helm_env, unstick, module_args):
    # the first install failed (the server rejected an object), the next upgrade was interrupted:
    # nothing deployed or superseded to roll back to
    with pytest.raises(helmfix.HelmFailed):
        helm_env.install("first", "shop", chart=helmfix.make_chart(tmp_path, "0.1.0", bad=True))
    assert statuses(helm_env, "first", "shop") == [(1, "failed")]
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "first", "shop")
    helmfix.age_record(kube, "shop", "first", rev, 3600)
    assert "another operation" in helmfix.assert_locked(helm_env, "first", "shop")
    run = unstick(module_args(strategy="rollback", pending_install="unlock"))
    assert run.rc == 0, run.text
    [entry] = run["remediated"]
    assert (entry["name"], entry["revision"], entry["action"], entry["target_revision"]) == (
        "first", rev, "unlock", None)
    assert entry["last_good_revision"] is None
    assert "no deployed or superseded revision" in entry["fallback_reason"]
    assert statuses(helm_env, "first", "shop") == [(1, "failed"), (rev, "failed")]
    helm_env.upgrade("first", "shop")               # real Helm works again
    assert statuses(helm_env, "first", "shop")[-1] == (rev + 1, "deployed")
