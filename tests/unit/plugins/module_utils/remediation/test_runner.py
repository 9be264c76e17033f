# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run's bookkeeping over an in-memory record store and a helm that acts on it
(the REST layer and real helm are exercised end to end in tests/e2e)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from release_fakes import NOW, FakeHelm, Store, history

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import ClusterSession, HelmGate
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions.base import rfc3339, unlocked_object
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload

PARAMS = dict(namespaces=[], exclude_namespaces=[], releases=[], exclude_releases=[], min_age="15m",
              remediate=True, strategy="unlock", pending_install="unlock", wait=True, timeout="5m",
              backup_dir=None, max_remediations=None, request_timeout="60s", storage_driver=None)


def run(store, helm=None, clock=NOW, **params):
    gate = HelmGate(helm) if helm is not None else HelmGate(problem="helm_binary: 'helm' is not on PATH")
    opts = dict(PARAMS, **params)
    check = opts.pop("check_mode", False)
    return runner.run(opts, store, "c1", "me@here", helm_gate=gate, check_mode=check, diff=True,
                      clock=lambda: clock)


def states(out):
    return [(e["name"], e["state"]) for e in out["releases"]]


def test_only_newest_pending_counts_and_unlock_is_idempotent(make_release, make_object, secret_password):
    objs = (history(make_release, make_object, "stuck", ["superseded", "deployed", "pending-upgrade"])
            + history(make_release, make_object, "healed", ["superseded", "pending-upgrade", "deployed"])
            + history(make_release, make_object, "young", ["deployed", "pending-upgrade"], age=30)
            + history(make_release, make_object, "fine", ["superseded", "deployed"]))
    store = Store(objs)
    out = run(store)
    assert sorted(states(out)) == [("stuck", "remediated"), ("young", "in_progress")]
    assert [(e["name"], e["revision"], e["action"]) for e in out["stuck"]] == [("stuck", 3, "unlock")]
    assert [e["name"] for e in out["in_progress"]] == ["young"]
    assert [e["name"] for e in out["remediated"]] == ["stuck"]
    assert out["errors"] == [] and out["changed"] is True
    assert out["stuck"][0]["last_good_revision"] == 2
    assert store.gets == 2  # full records only for the stuck and the in-progress release
    record = decode_payload(store.objs[("apps", "sh.helm.release.v1.stuck.v3")]["data"]["release"], "secret")
    assert record["info"]["status"] == "failed" and "me@here" in record["info"]["description"]
    assert secret_password not in json.dumps(out)
    assert out["summary"]["states"]["remediated"] == 1 and out["summary"]["states"]["in_progress"] == 1

    again = run(store)
    assert again["changed"] is False and again["stuck"] == [] and store.writes == 1


def test_check_mode_says_would_and_writes_nothing(make_release, make_object):
    store = Store(history(make_release, make_object, "s", ["deployed", "pending-upgrade"]))
    out = run(store, FakeHelm(store), strategy="rollback", check_mode=True)
    assert states(out) == [("s", "would_remediate")] and store.writes == 0
    assert out["changed"] is True and out["releases"][0]["message"] == "check mode: would roll back to revision 1"
    assert out["diff"] == {"before": {"apps/s": "pending-upgrade (revision 2)"},
                           "after": {"apps/s": "would roll back to revision 1"}}


def test_guard_refuses_and_lists(make_release, make_object):
    store = Store(history(make_release, make_object, "a", ["deployed", "pending-upgrade"])
                  + history(make_release, make_object, "b", ["deployed", "pending-rollback"]))
    out = run(store, max_remediations=1)
    assert out["failed"] and "max_remediations" in out["msg"]
    assert states(out) == [("a", "refused"), ("b", "refused")] and store.writes == 0
    assert out["remediated"] == [] and len(out["stuck"]) == 2 and out["errors"] == []
    assert out["releases"][0]["refused_by"] == "max_remediations"


def test_corrupt_record_reported_others_fixed(make_release, make_object):
    bad = history(make_release, make_object, "bad", ["deployed", "pending-upgrade"])
    bad[-1]["data"]["release"] = "!!!not-base64!!!"
    store = Store(bad + history(make_release, make_object, "good", ["deployed", "pending-install"]))
    out = run(store)
    assert [e["name"] for e in out["remediated"]] == ["good"]
    assert len(out["errors"]) == 1 and "apps/bad" in out["errors"][0]["reason"]
    assert "corrupt" in out["errors"][0]["reason"]


