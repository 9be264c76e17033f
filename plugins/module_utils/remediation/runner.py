# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The helm_unstick run: scan (scan.py) → decide (plan.py) → act → verify → report.

Everything that talks to the cluster or to helm comes with the session, and what an action does and says is
the action's own business (the registry in ``actions/``), so this file holds only the order of the guarded
write path and the bookkeeping that keeps one bad release from stopping the others. Every release ends in
exactly one entry of ``releases`` with its ``state``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import session_of
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError, StorageError, VerifyError
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import RecordError
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import actions, tidy
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions.base import (
    ActionContext,
    release_claim,
)
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import (
    GuardError,
    check_guard,
    plan_action,
)
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.scan import Scanner
from ansible_collections.helmops.unstick.plugins.module_utils.report import release_report as report
from ansible_collections.helmops.unstick.plugins.module_utils.undo.backup_run import BackupError, RunBackups


class Run(Scanner):
    """One run on one cluster's session: the scan (``Scanner``), then each release acted on through its action.
    ``settings`` (options.Settings) is the only options it reads."""

    def __init__(self, settings, session, check_mode=False, diff=False, clock=time.time):
        super(Run, self).__init__(settings, session, check_mode, clock)
        self.gate = session.gate
        self.deadline = session.deadline
        self.diff = diff
        self.run_id = settings.run_id or uuid.uuid4().hex[:12]
        self.before, self.after = {}, {}
        self.backups = RunBackups(settings, self.cluster, self.storage, session.backup_store, self.run_id,
                                  self.actor)

    # -- act --------------------------------------------------------------
    def _note(self, item, after):
        name = "%s/%s" % (item.namespace, item.name)
        self.before[name] = "%s (revision %s)" % (item.classification.status, item.revision)
        self.after[name] = after

    def act(self, item, ctx, refused=None, plan=None):
        """Remediate one release (a release.model.Release as scanned) and report it in ``releases``; returns
        it, its ``plan`` None when nothing could be planned. ``plan``: carry out this Plan instead of the one
        ``strategy``/``pending_install`` choose (the guard's rescue restores a failed revision). The action
        owns every word and Event of the outcome; this keeps the order of the guarded write path."""
        cls, summary = item.classification, item.summary
        where = self._where(cls.namespace, cls.name)
        try:
            plan = plan or plan_action(cls, self.settings.strategy, self.settings.pending_install)
        except ValueError as err:
            self._problem("%s: %s" % (where, err), report.release_entry(cls, summary=summary))
            return item
        action = actions.get(plan.action)
        item.plan, item.now = plan, ctx.now

        def entry(state, message=None, changed=False, **extra):
            out = report.release_entry(cls, plan=plan, summary=summary, state=state,
                                       action_result={"changed": changed, "message": message,
                                                      "failed": state == report.STATE_FAILED})
            out.update(extra)
            return out

        if not self.settings.remediate:
            self.releases.append(entry(cls.kind, action.planned(item)))
            return item
        if refused:
            self.releases.append(entry(report.STATE_REFUSED, reason=refused, refused_by="max_remediations"))
            self._event(cls, item.obj, *action.event(report.STATE_REFUSED, item, refused, self.actor, self.run_id),
                        now=ctx.now, action=action.name)
            return item
        if action.needs_helm and not self.gate.ready():
            self.releases.append(entry(report.STATE_ERROR, reason="%s: %s needs the helm CLI: %s; nothing written"
                                       % (where, action.name, self.gate.problem)))
            return item
        if self.check_mode:
            self.releases.append(entry(report.STATE_WOULD_REMEDIATE, "check mode: " + action.would(item), True))
            self._note(item, action.would(item))
            return item
        if self.deadline.expired():
            self.releases.append(entry(report.STATE_ERROR, reason="%s: not attempted: %s; nothing written"
                                       % (where, self.deadline.describe())))
            return item
        backup = None
        try:
            if self.backups.enabled:
                metas = self.metas.get((cls.namespace, cls.name))
                if metas is None:
                    metas = self._history(cls.namespace, cls.name)
                backup, saved = self.backups.save(item, metas, ctx.now, cls.reason or cls.kind)
            action.execute(ctx, item)
            after = action.verify(ctx, item)
            after += self._tidy(ctx, item)
        except StorageError as err:
            item.seen_after = None   # not what the verification saw: the backups list the release again
            state, reason = action.storage_failure(item, err, where)
            self.releases.append(entry(state, changed=item.written, reason=reason, backup=backup,
                                       **self._finish(item, action, state, reason)))
            if item.written:
                self._note(item, "failed (revision %s); %s unfinished" % (cls.revision, action.name))
            return item
        except (HelmError, VerifyError) as err:
            kept = release_claim(ctx, item)
            item.seen_after = None
            reason = action.helm_failure(item, err, where, kept)
            self.releases.append(entry(report.STATE_FAILED, changed=item.written, reason=reason, backup=backup,
                                       **self._finish(item, action, report.STATE_FAILED, reason)))
            self._note(item, "failed (revision %s); %s unfinished" % (cls.revision, action.name))
            return item
        except BackupError as err:
            reason = "%s: %s; nothing written" % (where, err)
            if err.forbidden:   # RBAC refused the backup's write: the remediation is refused, as a record's would be
                self.releases.append(entry(report.STATE_REFUSED, reason=reason))
            else:
                self._problem(reason, entry(report.STATE_ERROR))
            return item
        message = action.done(after)
        self.releases.append(entry(report.STATE_REMEDIATED, message, True, backup=backup,
                                   **self._finish(item, action, report.STATE_REMEDIATED, message)))
        self._note(item, after)
        return item

    def _tidy(self, ctx, item):
        """tidy_history after a rollback that landed: the words added to the outcome."""
        if not self.settings.tidy_history or item.plan.action not in tidy.TIDIED_AFTER \
                or item.plan.target_revision is None:
            return ""
        metas = self.metas.get((item.namespace, item.name)) or []
        item.seen_after = None   # tidy writes after the verification: the backups must list the release again
        try:
            done = tidy.tidy(ctx, item, metas)
        except (StorageError, RecordError) as err:   # the rollback stands; only the cosmetic part is left undone
            words = err.describe() if isinstance(err, StorageError) else str(err)
            self.warnings.append("%s: tidy_history: %s" % (self._where(item.namespace, item.name), words))
            return "; tidy_history not done: %s" % words
        return "; marked older pending revision(s) %s failed (tidy_history)" % ", ".join(map(str, done)) \
            if done else ""

    def _finish(self, item, action, state, text):
        """After an action: note the release's records on its backups, send the Event; the entry's extra keys."""
        extra = {"run_id": self.run_id}
        if item.written:
            self.backups.finish(item)
        if item.backups:
            extra["cluster_backups"] = [b["metadata"]["name"] for b in item.backups]
        reason, message = action.event(state, item, text, self.actor, self.run_id)
        self._event(item.classification, item.obj, reason, message, item.now, action.name)
        return extra

    def context(self, now):
        """What this run's actions may use; ``now``: the server's time of the scan."""
        return ActionContext(self.storage, self.gate.helm, self.actor, self.run_id, now, self.settings,
                             self.settings.wait, self.cluster, self.deadline)

    def remediate(self, found, now, refused=None):
        ctx = self.context(now)
        for item in found:
            self.act(item, ctx, refused)

    def result(self):
        for entry in self.releases:
            entry["cluster"] = self.cluster
        out = {"changed": any(e.get("changed") for e in self.releases), "cluster": self.cluster,
               "releases": self.releases, "run_id": self.run_id,
               "liveness_requests": sum(self.liveness_requests)}
        self.warnings.extend(self.backups.warnings + (self.events.warnings if self.events is not None else []))
        out.update(report.views(self.releases))
        out["summary"] = report.summarize(out["stuck"], out["in_progress"], out["remediated"], out["errors"])
        out["summary"]["states"] = report.count_states(self.releases)
        if self.diff and (self.before or self.after):
            out["diff"] = {"before": self.before, "after": self.after}
        return out


def run(params, storage, cluster, actor, helm_gate=None, check_mode=False, diff=False, clock=time.time,
        deadline=None):
    """One run over a storage already at hand (tests, benchmarks): ``params`` validated here, a session around
    ``storage`` (cluster.session.session_of)."""
    settings = validate(params, {})
    session = session_of(storage, cluster, actor, helm_gate, deadline, settings.events, settings.liveness_checks)
    return run_session(settings, session, check_mode, diff, clock)


def run_session(settings, session, check_mode=False, diff=False, clock=time.time):
    """Do one whole run on ``session`` and return the module result (raises StorageError if the scan fails):
    scan, decide (the state of each release, the action for it), act. No action starts after the deadline."""
    job = Run(settings, session, check_mode, diff, clock)
    found, now = job.scan()
    refused = None
    if settings.remediate:
        try:
            check_guard(len(found), settings.max_remediations)
        except GuardError as err:
            refused = "cluster %s: %s; nothing was changed" % (session.cluster, err)
    job.remediate(found, now, refused)
    job.backups.prune()
    out = job.result()
    out["warnings"] = job.warnings
    if refused:
        out["failed"] = True
        out["msg"] = refused
    return out
