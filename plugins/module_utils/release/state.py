# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decide whether a Helm release is stuck, from its revisions' metadata.

Pure helpers, no I/O. Helm's lock is only the NEWEST revision (highest
revision number): ``helm upgrade``/``rollback`` refuse to run when it is
``pending-install``, ``pending-upgrade`` or ``pending-rollback``. A pending
revision below a newer one is history and never makes a release stuck.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import format_duration
from ansible_collections.helmops.unstick.plugins.module_utils.release.claims import describe as describe_claim

PENDING_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback")
# Valid Helm statuses that do not hold the lock.
SETTLED_STATUSES = ("unknown", "deployed", "uninstalled", "superseded", "failed", "uninstalling")
KNOWN_STATUSES = SETTLED_STATUSES + PENDING_STATUSES
GOOD_STATUSES = ("deployed", "superseded")

KIND_HEALTHY = "healthy"
KIND_STUCK = "stuck"
KIND_IN_PROGRESS = "in_progress"
KIND_ERROR = "error"
#: newest revision carries our own claim for a rollback/uninstall that did not finish
KIND_UNFINISHED = "unfinished"
#: pending and older than min_age, but something shows the operation is still going on: never acted on
KIND_POSSIBLY_RUNNING = "possibly_running"
#: every state ``classify_release`` (and ``with_liveness``) can decide; a report adds what a run then did
#: (report/release_report.py), and remediation/plan.py says which of them are acted on, and how
KINDS = (KIND_HEALTHY, KIND_STUCK, KIND_IN_PROGRESS, KIND_POSSIBLY_RUNNING, KIND_UNFINISHED, KIND_ERROR)

# Notes attached to settled-but-unusual newest revisions (kind stays healthy).
_ODD_NOTES = {
    "superseded": "newest revision is superseded (unusual, e.g. history trimmed or edited); "
                  "Helm does not treat it as locked",
    "uninstalling": "newest revision is uninstalling (an uninstall may be running or was interrupted); "
                    "not a Helm lock, left alone",
    "unknown": "newest revision has Helm status 'unknown'; not a Helm lock, left alone",
}

Classification = namedtuple("Classification", [
    "kind",                # "healthy" | "stuck" | "in_progress" | "error"
    "namespace",
    "name",                # release name
    "revision",            # newest revision number
    "status",              # status of the newest revision
    "age_seconds",         # int, or None when unknown
    "last_good_revision",  # int or None
    "reason",              # str or None
    "claim",               # claims.Claim of an unfinished (or in-flight) remediation, else None
], defaults=(None,))


def group_revisions(metas):
    """Group ``RevisionMeta`` items by ``(namespace, release)``.

    Returns ``{(namespace, release): [RevisionMeta, ...]}`` with each list
    sorted numerically by revision (10 after 9).
    """
    groups = {}
    for meta in metas:
        groups.setdefault((meta.namespace, meta.release), []).append(meta)
    for key in groups:
        groups[key].sort(key=lambda m: m.revision)
    return groups


def last_good_revision(revisions, below=None):
    """Newest revision number ``< below`` (any, when None) whose status is deployed or superseded, or
    ``None``. ``revisions``: anything with ``revision`` and ``status`` (RevisionMetas, history rows)."""
    best = None
    for meta in revisions:
        if meta.status in GOOD_STATUSES and (below is None or meta.revision < below):
            if best is None or meta.revision > best:
                best = meta.revision
    return best


def rollback_landed(was_revision, newest, description, target):
    """Whether a rollback to ``target`` landed: the newest revision (``newest``, with ``revision`` and
    ``status``; None when the release has no record) is above ``was_revision``, deployed, and described as
    Helm describes a rollback (``description``). None when it landed, else what the cluster shows instead."""
    if newest is None:
        return "no record of the release"
    if newest.revision <= was_revision or newest.status != "deployed":
        return "revision %s %s as the newest" % (newest.revision, newest.status)
    if description != "Rollback to %d" % target:
        return "revision %s deployed as %r, not a rollback to revision %d" % (newest.revision, description, target)
    return None


def record_age(meta, now):
    """Seconds since the revision's record was created (server clock), or None if unknown.

    Helm creates a pending revision's record when the operation starts, so its creation time is the
    operation's start. Never the ``modifiedAt`` label: Helm copies it from the previous revision onto the
    new record, so a live upgrade would look as old as the last change before it."""
    if meta.created_at is None:
        return None
    return now - meta.created_at


