# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guard's two phases over an in-memory record store and a helm that acts on it, through the runner
(the REST layer, real helm and the role are exercised end to end in tests/e2e/test_guarded_upgrade.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from release_fakes import NOW, FakeHelm, Store, history

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import guard
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import plan as guard_plan
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import ClusterSession, HelmGate
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload, encode_payload, format_time

PARAMS = dict(phase="before", namespace="apps", release="web", min_age="15m", strategy="rollback",
              pending_install="unlock", timeout="5m", request_timeout="60s", cluster_timeout="30m",
              min_helm_version="3.8.0", wait=True)
UPGRADE_FAILED = {"msg": "Failure when executing Helm command. Exited 1.",
                  "stderr": "Error: UPGRADE FAILED: failed to create resource: ConfigMap web-bad is invalid\n",
                  "command": "/x/helm upgrade -i --atomic web ./chart"}


def job(store, helm="works", check=False, **params):
    opts = dict(PARAMS, **params)
    settings = options.validate_guard(opts, {}).run
    gate = HelmGate(FakeHelm(store, helm)) if helm else HelmGate(problem="helm_binary: not on PATH")
    return runner.Run(settings, ClusterSession(store, "c1", "ops@ctl", gate), check_mode=check, diff=True,
                      clock=lambda: NOW)


@pytest.fixture
def web(make_release, make_object):
    """``web(statuses, age=3600)``: a Store with apps/web's history; ``.upgrade(status, description)`` adds
    the revision an upgrade would write."""
    def _make(statuses, age=3600):
        store = Store(history(make_release, make_object, "web", statuses, age=age))

        def upgrade(status, description="Upgrade complete", chart_version="15.5.0"):
            revision = len(store.release_records("apps", "web")) + 1
            release = make_release(name="web", version=revision, status=status, description=description)
            release["chart"]["metadata"]["version"] = chart_version
            # created 5 seconds ago, as real helm labels it: createdAt now, modifiedAt copied from before
            obj = make_object(release, labels_extra={"createdAt": str(int(NOW - 5)), "modifiedAt": str(int(NOW - age))},
                              creation=format_time(NOW - 5), resource_version=str(revision * 10))
            store.objs[("apps", obj["metadata"]["name"])] = obj
            return revision
        store.upgrade = upgrade
        return store
    return _make


def record(store, revision):
    obj = store.objs[("apps", "sh.helm.release.v1.web.v%d" % revision)]
    return obj, decode_payload(obj["data"]["release"], "secret")


# -- before ---------------------------------------------------------------
def test_before_on_a_healthy_release_reads_it_once_and_changes_nothing(web):
    store = web(["superseded", "deployed"])
    out = guard.before(job(store), "apps", "web", "15m")
    assert (out["proceed"], out["changed"], out["from_revision"], out["good_revision"]) == (True, False, 2, 2)
    assert out["found"]["status"] == "deployed" and out["found"]["chart"] == "nginx-15.4.2"
    assert out["msg"] == "apps/web: not stuck; the upgrade starts from revision 2 (deployed, nginx-15.4.2)"
    assert (store.lists, store.gets, store.writes) == (1, 1, 0)      # one scan: one list, one GET


def test_before_on_no_release_is_a_first_install(web):
    store = web(["deployed"])
    out = guard.before(job(store, release="api"), "apps", "api", "15m")
    assert (out["from_revision"], out["good_revision"], out["proceed"]) == (0, None, True)
    assert out["found"]["status"] == "missing" and store.writes == 0


def test_before_rolls_a_stuck_release_back_and_starts_from_the_rollback(web):
    store = web(["superseded", "deployed", "pending-upgrade"])
    run = job(store)
    out = guard.before(run, "apps", "web", "15m")
    assert store.status("apps", "web") == [(1, "superseded"), (2, "deployed"), (3, "failed"), (4, "deployed")]
    assert (out["changed"], out["from_revision"], out["good_revision"]) == (True, 4, 4)
    assert run.gate.helm.calls == [("rollback", "apps", "web", 2)]
    assert out["msg"] == ("apps/web: revision 3 was stuck in pending-upgrade (3600s old); rollback: now deployed "
                          "(rolled back to revision 2, now revision 4); the upgrade starts from revision 4 "
                          "(deployed, nginx-15.4.2)")
    assert out["diff"] == {"before": {"apps/web": "revision 3 (pending-upgrade, nginx-15.4.2)"},
                           "after": {"apps/web": "revision 4 (deployed, nginx-15.4.2)"}}
    assert [(e["state"], e["action"]) for e in run.releases] == [("remediated", "rollback")]
    assert store.lists == 1                                          # the verification is the action's own read


def test_before_with_unlock_starts_from_the_failed_revision(web):
    store = web(["superseded", "deployed", "pending-upgrade"])
    out = guard.before(job(store, strategy="unlock"), "apps", "web", "15m")
    assert store.status("apps", "web")[-1] == (3, "failed")
    assert (out["from_revision"], out["good_revision"]) == (3, 2)


def test_before_in_check_mode_says_what_it_would_do_and_writes_nothing(web):
    store = web(["superseded", "deployed", "pending-upgrade"])
    out = guard.before(job(store, check=True), "apps", "web", "15m")
    assert store.writes == 0 and store.status("apps", "web")[-1] == (3, "pending-upgrade")
    assert out["would"] == "would roll back to revision 2" and out["proceed"] and out["changed"]
    assert out["msg"] == ("check mode: apps/web: revision 3 was stuck in pending-upgrade (3600s old): would roll "
                          "back to revision 2, then upgrade")
    assert out["diff"]["after"] == {"apps/web": "check mode: would roll back to revision 2"}


def test_before_stops_on_a_young_pending_revision_and_touches_nothing(web):
    store = web(["deployed", "pending-upgrade"], age=30)
    with pytest.raises(guard.GuardStop) as stop:
        guard.before(job(store), "apps", "web", "15m")
    assert str(stop.value).startswith("guarded upgrade of apps/web: revision 2 is pending-upgrade and only 30s old "
                                      "(min_age 15m): another deploy may still be running")
    assert "Retry later" in str(stop.value) and store.writes == 0


def test_before_in_check_mode_warns_about_a_young_pending_revision(web):
    store = web(["deployed", "pending-upgrade"], age=30)
    run = job(store, check=True)
    out = guard.before(run, "apps", "web", "15m")
    assert out["proceed"] is False and out["would"].startswith("stop: guarded upgrade of apps/web: revision 2")
    assert run.warnings and "a real run would stop here" in run.warnings[0]


def test_before_stops_when_the_stuck_release_cannot_be_unstuck(web):
    store = web(["deployed", "pending-upgrade"])
    with pytest.raises(guard.GuardStop) as stop:
        guard.before(job(store, helm="fails"), "apps", "web", "15m")
    text = str(stop.value)
    assert text.startswith("guarded upgrade of apps/web: revision 2 was stuck in pending-upgrade (3600s old) and "
                           "could not be remediated: ")
    assert "helm rollback failed: Error: timed out" in text and text.endswith("No upgrade was started.")


def test_before_stops_on_records_it_cannot_judge(web, make_release, make_object):
    store = web(["deployed", "pending-upgrade"])
    twin = make_object(make_release(name="web", version=2, status="deployed"), resource_version="99")
    twin["metadata"]["name"] = "sh.helm.release.v1.web.v2-copy"
    store.objs[("apps", "copy")] = twin
    with pytest.raises(guard.GuardStop, match="cannot judge revision 2: more than one record for revision 2"):
        guard.before(job(store), "apps", "web", "15m")
    assert store.writes == 0


# -- after ----------------------------------------------------------------
def test_after_an_upgrade_that_landed(web):
    store = web(["superseded", "deployed"])
    store.upgrade("deployed")
    out = guard.after(job(store, phase="after", from_revision=2), "apps", "web", 2, 2, None)
    assert (out["upgraded"], out["changed"], out["revision"], out["status"]) == (True, False, 3, "deployed")
    assert out["chart"] == "nginx-15.5.0" and out["msg"] == "apps/web: revision 3 (deployed, nginx-15.5.0)"
    assert (store.lists, store.writes) == (1, 0)


def test_after_an_upgrade_that_changed_nothing(web):
    store = web(["superseded", "deployed"])
    out = guard.after(job(store, phase="after", from_revision=2), "apps", "web", 2, 2, None)
    assert out["upgraded"] is False and out["msg"].endswith(", unchanged")


def test_after_a_failed_upgrade_rolls_back_to_the_last_good_revision_and_stops_with_both(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed", "Upgrade \"web\" failed: ConfigMap web-bad is invalid")
    run = job(store, phase="after", from_revision=2)
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(run, "apps", "web", 2, 2, UPGRADE_FAILED, target="./chart")
    assert store.status("apps", "web") == [(1, "superseded"), (2, "deployed"), (3, "failed"), (4, "deployed")]
    assert run.gate.helm.calls == [("rollback", "apps", "web", 2)]
    failed, payload = record(store, 3)
    assert claims.CLAIM_LABEL not in failed["metadata"]["labels"]            # no claim: it held no lock
    assert payload["info"]["description"].startswith("Upgrade \"web\" failed")   # Helm's own error kept
    assert str(stop.value) == (
        "guarded upgrade of apps/web to ./chart failed: Error: UPGRADE FAILED: failed to create resource: "
        "ConfigMap web-bad is invalid | started from revision 2 | newest revision after the failure: 3 (failed, "
        "nginx-15.5.0) | rescue: restore: now deployed (rolled back to revision 2, now revision 4) | now: "
        "revision 4 (deployed, nginx-15.4.2), unlocked")
    result = stop.value.result
    assert (result["failed_revision"], result["failed_status"], result["revision"], result["unlocked"]) == \
        (3, "failed", 4, True)
    assert [(e["state"], e["action"], e["target_revision"]) for e in run.releases] == [("remediated", "restore", 2)]


def test_after_a_failed_upgrade_that_helm_already_rolled_back(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed")
    store.upgrade("deployed", "Rollback to 2", chart_version="15.4.2")
    run = job(store, phase="after", from_revision=2)
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(run, "apps", "web", 2, 2, UPGRADE_FAILED)
    assert "rescue: none needed (helm already rolled back: revision 4, Rollback to 2)" in str(stop.value)
    assert run.gate.helm.calls == [] and store.writes == 0


def test_after_a_pending_revision_our_failed_upgrade_left_is_unstuck_at_any_age(web):
    store = web(["superseded", "deployed"])
    store.upgrade("pending-upgrade", "Preparing upgrade")                  # 5 seconds old
    run = job(store, phase="after", from_revision=2)
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(run, "apps", "web", 2, 2, {"msg": "x", "stderr": "Error: UPGRADE FAILED: etcdserver: timeout"})
    assert store.status("apps", "web") == [(1, "superseded"), (2, "deployed"), (3, "failed"), (4, "deployed")]
    assert "newest revision after the failure: 3 (pending-upgrade, nginx-15.5.0)" in str(stop.value)
    assert "rescue: rollback: now deployed (rolled back to revision 2, now revision 4)" in str(stop.value)
    assert str(stop.value).endswith("unlocked")


def test_after_leaves_a_pending_revision_alone_when_the_upgrade_was_refused_for_it(web):
    store = web(["superseded", "deployed"])
    store.upgrade("pending-upgrade", "Preparing upgrade")                  # someone else's live upgrade
    run = job(store, phase="after", from_revision=2)
    refused = {"stderr": "Error: UPGRADE FAILED: " + guard_plan.LOCKED}
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(run, "apps", "web", 2, 2, refused)
    assert store.writes == 0 and run.gate.helm.calls == []
    assert "another Helm operation holds the release" in str(stop.value) and str(stop.value).endswith("STILL LOCKED")


def test_after_kubernetes_core_helms_readback_failure_on_helm4_is_a_warning(web):
    store = web(["superseded", "deployed"])
    store.upgrade("deployed")
    run = job(store, phase="after", from_revision=2)
    readback = {"command": ["/x/helm", "list", "--output=yaml", "--filter", "web", "--all"],
                "stderr": "Error: unknown flag: --all", "msg": "Failure when executing Helm command. Exited 1."}
    out = guard.after(run, "apps", "web", 2, 2, readback)
    assert out["upgraded"] and out["revision"] == 3
    assert run.warnings == ["apps/web: the upgrade task failed only reading the release back (Error: unknown flag: "
                            "--all); the cluster shows revision 3 deployed"]


def test_after_in_check_mode_reports_and_writes_nothing(web):
    store = web(["superseded", "deployed"])
    out = guard.after(job(store, check=True, phase="after", from_revision=2), "apps", "web", 2, 2, None)
    assert out["would"] == "check that a revision above 2 is deployed" and out["changed"] is False
    store.upgrade("failed")
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(job(store, check=True, phase="after", from_revision=2), "apps", "web", 2, 2, UPGRADE_FAILED)
    assert str(stop.value).startswith("check mode: guarded upgrade of apps/web failed")
    assert "rescue: check mode: would roll revision 3 (failed) back to revision 2" in str(stop.value)
    assert store.writes == 0 and store.status("apps", "web")[-1] == (3, "failed")


def test_after_without_rescue_only_reports(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed")
    run = job(store, phase="after", from_revision=2, rescue=False)
    with pytest.raises(guard.GuardStop, match=r"rescue: none \(rescue disabled\)"):
        guard.after(run, "apps", "web", 2, 2, UPGRADE_FAILED, rescue=False)
    assert run.gate.helm.calls == []


def test_after_a_rollback_that_fails_says_so_with_the_upgrades_error(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed")
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(job(store, helm="fails", phase="after", from_revision=2), "apps", "web", 2, 2, UPGRADE_FAILED)
    text = str(stop.value)
    assert "failed: Error: UPGRADE FAILED" in text
    assert "rescue: restore FAILED: release apps/web on cluster c1: helm restore failed: rollback to revision 2: " \
           "Error: timed out waiting for the condition" in text
    assert "now: revision 3 (failed, nginx-15.5.0), unlocked" in text


def test_after_verification_failure_without_a_task_error_is_rescued(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed")                                                # the task said ok, the cluster disagrees
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(job(store, phase="after", from_revision=2), "apps", "web", 2, 2, None)
    assert "failed: verify: newest revision 3 is failed, not deployed | " in str(stop.value)
    assert store.status("apps", "web")[-1] == (4, "deployed")


def test_after_touches_nothing_it_cannot_judge(web):
    store = web(["superseded", "deployed"])
    store.upgrade("failed")
    obj, dummy = record(store, 3)
    obj["metadata"]["labels"]["status"] = "deployed"                       # label and payload disagree
    run = job(store, phase="after", from_revision=2)
    with pytest.raises(guard.GuardStop) as stop:
        guard.after(run, "apps", "web", 2, 2, UPGRADE_FAILED)
    assert "rescue: none: cannot judge the release (the status label of revision 3 says deployed but its record " \
           "says failed); left as it is" in str(stop.value)
    assert run.gate.helm.calls == [] and store.writes == 0


# -- before, waiting for a pending revision (wait_for_pending) ------------
class Clock:
    """A monotonic clock and a sleep that move ``store.now`` (the server's time) along; ``on_sleep(n)`` runs
    at each sleep (the n-th), as another deploy would act meanwhile."""

    def __init__(self, store, on_sleep=None):
        self.store, self.t, self.sleeps, self.on_sleep = store, 0.0, 0, on_sleep

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds
        self.store.now += seconds
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep(self.sleeps)


def settle(store, revision, status):
    """Revision ``revision`` ends ``status``, as helm writes it: label and payload."""
    obj, release = record(store, revision)
    release["info"]["status"] = status
    obj["metadata"]["labels"]["status"] = status
    obj["data"]["release"] = encode_payload(release, "secret")
    store.objs[("apps", obj["metadata"]["name"])] = obj


def test_before_waits_for_a_young_pending_revision_to_settle_then_goes_on(web):
    store = web(["superseded", "deployed", "pending-upgrade"], age=30)
    store.now = NOW
    clock = Clock(store, on_sleep=lambda n: n == 3 and settle(store, 3, "deployed"))
    out = guard.before(job(store, min_age="60s"), "apps", "web", "60s", 120, clock.sleep, clock)
    assert out["proceed"] is True and out["from_revision"] == 3 and store.writes == 0
    assert out["waited_for"] == "revision 3 (pending-upgrade)" and 0 < out["waited_seconds"] < 10
    assert out["msg"].startswith("apps/web: after waiting %ss for revision 3 (pending-upgrade): " % out["waited_seconds"])
    # polls are metadata lists; the release is read again only once its newest record changed
    assert store.lists == 1 + clock.sleeps + 1 and store.gets == 2


def test_before_waits_until_a_pending_revision_goes_stale_then_unsticks_it(web):
    store = web(["superseded", "deployed", "pending-upgrade"], age=30)
    store.now = NOW
    clock = Clock(store)
    out = guard.before(job(store, min_age="60s"), "apps", "web", "60s", 300, clock.sleep, clock)
    assert out["proceed"] is True and out["changed"] is True
    assert 30 <= out["waited_seconds"] <= 36           # from 30s old to min_age (60s), polled every 1 to 5 s
    assert "revision 3 was stuck in pending-upgrade" in out["msg"] and out["from_revision"] == 4


def test_before_fails_clearly_when_the_wait_runs_out_and_writes_nothing(web):
    store = web(["superseded", "deployed", "pending-upgrade"], age=30)
    store.now = NOW
    clock = Clock(store)
    with pytest.raises(guard.GuardStop) as stop:
        guard.before(job(store, min_age="15m"), "apps", "web", "15m", 20, clock.sleep, clock)
    message = str(stop.value)
    assert message.startswith("guarded upgrade of apps/web: waited 20s (wait_for_pending 20s) for revision 3 "
                              "(pending-upgrade, ")
    assert "description 'Upgrade complete'" in message or "description" in message
    assert "Nothing was touched and no upgrade was started" in message and store.writes == 0
    assert stop.value.result["waited_seconds"] == 20


def test_before_in_check_mode_says_what_it_would_wait_for_and_does_not_wait(web):
    store = web(["deployed", "pending-upgrade"], age=30)
    clock = Clock(store)
    run = job(store, check=True)
    out = guard.before(run, "apps", "web", "15m", 600, clock.sleep, clock)
    assert out["proceed"] is False and clock.sleeps == 0 and store.writes == 0
    assert out["would"].startswith("wait up to 600s (wait_for_pending) for revision 2 (pending-upgrade, ")
