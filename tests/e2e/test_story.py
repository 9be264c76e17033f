"""The seed's story, end to end, with real Helm: a release really stuck by an
interrupted operation, Helm refusing, helm_unstick remediating, Helm working."""

import pytest

import helmfix

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


def test_rollback_strategy_unblocks_real_helm(kube, helm_env, unstick, module_args):
    rev = stuck_upgrade(helm_env, kube)
    run = unstick(module_args(strategy="rollback"))
    assert run.rc == 0, run.text
    assert [(e["name"], e["revision"], e["action"], e["target_revision"]) for e in run["remediated"]] == [
        ("web", rev, "rollback", rev - 1)]
    hist = statuses(helm_env, "web", "shop")
    assert hist[-1] == (rev + 1, "deployed")        # helm rollback made a new revision
    assert hist[rev - 1] == (rev, "failed")         # the stuck one, claimed and marked failed
    helm_env.upgrade("web", "shop")                 # real Helm works again
    assert statuses(helm_env, "web", "shop")[-1] == (rev + 2, "deployed")
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


@pytest.mark.parametrize("pending_install", ["unlock", "uninstall"])
def test_pending_install(kube, helm_env, unstick, module_args, pending_install):
    rev = helmfix.make_stuck_install(helm_env, kube, "fresh", "shop")
    helmfix.age_record(kube, "shop", "fresh", rev, 3600)
    assert "another operation" in helmfix.assert_locked(helm_env, "fresh", "shop")
    run = unstick(module_args(pending_install=pending_install))
    assert run.rc == 0, run.text
    assert [(e["status"], e["action"]) for e in run["remediated"]] == [("pending-install", pending_install)]
    helm_env.upgrade("fresh", "shop", install=True)  # helm upgrade --install can retry
    assert helm_env.history("fresh", "shop")[-1]["status"] == "deployed"


@pytest.mark.parametrize("strategy", ["rollback", "unlock"])
def test_pending_rollback(kube, helm_env, unstick, module_args, strategy):
    helm_env.install("api", "shop")
    helm_env.upgrade("api", "shop")
    rev = helmfix.make_stuck_rollback(helm_env, kube, "api", "shop", 1)
    helmfix.age_record(kube, "shop", "api", rev, 3600)
    assert "another operation" in helmfix.assert_locked(helm_env, "api", "shop")
    run = unstick(module_args(strategy=strategy), diff=True)
    assert run.rc == 0, run.text
    entry = run["remediated"][0]
    assert (entry["status"], entry["action"], entry["last_good_revision"]) == ("pending-rollback", strategy, 2)
    after = "deployed (rolled back to revision 2, now revision %d)" % (rev + 1) if strategy == "rollback" else "failed (revision %d)" % rev
    assert run["diff"]["before"]["shop/api"] == "pending-rollback (revision %d)" % rev
    assert run["diff"]["after"]["shop/api"] == after
    assert statuses(helm_env, "api", "shop")[rev - 1] == (rev, "failed")     # claimed / unlocked
    helm_env.upgrade("api", "shop")
    assert helm_env.history("api", "shop")[-1]["status"] == "deployed"
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