def classify_release(revisions, now, min_age):
    """Classify one release from all its revisions' ``RevisionMeta``.

    The newest revision decides:

    * a settled Helm status (deployed, failed, superseded, uninstalled,
      uninstalling, unknown) -> ``healthy``; odd ones (superseded,
      uninstalling, unknown) carry an explanatory ``reason``;
    * ``pending-*`` with age >= ``min_age`` -> ``stuck``;
    * ``pending-*`` younger than ``min_age`` -> ``in_progress``;
    * ``pending-*`` with negative age (record dated in the future, clock
      skew) -> ``in_progress``: never act on it;
    * ``pending-*`` whose age cannot be determined (no creation time)
      -> ``error`` "cannot determine age": acting
      blindly could break a live operation;
    * any other status -> ``error`` "unknown status 'xyz'"; no status label
      -> ``error`` "missing status label";
    * two records claiming the newest revision -> ``error``.

    Age = ``now`` - ``created_at`` (``record_age``), both on the server's clock.
    ``revisions`` must be non-empty and belong to one release.
    """
    if not revisions:
        raise ValueError("classify_release needs at least one revision")
    if isinstance(min_age, bool) or not isinstance(min_age, (int, float)) or min_age < 0:
        raise ValueError("min_age must be a non-negative number of seconds, got %r" % (min_age,))
    ordered = sorted(revisions, key=lambda m: m.revision)
    newest = ordered[-1]
    good = last_good_revision(ordered, newest.revision)
    age = record_age(newest, now)
    age_seconds = int(age // 1) if age is not None else None

    def result(kind, reason=None, claim=None):
        return Classification(kind, newest.namespace, newest.release, newest.revision,
                              newest.status, age_seconds, good, reason, claim)

    if len(ordered) > 1 and ordered[-2].revision == newest.revision:
        return result(KIND_ERROR, "more than one record for revision %d" % newest.revision)
    status = newest.status
    if status is None:
        return result(KIND_ERROR, "missing status label")
    if status not in KNOWN_STATUSES:
        return result(KIND_ERROR, "unknown status '%s'" % status)
    claim = getattr(newest, "claim", None)
    if status == "failed" and claim is not None:
        return _classify_claim(result, claim, now)
    if status in SETTLED_STATUSES:
        return result(KIND_HEALTHY, _ODD_NOTES.get(status))
    if age is None:
        return result(KIND_ERROR, "cannot determine age")
    if age < 0:
        return result(KIND_IN_PROGRESS, "record is dated %d seconds in the future (clock skew?)" % int(abs(age)))
    if age < min_age:
        return result(KIND_IN_PROGRESS, "%s for %d seconds, less than min_age %s" % (
            status, int(age), format_duration(min_age)))
    return result(KIND_STUCK, "%s for %d seconds (min_age %s)" % (status, int(age), format_duration(min_age)))


def _classify_claim(result, claim, now):
    """Our own claim on the newest revision: in flight until ``claim.until``, then unfinished."""
    goal = describe_claim(claim)
    if claim.until > now:
        return result(KIND_IN_PROGRESS, "a helmops.unstick run is finishing its work: %s, for up to %d more "
                      "seconds" % (goal, int(claim.until - now)), claim)
    return result(KIND_UNFINISHED, "unfinished remediation: %s did not complete" % goal, claim)


def judge_release(revisions, now, min_age, probe=None):
    """THE decision for one release, wherever a release is judged (helm_unstick, report-only runs included,
    the batch, helm_guard's phase before the upgrade): ``classify_release``, then, for a release it finds
    stuck, the liveness checks: ``probe(classification)`` returns evidence sentences (liveness.py) that the
    pending operation is still going on, or None when no check can be made. Stuck, in progress
    (younger than ``min_age``) or possibly running (old enough, but seen alive: never acted on)."""
    classification = classify_release(revisions, now, min_age)
    if classification.kind != KIND_STUCK or probe is None:
        return classification
    return with_liveness(classification, probe(classification))


def with_liveness(classification, evidence):
    """A stuck release seen alive (``evidence``: sentences from liveness.py) is ``possibly_running``, never
    acted on; without evidence, or for any other kind, the classification stands."""
    if classification.kind != KIND_STUCK or not evidence:
        return classification
    return classification._replace(kind=KIND_POSSIBLY_RUNNING, reason="%s, but it may still be running: %s" % (
        classification.reason, "; ".join(evidence)))
