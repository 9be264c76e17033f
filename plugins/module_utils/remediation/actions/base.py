# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every action is made of, and the steps they share.

An action owns its name, whether it needs helm, its messages (planned, check
mode, outcome), ``execute`` (the writes and helm calls) and ``verify`` (read
the cluster again and raise VerifyError unless it shows the outcome). The
runner only asks the registry (``actions/__init__.py``) for them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import VerifyError
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


class Remediation:
    """One release being remediated: its classification, the newest record as read,
    its decoded payload, the plan; ``obj`` follows our writes (the claim)."""

    def __init__(self, classification, obj, release, summary, plan):
        self.classification = classification
        self.obj = obj
        self.release = release
        self.summary = summary
        self.plan = plan
        self.written = False   # set once the cluster was changed (the claim or the unlock)
        self.outcome = None    # the newest revision (RevisionMeta) as the verification read it; None: no record
        self.outcome_summary = None   # its records.safe_summary, when the verification read the record
        self.seen_after = None   # the release's RevisionMetas as the verification listed them (newest())
        self.now = None          # the server's time of the run's scan
        self.backups = []        # the cluster backup objects written before the first write (backup_run.py)
        self.file_backups = []   # the same, to be written as a file bundle once the run is done

    @property
    def namespace(self):
        return self.classification.namespace

    @property
    def name(self):
        return self.classification.name

    @property
    def revision(self):
        return self.classification.revision


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
        raise VerifyError("helm rollback reported success (%s) but cluster %s shows %s" % (helm_said, ctx.cluster,
                                                                                      problem))
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