def test_rollback_without_helm_writes_nothing_and_unlock_still_happens(make_release, make_object):
    store = Store(history(make_release, make_object, "r", ["deployed", "pending-upgrade"])
                  + history(make_release, make_object, "i", ["pending-install"]))
    out = run(store, strategy="rollback")
    assert sorted(states(out)) == [("i", "remediated"), ("r", "error")]
    [err] = out["errors"]
    assert "not on PATH" in err["reason"] and err["action"] == "rollback" and "nothing written" in err["reason"]
    assert store.status("apps", "r") == [(1, "deployed"), (2, "pending-upgrade")]


def test_unusable_helm_is_found_before_any_write(make_release, make_object):
    store = Store(history(make_release, make_object, "r", ["deployed", "pending-upgrade"]))
    out = run(store, FakeHelm(store, version=None), strategy="rollback")
    assert states(out) == [("r", "error")] and store.writes == 0
    assert "helm_binary: /x/helm does not look like helm" in out["errors"][0]["reason"]


def test_unknown_status_reported(make_release, make_object):
    store = Store(history(make_release, make_object, "x", ["deployed", "pending-frobnicate"]))
    out = run(store)
    assert "unknown status 'pending-frobnicate'" in out["errors"][0]["reason"]
    assert store.writes == 0


class NoAnswerStore(Store):
    """The write reaches the server, but the answer never comes back (dropped, timed out)."""

    def replace(self, obj):
        Store.replace(self, obj)
        raise ApiError(0, "ReadTimeoutError", "PUT /x: Read timed out")


def test_write_without_answer_is_not_reported_as_nothing_written(make_release, make_object):
    store = NoAnswerStore(history(make_release, make_object, "s", ["deployed", "pending-upgrade"]))
    out = run(store)
    [err] = out["errors"]
    assert err["state"] == "failed"
    assert "may have landed" in err["reason"] and "nothing written" not in err["reason"]
    assert out["remediated"] == [] and store.writes == 1
    again = run(store)   # it had landed
    assert again["changed"] is False and again["stuck"] == [] and again["errors"] == []


def test_forbidden_write_is_refused(make_release, make_object):
    store = Store(history(make_release, make_object, "s", ["deployed", "pending-upgrade"]))
    store.refuse_writes = ApiError(403, "Forbidden", 'secrets "x" is forbidden: cannot update')
    out = run(store, FakeHelm(store), strategy="rollback")
    assert states(out) == [("s", "refused")] and out["changed"] is False
    assert "refused the write" in out["errors"][0]["reason"]


def test_rollback_is_verified_on_the_cluster(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "deployed", "pending-upgrade"]))
    helm = FakeHelm(store)
    out = run(store, helm, strategy="rollback")
    assert states(out) == [("web", "remediated")]
    assert out["releases"][0]["message"] == "rollback: now deployed (rolled back to revision 2, now revision 4)"
    assert store.status("apps", "web")[-2:] == [(3, "failed"), (4, "deployed")]
    assert helm.calls == [("rollback", "apps", "web", 2)]
    assert run(store, helm, strategy="rollback")["releases"] == []   # idempotent


def test_helm_that_does_nothing_is_an_error_then_resumed(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))
    out = run(store, FakeHelm(store, "noop"), strategy="rollback")
    assert states(out) == [("web", "failed")] and out["changed"] is True
    assert "reported success" in out["errors"][0]["reason"] and "revision 2 failed" in out["errors"][0]["reason"]
    # the claim was released, so the next run (even a report-only one) sees it at once
    report = run(store, remediate=False)
    assert states(report) == [("web", "unfinished")]
    assert "unfinished remediation: roll back to revision 1" in report["releases"][0]["reason"]
    helm = FakeHelm(store)
    done = run(store, helm, strategy="rollback")
    assert states(done) == [("web", "remediated")] and done["releases"][0]["action"] == "resume"
    assert "resumed the rollback claimed by me@here" in done["releases"][0]["message"]
    assert store.status("apps", "web") == [(1, "deployed"), (2, "failed"), (3, "deployed")]
    assert helm.calls == [("rollback", "apps", "web", 1)]


