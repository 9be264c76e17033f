# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guarded upgrade of one release, phase by phase, on the module's one connection.

``before``: read the release, unstick it if a dead operation left it pending (the runner and its
actions, as helm_unstick does), and say which revision a failed upgrade goes back to. ``after``: read it
again and check the upgrade landed; if it did not (or the upgrade task failed), put it back on that
revision and stop with both errors. Each phase reads the release in one scan (``Run.scan_release``); what
to do is ``guard_plan``'s decision; the actions verify their own outcome on the cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import plan as guard_plan
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import lease, turns, waiting
from ansible_collections.helmops.unstick.plugins.module_utils.report import release_report as report
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import GOOD_STATUSES
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import UnstickError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import Plan


class GuardStop(UnstickError):
    """The guarded upgrade must stop here; ``result`` is what the phase found and did."""

    def __init__(self, message, result):
        super(GuardStop, self).__init__(message)
        # a guard that stopped lets no upgrade start, whatever the phase had found so far
        self.result = dict(result, proceed=False, stopped=True)


def _shown(newest):
    """The newest revision (``Release.shown``) as result keys, a missing one too."""
    if newest is None:
        return {"revision": None, "status": "missing", "chart": "", "app_version": "", "description": ""}
    return dict(newest)


def _diff(job, where, before, after):
    if job.diff:
        return {"diff": {"before": {where: before}, "after": {where: after}}}
    return {}


def _take_turn(where, turn, limit, check_turns, check_mode, namespace, name):
    """This run's turn on the release's Lease (``turn``: a lease.Turn, None when the runs do not take turns), as
    the result's ``lease``; GuardStop when the wait for it ran out."""
    if check_mode and check_turns:
        return {"name": turns.lease_name(name), "would": "wait for its turn on the Lease, then take it"}
    if turn is None:
        return None
    try:
        waited = turn.take(limit)
    except ApiError as err:
        raise GuardStop("guarded upgrade of %s: cannot take its turn on the Lease %s/%s: %s. Grant the Lease role "
                        "(docs/rbac/helm-unstick-guard-lease.yaml), or let runs not take turns (take_turns false, "
                        "guarded_upgrade_take_turns). Nothing was touched and no upgrade was started."
                        % (where, namespace, turn.name, err.describe()),
                        {"phase": "before", "namespace": namespace, "release": name, "changed": False})
    except lease.TurnWaitedOut as out:
        raise GuardStop("guarded upgrade of %s: waited %ss (wait_for_pending %ss) for its turn on the Lease %s/%s, "
                        "held by %s%s. Nothing was touched and no upgrade was started. Retry later, or wait longer "
                        "(wait_for_pending, guarded_upgrade_wait_for_pending)."
                        % (where, int(round(out.waited)), limit, namespace, turn.name, out.holder,
                           "; waiting before this run: %s" % ", ".join(out.ahead) if out.ahead else ""),
                        {"phase": "before", "namespace": namespace, "release": name, "changed": False,
                         "lease": {"name": turn.name, "holder": turn.identity, "waited_seconds": out.waited}})
    return {"name": turn.name, "holder": turn.identity, "waited_seconds": waited, "waited_for": turn.waited_for,
            "duration_seconds": turn.duration, "requests": turn.requests}


def before(job, namespace, name, min_age_shown, wait_for_pending=0, sleep=time.sleep, clock=time.monotonic,
           turn=None, check_turns=False):
    """The phase before the upgrade (``_before``), its message led by this run's wait for its turn, if any."""
    out = _before(job, namespace, name, min_age_shown, wait_for_pending, sleep, clock, turn, check_turns)
    took = out.get("lease") or {}
    if took.get("waited_for"):
        out["msg"] = "waited %ss for its turn on the Lease %s (held by %s); %s" % (
            took["waited_seconds"], took["name"], took["waited_for"], out.get("msg", ""))
    return out


