# SPDX-License-Identifier: GPL-3.0-or-later
"""The module killed mid-remediation (SIGKILL of the whole ansible-playbook
process group, as when a CI runner dies), and a live Helm operation racing
ours on the same release. After each: no record lost, a re-run converges."""

import importlib.util
import threading

import pytest

import helmfix
from faultkit import (ROOT, STUCK, Ledger, decodes, helm_records, kill_group, module_playbook, start_group,
                      unlocked, wait_for)

pytestmark = pytest.mark.slow


def _hang_then_kill(kube, tmp_path, args, hang):
    fault = kube.faults.hang(count=1, **hang)
    work = tmp_path / "killed"
    proc = start_group(module_playbook(work, args), work)
    try:
        assert kube.faults.wait_hanging(1, timeout=90), "the run never reached %s" % hang["path"]
    finally:
        kill_group(proc)
    assert proc.returncode < 0          # killed, not finished
    # the server notices the client is gone and drops the hung request unserved
    assert wait_for(lambda: kube.faults.hanging == 0, timeout=10)
    kube.faults.remove(fault.id)
    return proc


def test_sigkill_while_our_write_hangs(kube, fleet, module, tally, tmp_path):
    book = Ledger(kube)
    rev = fleet[("shop", "web")]
    # remediation order is sorted: apps/fresh, shop/my.app-v2, then shop/web, whose write hangs
    _hang_then_kill(kube, tmp_path, {"kubeconfig": kube.kubeconfig, "strategy": "unlock",
                                     "backup_dir": str(tmp_path / "b")},
                    {"method": "PUT", "path": r"/secrets/sh\.helm\.release\.v1\.web\.v%d$" % rev})
    book.check(changed_releases={("apps", "fresh"), ("shop", "my.app-v2")})
    assert not unlocked(kube, [("shop", "web")])
    again = module(strategy="unlock", backup_dir=str(tmp_path / "b"))
    assert again.rc == 0 and [e["name"] for e in again["remediated"]] == ["web"], again.text
    last = module(strategy="unlock")
    assert last["changed"] is False and last["stuck"] == [] and last["errors"] == []
    counts = book.check(changed_releases=STUCK)
    assert list((tmp_path / "b").rglob("*.json"))          # the killed run's backups are there too
    book.check_backups([str(p) for p in (tmp_path / "b").rglob("*.json")])
    tally("SIGKILL while our write hangs", "remediation", "module (ansible-playbook)", 3, counts, True)


#: where each real helm is inside `helm rollback` when it is killed. helm 4 applies the chart with
#: server-side apply (a PATCH even when nothing changes); helm 3 patches only what differs (nothing here:
#: the stuck revision has the same chart and values), so it is killed on its next write, marking the
#: deployed revision superseded (our claim writes only the stuck revision, never v1).
ROLLBACK_HANGS = {
    "helm4": {"method": "PATCH", "path": r"/namespaces/shop/configmaps/web-config(\?|$)"},
    "helm3": {"method": "PUT", "path": r"/namespaces/shop/secrets/sh\.helm\.release\.v1\.web\.v1(\?|$)"},
}


