# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guarded upgrade's decisions and words (pure)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import plan as gp
from ansible_collections.helmops.unstick.plugins.module_utils.release.model import shown
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
from ansible_collections.helmops.unstick.plugins.module_utils.release.claims import Claim


def cls(kind, revision=3, status="pending-upgrade", age=3600, good=2, reason="why", claim=None):
    return Classification(kind, "shop", "web", revision, status, age, good, reason, claim)


def rv(revision, status, description="Upgrade complete", version="0.2.0"):
    """The newest revision as the guard sees it (release.model.shown) of chart web ``version``."""
    return shown(cls("healthy", revision, status), {"chart": "web", "chart_version": version, "app_version": "1.0",
                                                    "description": description})


@pytest.mark.parametrize("version, flags", [
    ((3, 21, 4), {"atomic": "--atomic", "wait": "--wait", "force": "--force"}),
    ((4, 2, 4), {"atomic": "--rollback-on-failure", "wait": "--wait=watcher", "force": "--force-replace"}),
    ((5, 0, None), {"atomic": "--rollback-on-failure", "wait": "--wait=watcher", "force": "--force-replace"}),
])
def test_upgrade_flags_follow_the_helm_major(version, flags):
    assert gp.upgrade_flags(version) == flags


def test_older_than_reads_a_missing_patch_as_zero():
    assert gp.older_than((3, 7, 2), (3, 8, 0)) and not gp.older_than((3, 8, None), (3, 8, 0))
    assert not gp.older_than((4, 0, 0), (3, 8, 0)) and gp.older_than((3, 21, None), (3, 21, 1))


def test_upgrade_environment_empties_helms_connection_and_sets_the_driver():
    env = gp.upgrade_environment("configmap")
    assert env["HELM_DRIVER"] == "configmap"
    assert env["HELM_KUBECONTEXT"] == env["HELM_KUBETOKEN"] == env["HELM_NAMESPACE"] == ""
    assert "KUBECONFIG" not in env   # the kubeconfig is the one the modules resolve too, not emptied


@pytest.mark.parametrize("found, expected", [
    (None, None),
    (cls("healthy", 4, "deployed", good=3), 4),          # the newest deployed is where a failure goes back to
    (cls("healthy", 4, "failed", good=2), 2),            # a failed newest: the last good below it
    (cls("stuck", 3, "pending-upgrade", good=2), 2),
    (cls("stuck", 1, "pending-install", good=None), None),
])
def test_good_revision(found, expected):
    assert gp.good_revision(found) == expected


@pytest.mark.parametrize("found, summary, decision", [
    (None, None, gp.GO),
    (cls("healthy", 2, "deployed"), {"status": "deployed"}, gp.GO),
    (cls("stuck"), {"status": "pending-upgrade"}, gp.UNSTICK),
    (cls("unfinished", 3, "failed"), {"status": "failed"}, gp.UNSTICK),
    (cls("in_progress", age=20), {"status": "pending-upgrade"}, gp.WAIT),
    (cls("error", reason="more than one record for revision 3"), None, gp.BROKEN),
    (cls("stuck"), {"status": "deployed"}, gp.BROKEN),   # label and payload disagree: touch nothing
])
def test_judge_before(found, summary, decision):
    assert gp.judge_before(found, summary)[0] == decision


def test_judge_before_says_why_it_is_broken():
    assert gp.judge_before(cls("stuck"), {"status": "deployed"}) == (
        gp.BROKEN, "the status label of revision 3 says pending-upgrade but its record says deployed")


def test_live_operation_says_retry_later_with_the_age():
    text = gp.live_operation("shop/web", cls("in_progress", age=42), "15m")
    assert text.startswith("guarded upgrade of shop/web: revision 3 is pending-upgrade and only 42s old "
                           "(min_age 15m): another deploy may still be running")
    assert "nothing was touched and no upgrade was started. Retry later" in text


def test_live_operation_of_a_claim_in_flight_quotes_the_claim():
    claim = Claim("rollback", 3, 2, "ops@ctl", "r1", 0, 100)
    text = gp.live_operation("shop/web", cls("in_progress", 3, "failed", reason="a helmops.unstick run is "
                                             "finishing its work", claim=claim), "15m")
    assert "revision 3 is failed: a helmops.unstick run is finishing its work" in text and "Retry later" in text


@pytest.mark.parametrize("newest, problem", [
    (rv(3, "deployed"), None),
    (rv(2, "deployed"), None),                           # unchanged (same chart and values): landed as it was
    (None, "the release has no record"),
    (rv(3, "failed"), "newest revision 3 is failed, not deployed"),
    (rv(3, "pending-upgrade"), "newest revision 3 is pending-upgrade, not deployed"),
    (rv(1, "deployed"), "newest revision 1 is below revision 2, which the upgrade started from"),
])
def test_landed(newest, problem):
    assert gp.landed(2, newest) == problem