def test_failed_helm_leaves_an_unfinished_claim_for_the_next_run(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))
    out = run(store, FakeHelm(store, "fails"), strategy="rollback")
    assert states(out) == [("web", "failed")]
    assert "helm rollback failed: Error: timed out" in out["errors"][0]["reason"]
    assert "the next run resumes it" in out["errors"][0]["reason"]
    assert out["diff"]["after"] == {"apps/web": "failed (revision 2); rollback unfinished"}
    # a later run with strategy unlock still finishes what was claimed: a rollback
    done = run(store, FakeHelm(store), strategy="unlock")
    assert states(done) == [("web", "remediated")] and store.status("apps", "web")[-1] == (3, "deployed")


def test_a_claim_that_cannot_be_released_says_until_when_it_holds(make_release, make_object):
    """The API server went away with helm (seen on a restarted kube-apiserver, tests/e2e/realkube/test_fleet.py):
    the claim stays, so the next run leaves the release alone until it expires; the report says so."""
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))

    class GoneWithTheServer(FakeHelm):
        def rollback(self, namespace, release, revision, wait, timeout):
            self.calls.append(("rollback", namespace, release, revision))
            store.refuse_writes = ApiError(0, "NewConnectionError", "PUT /x: Connection refused")
            raise HelmError("Error: kubernetes cluster unreachable")

    out = run(store, GoneWithTheServer(store), strategy="rollback")
    [row] = out["releases"]
    assert row["state"] == "failed" and "the next run resumes it" not in row["reason"]
    assert row["reason"].endswith(
        "helm rollback failed: Error: kubernetes cluster unreachable; its claim could not be released (no answer "
        "from the API server: PUT /x: Connection refused): while revision 2 is the newest, runs leave the release "
        "alone until the claim expires at %s, then resume it" % rfc3339(NOW + 300 + claims.CLAIM_GRACE))
    store.refuse_writes = None
    helm = FakeHelm(store)
    assert states(run(store, helm, strategy="rollback")) == [("web", "in_progress")] and helm.calls == []
    store.now = NOW + 300 + claims.CLAIM_GRACE
    assert states(run(store, helm, strategy="rollback")) == [("web", "remediated")]


def test_a_live_claim_is_left_alone_until_it_expires(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))
    key = ("apps", "sh.helm.release.v1.web.v2")
    # a run that claimed and was killed before helm (claim until NOW + 5m + grace)
    mark = claims.new_claim("rollback", 2, 1, "other@ctl", "r1", NOW, 300)
    release = decode_payload(store.objs[key]["data"]["release"], "secret")
    store.objs[key] = claims.with_claim(unlocked_object(store.objs[key], release, "claimed", NOW, "secret"), mark)
    helm = FakeHelm(store)
    early = run(store, helm, strategy="rollback")
    assert states(early) == [("web", "in_progress")] and helm.calls == []
    assert "finishing its work: roll back to revision 1 (claimed by other@ctl" in early["releases"][0]["reason"]
    store.now = NOW + 400
    late = run(store, helm, strategy="rollback")
    assert states(late) == [("web", "remediated")] and helm.calls == [("rollback", "apps", "web", 1)]


def test_two_runs_from_one_scan_roll_back_once(make_release, make_object):
    """Both runs scanned before either wrote: the second claim gets 409, helm runs once."""
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))
    helm = FakeHelm(store)
    settings = runner.validate(dict(PARAMS, strategy="rollback"), {})
    first = runner.Run(settings, ClusterSession(store, "c1", "a", HelmGate(helm)))
    second = runner.Run(settings, ClusterSession(store, "c1", "b", HelmGate(helm)))
    found_a, now = first.scan()
    found_b, dummy = second.scan()
    first.remediate(found_a, now)
    second.remediate(found_b, now)
    assert [e["state"] for e in first.releases] == ["remediated"]
    assert [e["state"] for e in second.releases] == ["refused"]
    assert helm.calls == [("rollback", "apps", "web", 1)]


def test_uninstall_is_verified(make_release, make_object):
    store = Store(history(make_release, make_object, "fresh", ["pending-install"]))
    out = run(store, FakeHelm(store), pending_install="uninstall")
    assert states(out) == [("fresh", "remediated")] and store.status("apps", "fresh") == []
    noop = Store(history(make_release, make_object, "fresh", ["pending-install"]))
    out = run(noop, FakeHelm(noop, "noop"), pending_install="uninstall")
    assert states(out) == [("fresh", "failed")] and "still shows revision 1 failed" in out["errors"][0]["reason"]


