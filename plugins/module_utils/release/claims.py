# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Claims: how a rollback or uninstall in flight is recorded on the release itself.

Before helm runs, the stuck record is marked failed (which unlocks it) with a
label and an annotation saying which action, to which revision, by whom and
until when that run may still be working on it. A record whose newest
revision still carries the claim is an unfinished remediation: helm failed,
did nothing, or the run was killed. The next run finds it with a server-side
label selector and finishes it; until ``until`` has passed it is left alone
(another run may be running helm right now).

Helm copies custom labels into the next upgrade's record but never
annotations, so a claim counts only when both agree on the revision.
Pure helpers, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
from collections import namedtuple

CLAIM_LABEL = "helmops.unstick/claim"
CLAIM_ANNOTATION = "helmops.unstick/claim"
#: the claimed actions (unlock needs no claim: it is complete once written)
CLAIMED_ACTIONS = ("rollback", "uninstall")
#: the environment variable that sets CLAIM_GRACE (whole seconds, at least CLAIM_GRACE_MIN): tests that wait a
#: claim out set it short; read once, when the module starts
CLAIM_GRACE_ENV = "HELMOPS_UNSTICK_CLAIM_GRACE"
CLAIM_GRACE_MIN = 5


def claim_grace(environ):
    """Seconds a claim outlives helm's own --timeout (helm's start-up, API retries): 60, or ``environ``'s
    CLAIM_GRACE_ENV. A bad value raises ValueError naming the variable and its value."""
    raw = environ.get(CLAIM_GRACE_ENV)
    if raw is None:
        return 60
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < CLAIM_GRACE_MIN:
        raise ValueError("%s=%r: a claim's grace is whole seconds, at least %d"
                         % (CLAIM_GRACE_ENV, raw, CLAIM_GRACE_MIN))
    return value


CLAIM_GRACE = claim_grace(os.environ)

Claim = namedtuple("Claim", ["action", "revision", "target", "by", "run", "at", "until"])


def new_claim(action, revision, target, by, run, now, timeout):
    if action not in CLAIMED_ACTIONS:
        raise ValueError("no claim for action %r" % (action,))
    return Claim(action, int(revision), target, by, run, int(now), int(now + timeout + CLAIM_GRACE))


def read_claim(metadata):
    """The claim of a record's ``metadata`` (full or PartialObjectMetadata), or None."""
    metadata = metadata or {}
    labels = metadata.get("labels") or {}
    raw = (metadata.get("annotations") or {}).get(CLAIM_ANNOTATION)
    if labels.get(CLAIM_LABEL) not in CLAIMED_ACTIONS or not raw:
        return None
    try:
        doc = json.loads(raw)
        claim = Claim(str(doc["action"]), int(doc["revision"]), doc.get("target"),
                      str(doc.get("by") or "?"), str(doc.get("run") or "?"), int(doc["at"]), int(doc["until"]))
    except (ValueError, TypeError, KeyError):
        return None
    if claim.action != labels.get(CLAIM_LABEL) or str(claim.revision) != str(labels.get("version")):
        return None   # a label Helm copied into a later revision, not our claim
    if claim.target is not None:
        claim = claim._replace(target=int(claim.target))
    return claim


def with_claim(obj, claim):
    """A copy of ``obj`` carrying ``claim`` (label and annotation)."""
    new = copy.deepcopy(obj)
    meta = new["metadata"]
    meta["labels"] = dict(meta.get("labels") or {}, **{CLAIM_LABEL: claim.action})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{
        CLAIM_ANNOTATION: json.dumps(claim._asdict(), sort_keys=True)})
    return new


def describe(claim):
    goal = "uninstall" if claim.target is None else "roll back to revision %s" % claim.target   # uninstall: no target
    return "%s (claimed by %s, run %s)" % (goal, claim.by, claim.run)