def _before(job, namespace, name, min_age_shown, wait_for_pending, sleep, clock, turn, check_turns):
    """The phase before the upgrade; returns its result (``proceed``: whether the upgrade may start).

    A pending revision younger than min_age, or older but possibly still running (the liveness checks
    helm_unstick makes: a live deploy?), is waited for, up to ``wait_for_pending`` seconds, until it settles
    (go on) or goes stale (unstick it, go on). Raises GuardStop when the upgrade must not start: the wait ran out
    (or ``wait_for_pending`` is 0), a release that cannot be judged, or a stuck one that could not be unstuck. In
    check mode nothing is written and nothing waited for: a live deploy is a warning with ``proceed`` false."""
    where = "%s/%s" % (namespace, name)
    took = _take_turn(where, turn, wait_for_pending, check_turns, job.check_mode, namespace, name)
    scan = job.scan_release(namespace, name)
    first = scan.classification
    decision, why = guard_plan.judge_before(first, scan.summary)
    waited = None
    left = wait_for_pending - (took or {}).get("waited_seconds", 0)
    if decision == guard_plan.WAIT and left > 0 and not job.check_mode:
        scan, decision, why, waited, polls = waiting.wait_for_pending(job, namespace, name, scan, left, sleep, clock)
        if turn is not None and turn.held and decision != guard_plan.WAIT:
            took["renewed"] = turn.renew()      # the upgrade that follows gets the whole lease_duration
    cls = scan.classification
    found = scan.shown()
    out = {"phase": "before", "namespace": namespace, "release": name, "changed": False, "proceed": True,
           "found": dict(_shown(found), age_seconds=cls.age_seconds if cls else None, state=cls.kind if cls else None),
           "from_revision": cls.revision if cls else 0, "good_revision": guard_plan.good_revision(cls),
           "waited_seconds": waited or 0}
    if took:
        out["lease"] = took
    if waited is not None:
        out["waited_for"] = "revision %s (%s)" % (first.revision, first.status)
    if decision == guard_plan.BROKEN:
        raise GuardStop("guarded upgrade of %s: cannot judge revision %s: %s; nothing was touched and no upgrade "
                        "was started" % (where, cls.revision, why), out)
    if decision == guard_plan.WAIT:
        if waited is not None:
            raise GuardStop(turns.waited_out(where, cls, turns.started_by(scan.summary, scan.obj), waited,
                                             wait_for_pending), out)
        message = guard_plan.live_operation(where, cls, min_age_shown)
        if not job.check_mode:
            raise GuardStop(message, out)
        if wait_for_pending > 0:
            would = ("wait up to %ss (wait_for_pending) for revision %s (%s, %s) to settle or go stale, then "
                     "upgrade" % (wait_for_pending, cls.revision, cls.status, cls.reason))
            out.update(proceed=False, would=would, msg="check mode: %s: would %s" % (where, would))
            job.warnings.append("check mode: %s: a real run would %s" % (where, would))
            return out
        job.warnings.append("check mode: a real run would stop here: " + message)
        out.update(proceed=False, would="stop: " + message, msg="check mode: %s: would stop: %s" % (where, message))
        return out
    after_wait = "" if waited is None else "after waiting %ss for revision %s (%s): " % (
        waited, first.revision, first.status)
    if decision == guard_plan.GO:
        out["msg"] = "%s: %s%s; the upgrade starts from %s" % (
            where, after_wait, why, guard_plan.describe(found) if found else "nothing (a first install)")
        return out
    # UNSTICK: the runner remediates it exactly as helm_unstick would (claim, helm, verification)
    item = job.act(scan, job.context(scan.now))
    entry = job.releases[-1]
    out["changed"] = bool(entry.get("changed"))
    stuck = "revision %s was stuck in %s (%ss old)" % (cls.revision, cls.status, cls.age_seconds)
    if entry["state"] == report.STATE_WOULD_REMEDIATE:
        out.update(would=entry["message"][len("check mode: "):],
                   msg="check mode: %s: %s: %s, then upgrade" % (where, stuck, entry["message"][len("check mode: "):]))
        out.update(_diff(job, where, guard_plan.describe(found), entry["message"]))
        return out
    if entry["state"] != report.STATE_REMEDIATED:
        raise GuardStop("guarded upgrade of %s: %s and could not be remediated: %s. No upgrade was started."
                        % (where, stuck, entry.get("reason") or entry.get("message")), out)
    now = item.shown_outcome()
    out.update(from_revision=now["revision"] if now else 0,
               good_revision=now["revision"] if now and now["status"] in GOOD_STATUSES else cls.last_good_revision,
               msg="%s: %s%s; %s; the upgrade starts from %s" % (
                   where, after_wait, stuck, entry["message"], guard_plan.describe(now) if now else "nothing"))
    out.update(_diff(job, where, guard_plan.describe(found), guard_plan.describe(now)))
    return out