@pytest.mark.parametrize("helm_bin", sorted(ROLLBACK_HANGS), indirect=True)
def test_sigkill_inside_helm_rollback(kube, fleet, module, tally, tmp_path, helm_bin, request):
    """Killed while helm rollback (run by the module) is at work: our claim had
    landed, Helm had written its pending-rollback revision. The re-run leaves
    that young revision alone (it could be live); once it is old enough, the
    next run rolls back again and converges. On the real helm 3 and helm 4."""
    book = Ledger(kube)
    rev = fleet[("shop", "web")]
    which = request.node.callspec.params["helm_bin"]
    _hang_then_kill(kube, tmp_path, {"kubeconfig": kube.kubeconfig, "helm_binary": helm_bin,
                                     "timeout": "60s", "backup_dir": str(tmp_path / "b")},
                    ROLLBACK_HANGS[which])
    # my.app-v2 rolled back (+1 revision), web claimed then Helm killed mid-rollback (+1 pending revision)
    book.check(changed_releases=STUCK, added=2)
    newest = helmfix.newest(kube, "shop", "web")
    assert newest == (rev + 1, "pending-rollback"), newest
    young = module(backup_dir=str(tmp_path / "b"), helm_binary=helm_bin)
    assert young.rc == 0, young.text
    assert [(e["name"], e["revision"]) for e in young["in_progress"]] == [("web", rev + 1)]
    assert young["changed"] is False
    helmfix.age_record(kube, "shop", "web", rev + 1, 3600)          # time passes: Helm is not coming back
    fixed = module(backup_dir=str(tmp_path / "b"), helm_binary=helm_bin)
    assert [(e["name"], e["status"], e["action"]) for e in fixed["remediated"]] == [
        ("web", "pending-rollback", "rollback")], fixed.text
    last = module()
    assert last["changed"] is False and last["stuck"] == [] and last["in_progress"] == []
    counts = book.check(changed_releases=STUCK, added=3)
    assert unlocked(kube)
    tally("SIGKILL inside helm rollback (%s)" % which, "remediation", "module (ansible-playbook)", 4, counts, True,
          "+3 records: helm rollback revisions (one from the killed run); re-run waits min_age, then fixes")


# -- a live Helm operation racing ours -------------------------------------------------------------
def _test_safety():
    spec = importlib.util.spec_from_file_location("faults_reuse_e2e_safety", ROOT / "tests" / "e2e" / "test_safety.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_live_helm_race_unlock(kube, helm_env, module_args, module, tmp_path, tally):
    """tests/e2e/test_safety.py's race (reused as is), then the ledger and a re-run."""
    _test_safety().test_live_helm_write_between_read_and_write_wins(kube, helm_env, module_args, tmp_path)
    records = helm_records(kube)
    assert len(records) == 2 and all(decodes(o) for o in records.values())
    again = module(strategy="unlock", min_age="0s")
    assert again["changed"] is False and again["stuck"] == [] and again["errors"] == []
    tally("live Helm upgrade racing our write (409 -> skip, report)", "remediation", "module (ansible-playbook)",
          2, {"records_before": 2, "records_after": len(helm_records(kube)), "records_lost": 0, "records_added": 0},
          True, "tests/e2e/test_safety.py scenario, reused")


def test_live_helm_race_rollback_never_calls_helm(kube, helm_env, inproc, tally):
    """Same race with strategy rollback: the claim gets 409, so helm rollback is never run."""
    helm_env.install("race", "ops")
    name = "sh.helm.release.v1.race.v2"
    path = r"/namespaces/ops/secrets/sh\.helm\.release\.v1\.race\.v2$"
    helm_hold = kube.faults.hang(method="PUT", path=path, count=1)       # Helm's final update
    upgrade = helm_env.upgrade_async("race", "ops")
    assert kube.faults.wait_hanging(1, timeout=60), "Helm never reached its final write"
    book = Ledger(kube)                                                   # v1 deployed, v2 pending-upgrade
    our_hold = kube.faults.hang(method="PUT", path=path, count=1)
    result = {}
    worker = threading.Thread(target=lambda: result.update(out=inproc(timeout=60, min_age="0s")))
    worker.start()
    assert kube.faults.wait_hanging(2, timeout=60), "the module never tried to claim the record"
    kube.faults.release(helm_hold.id)
    upgrade.wait(timeout=120)
    kube.faults.release(our_hold.id)
    worker.join(timeout=120)
    out = result["out"]
    assert out["remediated"] == [] and out["changed"] is False
    [err] = out["errors"]
    assert err["action"] == "rollback" and "changed since it was read" in err["reason"]
    assert [h["status"] for h in helm_env.history("race", "ops")] == ["superseded", "deployed"]  # no rollback
    counts = book.check(changed_releases={("ops", "race")})
    again = inproc(min_age="0s")
    assert again["changed"] is False and again["errors"] == [] and again["stuck"] == []
    tally("live Helm upgrade racing our rollback claim (409 -> helm never run)", "remediation",
          "module code in-process", 2, counts, True)