def test_readback_only_is_exactly_kubernetes_core_helms_list_all_on_helm4():
    failure = {"command": ["/x/helm", "list", "--output=yaml", "--filter", "web", "--all"],
               "stderr": "Error: unknown flag: --all", "msg": "Failure when executing Helm command."}
    assert gp.readback_only(failure)
    assert gp.readback_only(dict(failure, command="/x/helm list --output=yaml --filter web --all"))
    assert not gp.readback_only(dict(failure, stderr="Error: UPGRADE FAILED: timed out"))
    assert not gp.readback_only(dict(failure, command=["/x/helm", "upgrade", "-i", "--all"]))
    assert not gp.readback_only({})


def test_upgrade_error_prefers_helms_error_lines():
    assert gp.upgrade_error({"stderr": "W1203 noise\nError: UPGRADE FAILED: boom\n", "msg": "rc 1"}) == \
        "Error: UPGRADE FAILED: boom"
    assert gp.upgrade_error({"msg": "chart not\n found"}) == "chart not found"
    assert gp.upgrade_error({}) == "unknown error"


@pytest.mark.parametrize("newest, error, plan", [
    (rv(3, "pending-upgrade"), "Error: UPGRADE FAILED: boom", (gp.RESCUE_UNSTICK, None)),
    (rv(3, "pending-install"), "Error: INSTALLATION FAILED: boom", (gp.RESCUE_UNSTICK, None)),
    (rv(3, "failed"), "Error: UPGRADE FAILED: boom", (gp.RESCUE_RESTORE, 2)),
    (rv(3, "deployed"), "smoke test failed", (gp.RESCUE_RESTORE, 2)),     # landed, a later step failed
    (rv(4, "deployed", "Rollback to 2"), "Error: UPGRADE FAILED: release web failed, and has been rolled back",
     (None, None)),
    (rv(2, "deployed"), "Error: chart not found", (None, None)),         # nothing changed
    (rv(3, "uninstalled"), "Error: boom", (None, None)),
    (None, "Error: boom", (None, None)),
])
def test_plan_rescue(newest, error, plan):
    got = gp.plan_rescue(newest, 2, 2, error)
    assert (got.action, got.target) == plan
    assert (got.note is None) == (got.action is not None)


def test_plan_rescue_never_touches_a_pending_revision_that_is_not_ours():
    refused = gp.plan_rescue(rv(3, "pending-upgrade"), 2, 2, "Error: UPGRADE FAILED: " + gp.LOCKED)
    assert refused.action is None and "another Helm operation holds the release" in refused.note
    after_success = gp.plan_rescue(rv(4, "pending-upgrade"), 2, 2, None)
    assert after_success.action is None and "although the upgrade reported success" in after_success.note


def test_plan_rescue_without_a_good_revision_rolls_nothing_back():
    got = gp.plan_rescue(rv(1, "failed"), 0, None, "Error: INSTALLATION FAILED: boom")
    assert got.action is None and got.note == "nothing to roll back to (no deployed or superseded revision below 1)"


def test_failure_message_has_both_errors_and_the_outcome():
    text = gp.failure_message("shop/web", "./charts/web", "Error: UPGRADE FAILED: boom", 2, rv(3, "failed"),
                              "restore: now deployed (rolled back to revision 2, now revision 4)",
                              rv(4, "deployed", "Rollback to 2", "0.1.0"))
    assert text == ("guarded upgrade of shop/web to ./charts/web failed: Error: UPGRADE FAILED: boom | started from "
                    "revision 2 | newest revision after the failure: 3 (failed, web-0.2.0) | rescue: restore: now "
                    "deployed (rolled back to revision 2, now revision 4) | now: revision 4 (deployed, web-0.1.0), "
                    "unlocked")
    locked = gp.failure_message("shop/web", "", "boom", 0, None, "none", rv(1, "pending-install"))
    assert "started from revision none (a first install)" in locked and locked.endswith("STILL LOCKED")


def test_helm_connection_args_never_carry_a_token():
    args = gp.helm_connection_args({"kubeconfig": "/k/c", "context": "eu", "host": None, "api_key": "t0ken",
                                    "ca_cert": "/ca.pem", "validate_certs": False})
    assert args == ["--kubeconfig", "/k/c", "--kube-context", "eu", "--kube-ca-file", "/ca.pem",
                    "--kube-insecure-skip-tls-verify"]
    assert gp.helm_connection_args({"kubeconfig": {"clusters": []}, "validate_certs": None}) == []


def test_a_possibly_running_release_stops_the_guard_naming_revision_age_and_signs_of_life():
    reason = ("pending-upgrade for 40 seconds (min_age 30s), but it may still be running: Deployment shop/web-app "
              "was written by helm (field manager 'helm', Update) 3s ago")
    cls = Classification("possibly_running", "shop", "web", 3, "pending-upgrade", 40, 2, reason)
    decision, why = gp.judge_before(cls, {"status": "pending-upgrade"})
    assert (decision, why) == (gp.WAIT, reason)
    message = gp.live_operation("shop/web", cls, "30s")
    assert message.startswith("guarded upgrade of shop/web: revision 3 is " + reason + ": another deploy may still "
                              "be running, so nothing was touched and no upgrade was started.")