def test_no_remediation_starts_after_the_cluster_timeout(make_release, make_object):
    """The deadline ran out while the first release was remediated: the second is reported, not touched."""
    from ansible_collections.helmops.unstick.plugins.module_utils.common.deadline import Deadline
    elapsed = [0.0]

    class SlowStore(Store):
        def replace(self, obj):            # each write takes 100 s (a slow, flapping API server)
            elapsed[0] += 100
            return Store.replace(self, obj)
    store = SlowStore(history(make_release, make_object, "a", ["deployed", "pending-upgrade"])
                      + history(make_release, make_object, "b", ["deployed", "pending-upgrade"]))
    out = runner.run(dict(PARAMS), store, "c1", "me@here", helm_gate=HelmGate(problem="no helm"),
                     clock=lambda: NOW, deadline=Deadline(60, clock=lambda: elapsed[0]))
    assert sorted(states(out)) == [("a", "remediated"), ("b", "error")]
    [late] = [e for e in out["releases"] if e["name"] == "b"]
    assert "not attempted: cluster_timeout (60s) reached; nothing written" in late["reason"]
    assert store.writes == 1


# -- one named release (the guarded upgrade's scan) ----------------------
def job(store, helm=None, **params):
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate
    opts = dict(PARAMS, **params)
    gate = HelmGate(helm) if helm is not None else HelmGate(problem="no helm")
    return runner.Run(validate(opts, {}), ClusterSession(store, "c1", "me@here", gate), clock=lambda: NOW + 7)


def test_scan_release_reads_one_release_whole_in_one_list_and_one_get(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["superseded", "deployed"])
                  + history(make_release, make_object, "other", ["deployed", "pending-upgrade"]))
    scan = job(store).scan_release("apps", "web")
    assert (scan.classification.kind, scan.classification.revision, scan.classification.last_good_revision) == \
        ("healthy", 2, 1)
    assert scan.summary["status"] == "deployed" and scan.obj["metadata"]["name"] == "sh.helm.release.v1.web.v2"
    assert scan.now == NOW and (store.lists, store.gets) == (1, 1)          # the server's time, not this host's
    nothing = job(store).scan_release("apps", "nothing")
    assert not nothing.found and (nothing.classification, nothing.obj, nothing.now) == (None, None, NOW)


def test_scan_release_classifies_with_the_min_age_it_is_given(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"], age=60))
    assert job(store).scan_release("apps", "web").classification.kind == "in_progress"
    assert job(store).scan_release("apps", "web", min_age=0).classification.kind == "stuck"


def test_scan_release_without_a_date_header_uses_this_hosts_clock_and_says_so(make_release, make_object):
    class Dateless(Store):
        def revisions_at(self, namespace, release):
            return self.revisions(namespace, release), None
    run = job(Dateless(history(make_release, make_object, "web", ["deployed"])))
    assert run.scan_release("apps", "web").now == NOW + 7
    assert run.warnings == ["cluster c1 sent no Date header; ages use this host's clock"]


def test_act_carries_out_a_given_plan_and_returns_what_the_action_verified(make_release, make_object):
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import Plan
    store = Store(history(make_release, make_object, "web", ["superseded", "deployed", "failed"]))
    run = job(store, FakeHelm(store))
    scan = run.scan_release("apps", "web")
    item = run.act(scan, run.context(scan.now),
                   plan=Plan("restore", 2, None))
    assert (item.outcome.revision, item.outcome.status) == (4, "deployed")
    assert [(e["state"], e["action"], e["message"]) for e in run.releases] == [
        ("remediated", "restore", "restore: now deployed (rolled back to revision 2, now revision 4)")]


def test_an_unlock_records_the_revision_it_verified(make_release, make_object):
    store = Store(history(make_release, make_object, "web", ["deployed", "pending-upgrade"]))
    run = job(store)
    scan = run.scan_release("apps", "web")
    item = run.act(scan, run.context(scan.now))
    assert (item.outcome.revision, item.outcome.status, item.outcome_summary) == (2, "failed", None)