def after(job, namespace, name, from_revision, good, failure, rescue=True, target=""):
    """The phase after the upgrade; returns its result when the upgrade landed.

    ``failure``: the failed upgrade task's result (msg, stderr, command), None when it succeeded. When the
    upgrade failed or did not land, the release goes back to ``good`` (with ``rescue``) and GuardStop says
    both what failed and what the rescue did. In check mode nothing is written."""
    where = "%s/%s" % (namespace, name)
    # min_age 0: a revision our own failed upgrade left pending is stuck at any age (plan_rescue decides
    # whether it is ours); no liveness checks: our own upgrade's writes are no sign of another operation
    scan = job.scan_release(namespace, name, min_age=0, liveness=False)
    newest = scan.shown()
    error = guard_plan.upgrade_error(failure) if failure else None
    problem = guard_plan.landed(from_revision, newest)
    out = {"phase": "after", "namespace": namespace, "release": name, "changed": False,
           "from_revision": from_revision, "good_revision": good, "upgraded": False}
    out.update(_shown(newest))
    if failure and problem is None and newest["revision"] > from_revision and guard_plan.readback_only(failure):
        job.warnings.append("%s: the upgrade task failed only reading the release back (%s); the cluster shows "
                            "revision %s deployed" % (where, error, newest["revision"]))
        error = None
    if job.check_mode and error is None:
        out.update(would="check that a revision above %s is deployed" % from_revision,
                   msg="check mode: %s: would check that the upgrade landed (now %s)" % (where, guard_plan.describe(newest)))
        return out
    if error is None and problem is None:
        # the upgrade task reported its own change; this phase only read
        out.update(upgraded=newest["revision"] > from_revision,
                   msg="%s: %s%s" % (where, guard_plan.describe(newest),
                                     "" if newest["revision"] > from_revision else ", unchanged"))
        return out
    reason = error or "verify: %s%s" % (problem, "" if newest is None or newest["revision"] > from_revision
                                        else " (the upgrade made no new revision)")
    # a failed upgrade that wrote revisions changed the release, whatever the rescue does next
    wrote = newest is not None and newest["revision"] > from_revision and not job.check_mode
    out["changed"] = wrote
    broken, why = guard_plan.judge_before(scan.classification, scan.summary)
    if not rescue:
        plan = guard_plan.RescuePlan(None, None, "none (rescue disabled)")
    elif broken == guard_plan.BROKEN:
        plan = guard_plan.RescuePlan(None, None, "none: cannot judge the release (%s); left as it is" % why)
    else:
        plan = guard_plan.plan_rescue(newest, from_revision, good, error)
    out.update(error=reason, failed_revision=newest["revision"] if newest else None,
               failed_status=newest["status"] if newest else "missing", rescue=plan.note, rescue_action=plan.action)
    final = newest
    if plan.action is not None:
        action_plan = Plan("restore", plan.target, None) if plan.action == guard_plan.RESCUE_RESTORE else None
        item = job.act(scan, job.context(scan.now), plan=action_plan)
        entry = job.releases[-1]
        out["changed"] = wrote or bool(entry.get("changed"))
        if entry["state"] == report.STATE_REMEDIATED:
            out["rescue"] = entry["message"]
            final = item.shown_outcome()
        elif entry["state"] == report.STATE_WOULD_REMEDIATE:
            out["rescue"] = entry["message"]
        else:
            out["rescue"] = "%s FAILED: %s" % (entry.get("action") or plan.action, entry.get("reason"))
    out.update(_shown(final))
    out["unlocked"] = final is None or not final["status"].startswith("pending-")
    out.update(_diff(job, where, "revision %s (the upgrade started from it)" % from_revision,
                     guard_plan.describe(final)))
    message = guard_plan.failure_message(where, target, reason, from_revision, newest, out["rescue"], final)
    raise GuardStop(("check mode: " if job.check_mode else "") + message, out)
