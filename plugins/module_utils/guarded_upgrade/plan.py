# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guarded upgrade's decisions, for one release: what the phase before the upgrade does with what it
found, whether the upgrade landed, and how a failed one is put back; and the words for each.

Pure helpers, no I/O: ``guard.py`` reads the release and acts through the runner. A revision here (``newest``,
``now``) is the newest revision as ``release.model.Release.shown`` gives it, a dict of the result's keys.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import (
    GOOD_STATUSES,
    KIND_HEALTHY,
    KIND_IN_PROGRESS,
    KIND_POSSIBLY_RUNNING,
    KIND_STUCK,
    KIND_UNFINISHED,
    PENDING_STATUSES,
)

#: Helm's refusal when another operation holds the release's lock
LOCKED = "another operation (install/upgrade/rollback) is in progress"

#: what the phase before the upgrade does (``judge_before``)
GO = "go"              # healthy, or no release yet: upgrade as it is
UNSTICK = "unstick"    # stuck, or an unfinished remediation of ours: remediate first
WAIT = "wait"          # a pending revision younger than min_age, or possibly running (a live deploy?): stop
BROKEN = "broken"      # the records cannot be judged: stop, touch nothing

#: what the rescue does (``plan_rescue``)
RESCUE_UNSTICK = "unstick"   # our failed upgrade left the newest revision pending: remediate it, any age
RESCUE_RESTORE = "restore"   # helm rollback to the last good revision (the restore action)

#: the upgrade flags whose names changed in helm 4 (which keeps the helm 3 names as deprecated aliases); helm 4's
#: bare --wait is its "watcher" strategy, spelled out so it reads the same everywhere
UPGRADE_FLAGS = {
    3: {"atomic": "--atomic", "wait": "--wait", "force": "--force"},
    4: {"atomic": "--rollback-on-failure", "wait": "--wait=watcher", "force": "--force-replace"},
}

#: helm's own connection variables, emptied for the upgrade (empty is unset for helm): the controller's cannot
#: send it to another cluster than the one the guard read
HELM_CONNECTION_VARIABLES = ("HELM_KUBECONTEXT", "HELM_KUBEAPISERVER", "HELM_KUBETOKEN", "HELM_KUBECAFILE",
                             "HELM_NAMESPACE", "HELM_KUBEASUSER", "HELM_KUBEASGROUPS", "HELM_KUBETLS_SERVER_NAME",
                             "HELM_KUBEINSECURE_SKIP_TLS_VERIFY")

RescuePlan = namedtuple("RescuePlan", [
    "action",   # RESCUE_UNSTICK, RESCUE_RESTORE, or None (nothing to do: ``note`` says why)
    "target",   # the revision RESCUE_RESTORE rolls back to
    "note",     # why nothing is done, else None
])


def upgrade_flags(version):
    """The upgrade flags (atomic, wait, force) as helm ``version`` (major, minor, patch) spells them."""
    return dict(UPGRADE_FLAGS[4 if version[0] >= 4 else 3])


def upgrade_environment(driver):
    """The upgrade's environment: helm's connection variables emptied, the storage driver the guard read."""
    env = dict.fromkeys(HELM_CONNECTION_VARIABLES, "")
    env["HELM_DRIVER"] = driver
    return env


def older_than(version, minimum):
    """Whether helm ``version`` is older than ``minimum`` (both (major, minor, patch); a missing patch is 0)."""
    def key(v):
        return tuple(part or 0 for part in v)
    return key(version) < key(minimum)


def good_revision(classification):
    """The revision a failed upgrade goes back to: the newest when it is good (deployed), else the last
    deployed or superseded one below it; None when there is none (or no release)."""
    if classification is None:
        return None
    if classification.status in GOOD_STATUSES:
        return classification.revision
    return classification.last_good_revision


def judge_before(classification, summary):
    """(GO | UNSTICK | WAIT | BROKEN, why) for the release as the phase before the upgrade found it
    (``classification`` None: no record, a first install)."""
    if classification is None:
        return GO, "no release yet (the upgrade installs it)"
    if classification.kind not in (KIND_HEALTHY, KIND_STUCK, KIND_UNFINISHED, KIND_IN_PROGRESS,
                                   KIND_POSSIBLY_RUNNING):
        return BROKEN, classification.reason
    if summary is not None and summary.get("status") != classification.status:
        return BROKEN, ("the status label of revision %s says %s but its record says %s"
                        % (classification.revision, classification.status, summary.get("status")))
    if classification.kind in (KIND_IN_PROGRESS, KIND_POSSIBLY_RUNNING):
        return WAIT, classification.reason
    if classification.kind in (KIND_STUCK, KIND_UNFINISHED):
        return UNSTICK, classification.reason
    return GO, "not stuck"


