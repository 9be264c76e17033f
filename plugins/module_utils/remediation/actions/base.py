# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every action is made of (``Action``), and the steps of the guarded write path they share.

An action owns its name, whether it needs helm, its messages (planned, check
mode, done, refused, failed), its Event reason and message, ``execute`` (the
writes and helm calls) and ``verify`` (read the cluster again and raise
VerifyError unless it shows the outcome). The runner only asks the registry
(``actions/__init__.py``) for them, and keeps the order of things.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError, StorageError, VerifyError
from ansible_collections.helmops.unstick.plugins.module_utils.report.release_report import (
    STATE_FAILED,
    STATE_REFUSED,
    STATE_REMEDIATED,
)
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import rollback_landed
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    decode_payload,
    encode_payload,
    failed_labels,
    mark_failed,
    meta_from_object,
    safe_summary,
)


class ActionContext:
    """What an action may use: the scanned cluster's storage, helm bound to the same
    connection, who we are, the server's time and the helm settings."""

    def __init__(self, storage, helm, actor, run_id, now, settings, wait, cluster, deadline=None):
        self.storage = storage
        self.deadline = deadline
        self.helm = helm
        self.actor = actor
        self.run_id = run_id
        self.now = now
        self.settings = settings
        self.wait = wait
        self.cluster = cluster

    def helm_seconds(self):
        """helm's --timeout: the ``timeout`` option, cut to what is left of the cluster's deadline."""
        timeout = self.settings.timeout
        return max(1, int(self.deadline.cap(timeout))) if self.deadline is not None else timeout


class Action:
    """What every action is: its ``name``, whether it ``needs_helm``, its Event reason (``event_reason``), its
    words for each outcome, ``execute`` (the writes and helm calls) and ``verify`` (read the cluster again,
    raise VerifyError unless it shows the outcome; return the outcome in words)."""

    name = None
    needs_helm = True
    event_reason = None

    def planned(self, item):
        """What it will do, in words (report-only runs list it)."""
        raise NotImplementedError

    def would(self, item):
        """Check mode's words."""
        return "would " + self.planned(item)

    def execute(self, ctx, item):
        raise NotImplementedError

    def verify(self, ctx, item):
        raise NotImplementedError

    def done(self, after):
        """The outcome once verified (``after``: what ``verify`` said)."""
        return "%s: now %s" % (self.name, after)

    def storage_failure(self, item, err, where):
        """``(state, reason)`` for a StorageError while acting: before any write it is a refusal, after one a
        failure (the claim stays: the next run resumes it)."""
        if item.written:
            return STATE_FAILED, ("%s: revision %s was claimed (marked failed) but then: %s; the next run resumes it"
                                  % (where, item.revision, err.describe()))
        if err.conflict:
            return STATE_REFUSED, ("%s: the record changed since it was read (a live Helm operation?); skipped, "
                                   "nothing written" % where)
        if err.forbidden:
            return STATE_REFUSED, "%s: the server refused the write: %s; nothing written" % (where, err.describe())
        if err.status == 0:
            # no answer (dropped, timed out): the server may still apply the write
            return STATE_FAILED, ("%s: %s; no answer to the write, so it may have landed or not; nothing else was "
                                  "done (run again to see)" % (where, err.describe()))
        return STATE_FAILED, "%s: %s; nothing written" % (where, err.describe())

    def helm_failure(self, item, err, where, kept):
        """The reason for a helm step that failed or did not do its job (``err``: HelmError or VerifyError);
        ``kept``: why the claim could not be released (None when it was, or there was none)."""
        what = "helm %s failed: %s" % (self.name, err) if isinstance(err, HelmError) else str(err)
        if not item.written:
            return "%s: %s" % (where, what)
        return "%s: revision %s was marked failed (unlocked) and claimed, but %s; %s" % (
            where, item.revision, what, claim_outcome(item, kept))

    def event(self, state, item, text, actor, run_id):
        """``(reason, message)`` of the Event for this outcome (``state``: a report state)."""
        cls = item.classification
        if state == STATE_REMEDIATED:
            return self.event_reason, "%s (run %s) remediated release %s, revision %s (%s): %s" % (
                actor, run_id, cls.name, cls.revision, cls.status, text)
        if state == STATE_REFUSED:
            return "Refused", "%s (run %s): %s" % (actor, run_id, text)
        return "RemediationFailed", "%s (run %s): %s" % (actor, run_id, text)