def live_operation(where, classification, min_age):
    """The "retry later" message for a release a live operation may hold (``judge_before`` said WAIT)."""
    cls = classification
    if cls.kind == KIND_POSSIBLY_RUNNING:   # its reason names status, age, min_age and the signs of life
        found = "revision %s is %s" % (cls.revision, cls.reason)
    elif cls.claim is not None or cls.age_seconds is None or cls.age_seconds < 0:
        found = "revision %s is %s: %s" % (cls.revision, cls.status, cls.reason)
    else:
        found = "revision %s is %s and only %ss old (min_age %s)" % (
            cls.revision, cls.status, cls.age_seconds, min_age)
    return ("guarded upgrade of %s: %s: another deploy may still be running, so nothing was touched and no "
            "upgrade was started. Retry later; if you know nothing is running, lower min_age "
            "(guarded_upgrade_min_age)." % (where, found))


def landed(from_revision, newest):
    """None when the upgrade landed (the newest revision is deployed, not below ``from_revision``), else
    what the cluster shows instead."""
    if newest is None:
        return "the release has no record"
    if newest["status"] != "deployed":
        return "newest revision %s is %s, not deployed" % (newest["revision"], newest["status"])
    if newest["revision"] < from_revision:
        return ("newest revision %s is below revision %s, which the upgrade started from"
                % (newest["revision"], from_revision))
    return None


def readback_only(failure):
    """Whether the upgrade task failed only reading the release back: kubernetes.core.helm (6.x) runs
    ``helm list --all`` after a change, and helm 4 removed ``--all``, so that read fails although
    ``helm upgrade`` had returned 0. Only this failure (the cluster must still show the upgrade) is no failure."""
    command = (failure or {}).get("command") or []
    if isinstance(command, str):
        command = command.split()
    return (list(command[1:2]) == ["list"] and "--all" in command
            and "unknown flag: --all" in ((failure or {}).get("stderr") or ""))


def upgrade_error(failure):
    """The failed upgrade task's error in one line: helm's ``Error:`` lines, else the task's message."""
    failure = failure or {}
    lines = [line.strip() for line in (failure.get("stderr") or "").splitlines() if line.startswith("Error:")]
    return " ".join(lines) or " ".join((failure.get("msg") or "unknown error").split())


def plan_rescue(newest, from_revision, good, error):
    """How to put the release back after a failed upgrade (``error``: why it failed; None when the upgrade
    task succeeded and only the verification failed). ``good``: the revision to go back to."""
    if newest is None:
        return RescuePlan(None, None, "the release has no record: nothing to roll back")
    revision, status = newest["revision"], newest["status"]
    if status in PENDING_STATUSES:
        if error is None:
            return RescuePlan(None, None, "revision %s is %s although the upgrade reported success: another "
                                          "operation has started since, left alone" % (revision, status))
        if LOCKED in error:
            return RescuePlan(None, None, "revision %s is %s: another Helm operation holds the release (the upgrade "
                                          "was refused), so it is not ours; left alone" % (revision, status))
        return RescuePlan(RESCUE_UNSTICK, None, None)
    if status == "deployed" and revision <= from_revision:
        return RescuePlan(None, None, "none needed (the upgrade changed nothing: revision %s is still deployed)"
                          % revision)
    if status == "deployed" and newest["description"].startswith("Rollback to"):
        return RescuePlan(None, None, "none needed (helm already rolled back: revision %s, %s)"
                          % (revision, newest["description"]))
    if status not in ("deployed", "failed"):
        return RescuePlan(None, None, "revision %s is %s: left as it is" % (revision, status))
    if good is None or good >= revision:
        return RescuePlan(None, None, "nothing to roll back to (no deployed or superseded revision below %s)"
                          % revision)
    # failed, or deployed and then failed by a later step of the upgrade: back to the last good revision
    return RescuePlan(RESCUE_RESTORE, good, None)


def describe(newest):
    """``revision 4 (deployed, web-0.2.0)``, or that there is none."""
    if newest is None:
        return "no record of the release"
    return "revision %s (%s%s)" % (newest["revision"], newest["status"],
                                   ", " + newest["chart"] if newest["chart"] else "")


def failure_message(where, target, error, from_revision, after_failure, rescue, now):
    """Why the play fails: the upgrade's error and what the rescue did, one line."""
    unlocked = now is None or now["status"] not in PENDING_STATUSES
    return ("guarded upgrade of %s%s failed: %s | started from revision %s | newest revision after the failure: "
            "%s | rescue: %s | now: %s, %s"
            % (where, " to " + target if target else "", error, from_revision or "none (a first install)",
               describe(after_failure)[len("revision "):] if after_failure else "none", rescue, describe(now),
               "unlocked" if unlocked else "STILL LOCKED"))


def helm_connection_args(params):
    """The connection options as flags for the caller's own ``helm`` command (never a secret: a bearer
    token goes through HELM_KUBETOKEN)."""
    flags = (("kubeconfig", "--kubeconfig"), ("context", "--kube-context"), ("host", "--kube-apiserver"),
             ("ca_cert", "--kube-ca-file"))
    args = []
    for option, flag in flags:
        if isinstance(params.get(option), str) and params[option]:
            args += [flag, os.path.expanduser(params[option]) if option == "kubeconfig" else params[option]]
    if params.get("validate_certs") is False:
        args.append("--kube-insecure-skip-tls-verify")
    return args