def claim_outcome(item, kept):
    """What happens next to a claimed release whose helm step failed: ``kept`` is release_claim's error."""
    if kept is None:
        return "the next run resumes it"
    # e.g. the API server went away with helm: the claim holds (unless helm wrote a newer revision first)
    mark = claims.read_claim((item.obj or {}).get("metadata"))
    error = kept.describe() if isinstance(kept, StorageError) else str(kept)
    until = rfc3339(mark.until) if mark else "?"
    return ("its claim could not be released (%s): while revision %s is the newest, runs leave the release alone "
            "until the claim expires at %s, then resume it" % (error, item.revision, until))


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def describe(was_status, revision, age_seconds, actor, now, then=None):
    """The description written into the record we mark failed (``helm history`` shows it)."""
    text = "helmops.unstick: marked failed by %s at %s; was %s (revision %s, stuck %ss)" % (
        actor, rfc3339(now), was_status, revision, age_seconds)
    if then:
        text += "; " + then
    return text


def unlocked_object(obj, release, description, now, driver):
    """The record as it must be once marked failed: a new dict, input untouched."""
    new = dict(obj, metadata=dict(obj["metadata"]), data=dict(obj.get("data") or {}))
    new["metadata"]["labels"] = failed_labels(new["metadata"].get("labels"), now)
    new["data"]["release"] = encode_payload(mark_failed(release, description, rfc3339(now)), driver)
    return new


def write(ctx, item, obj):
    """The conditional write (resourceVersion precondition) of ``obj``; ``item`` follows it."""
    item.obj = ctx.storage.replace(obj)
    item.written = True
    return item.obj


def claim(ctx, item, action, target, then):
    """Mark the stuck record failed and claim it for ``action`` (one conditional write)."""
    cls = item.classification
    description = describe(cls.status, cls.revision, cls.age_seconds, ctx.actor, ctx.now, then)
    new = unlocked_object(item.obj, item.release, description, ctx.now, ctx.storage.driver)
    mark = claims.new_claim(action, cls.revision, target, ctx.actor, ctx.run_id, ctx.now,
                            ctx.settings.timeout)
    return write(ctx, item, claims.with_claim(new, mark))


def release_claim(ctx, item):
    """After helm failed or did not do its job: let the next run resume at once. Best effort: returns
    None, or the error that kept the claim in place (it then holds until its ``until``)."""
    mark = claims.read_claim((item.obj or {}).get("metadata"))
    if mark is None:
        return None
    try:
        write(ctx, item, claims.with_claim(item.obj, mark._replace(until=int(ctx.now))))
    except Exception as err:  # noqa: BLE001 - never hide the real error behind this one
        return err
    return None


def newest(ctx, item):
    """The release's newest revision as the cluster shows it now (metadata), or None."""
    metas = [meta_from_object(o) for o in ctx.storage.revisions(item.namespace, item.name)]
    item.seen_after = metas   # the release as the verification saw it (what its backups note; no second list)
    return max(metas, key=lambda m: m.revision) if metas else None


def shows(meta):
    return "revision %s %s" % (meta.revision, meta.status) if meta else "no record of the release"


def verify_rolled_back(ctx, item, target, helm_said):
    """The cluster shows a new newest revision, deployed, rolled back to ``target`` (release.state.rollback_landed)."""
    now = item.outcome = newest(ctx, item)
    description = None
    if now is not None and now.revision > item.revision and now.status == "deployed":
        record = ctx.storage.get(item.namespace, now.object_name)
        release = decode_payload((record.get("data") or {}).get("release"), ctx.storage.driver)
        item.outcome_summary = safe_summary(release)
        description = (release.get("info") or {}).get("description")
    problem = rollback_landed(item.revision, now, description, target)
    if problem is not None:
        raise VerifyError("helm rollback reported success (%s) but cluster %s shows %s"
                          % (helm_said, ctx.cluster, problem))
    return now.revision


def verify_uninstalled(ctx, item, helm_said):
    now = item.outcome = newest(ctx, item)
    if now is not None and now.status != "uninstalled":
        raise VerifyError("helm uninstall reported success (%s) but cluster %s still shows %s"
                          % (helm_said, ctx.cluster, shows(now)))


def said(output):
    """helm's last line, for messages."""
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    return repr(lines[-1][:120]) if lines else "no output"
