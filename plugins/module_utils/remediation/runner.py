# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The helm_unstick run: scan → classify → plan → guard → act → verify → report.

Everything that talks to the cluster or to helm is passed in (``storage``,
``helm``), and what an action does is the action's own business (the
registry in ``actions/``), so this file holds only the order of things and
the bookkeeping that keeps one bad release from stopping the others. Every
release ends in exactly one entry of ``releases`` with its ``state``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.helmops.unstick.plugins.module_utils.remediation import actions
from ansible_collections.helmops.unstick.plugins.module_utils.report import release_report as report
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import tidy
from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions.base import (
    ActionContext,
    release_claim,
)
from ansible_collections.helmops.unstick.plugins.module_utils.undo.backup_run import BackupError, RunBackups
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import (
    KIND_ERROR,
    KIND_HEALTHY,
    KIND_IN_PROGRESS,
    KIND_POSSIBLY_RUNNING,
    KIND_STUCK,
    classify_release,
    with_liveness,
)
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError, StorageError, VerifyError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import ClusterSession
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import (
    GuardError,
    check_guard,
    plan_action,
)
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    RecordError,
    decode_payload,
    meta_from_object,
    parse_http_date,
    safe_summary,
)
from ansible_collections.helmops.unstick.plugins.module_utils.common.scope import in_scope


def _has_glob(patterns):
    return any(ch in p for p in patterns or [] for ch in "*?[")


class Run:
    """One run on one cluster's session: ``settings`` (options.Settings, the only options it reads) and
    ``session`` (cluster.session.ClusterSession: storage, helm, deadline, Events, liveness, backups)."""

    def __init__(self, settings, session, check_mode=False, diff=False, clock=time.time):
        self.settings = settings
        self.session = session
        self.storage = session.storage
        self.cluster = session.cluster
        self.actor = session.actor
        self.gate = session.gate
        self.deadline = session.deadline
        self.events = session.events
        self.prober = session.prober
        self.check_mode = check_mode
        self.diff = diff
        self.clock = clock
        self.run_id = settings.run_id or uuid.uuid4().hex[:12]
        self.warnings = []
        self.releases = []
        self.before, self.after = {}, {}
        self.metas = {}   # (namespace, release) -> its RevisionMetas as scanned (what a backup must cover)
        self.backups = RunBackups(settings, self.cluster, self.storage, session.backup_store, self.run_id,
                                  self.actor)
        self.liveness_requests = []   # requests the liveness checks made, per release looked at

    def _where(self, namespace, name):
        return "release %s/%s on cluster %s" % (namespace, name, self.cluster)

    def _problem(self, reason, entry=None, **fields):
        self.releases.append(report.error_entry(entry, reason=reason, **fields))

    # -- scan -------------------------------------------------------------
    def _scan(self):
        namespaces = list(self.settings.namespaces)
        exclude = self.settings.exclude_namespaces

        def keep(ns):
            return in_scope(ns, namespaces, exclude)
        if namespaces and not _has_glob(namespaces):
            scan = self.storage.scan(namespaces, keep)
        else:
            scan = self.storage.scan(None, keep)
        now = self._server_time(scan.server_date)
        for ns, message in scan.forbidden:
            self._problem("cannot read namespace %s: %s" % (ns, message), namespace=ns)
        self._typo_warnings(scan.items, namespaces)
        return scan.items, now

    def _server_time(self, date):
        """The API server's time from an answer's Date header (this host's clock, with a warning, without one)."""
        now = parse_http_date(date) if date else None
        if now is None:
            now = self.clock()
            self.warnings.append("cluster %s sent no Date header; ages use this host's clock" % self.cluster)
        return now

    def _typo_warnings(self, items, namespaces):
        """A named namespace that does not exist, or a release name with no record in scope, would read as
        "nothing stuck": say so (globs are patterns, matching nothing is normal for them)."""
        seen_ns = set(((i.get("metadata") or {}).get("namespace")) for i in items)
        seen_rel = set((((i.get("metadata") or {}).get("labels")) or {}).get("name") for i in items)
        plain_ns = [ns for ns in namespaces if not _has_glob([ns])]
        for ns in plain_ns:
            if ns not in seen_ns and self.storage.namespace_exists(ns) is False:
                self.warnings.append("cluster %s: namespace '%s' (namespaces) does not exist" % (self.cluster, ns))
        for name in self.settings.releases:
            if name not in seen_rel and not _has_glob([name]) and self.storage.release_exists(
                    name, plain_ns if plain_ns and len(plain_ns) == len(namespaces) else None) is False:
                self.warnings.append("cluster %s: release '%s' (releases) has no Helm record in the namespaces "
                                     "scanned" % (self.cluster, name))

    def _candidates(self, items):
        found = set()
        for item in items:
            meta = item.get("metadata") or {}
            try:
                rev = meta_from_object(item)
            except RecordError as err:
                self._problem("unreadable record %s: %s" % (meta.get("name"), err),
                              namespace=meta.get("namespace"), name=meta.get("name"))
                continue
            if in_scope(rev.release, self.settings.releases, self.settings.exclude_releases):
                found.add((rev.namespace, rev.release))
        return sorted(found)

    def _prefetch(self, candidates):
        """Histories of the candidates, one list per namespace (``storage.histories``)
        instead of one per release; releases left out are read alone in _history."""
        by_namespace = {}
        for namespace, name in candidates:
            by_namespace.setdefault(namespace, []).append(name)
        found = {}
        for namespace, names in by_namespace.items():
            if len(names) < 2:   # one release: the same single list as before
                continue
            for name, items in self.storage.histories(namespace, names).items():
                found[(namespace, name)] = items
        return found

    def _history(self, namespace, release, items=None):
        metas = []
        if items is None:
            items = self.storage.revisions(namespace, release)
        for item in items:
            try:
                metas.append(meta_from_object(item))
            except RecordError as err:
                record = (item.get("metadata") or {}).get("name")
                self._problem("unreadable record %s: %s" % (record, err), namespace=namespace, name=release)
        return metas

    def _load_newest(self, cls, metas):
        newest = [m for m in metas if m.revision == cls.revision][0]
        obj = self.storage.get(cls.namespace, newest.object_name)
        release = decode_payload((obj.get("data") or {}).get("release"), self.storage.driver)
        return obj, release

    def scan(self):
        """The releases to act on (stuck or unfinished), as (classification, obj, release, summary)."""
        items, now = self._scan()
        found = []
        candidates = self._candidates(items)
        histories = self._prefetch(candidates)
        for namespace, name in candidates:
            where = self._where(namespace, name)
            cls = None
            try:
                metas = self._history(namespace, name, histories.get((namespace, name)))
                if not metas:
                    continue
                cls = classify_release(metas, now, self.settings.min_age)
                if cls.kind == KIND_HEALTHY:
                    continue
                entry = report.release_entry(cls)
                if cls.kind == KIND_ERROR:
                    self._problem("%s: %s" % (where, cls.reason), entry)
                    continue
                obj, release = self._load_newest(cls, metas)
                self.metas[(namespace, name)] = metas
                cls = self._liveness(cls, obj, release, now)
            except StorageError as err:
                self._problem("%s: %s" % (where, err.describe()), namespace=namespace, name=name)
                continue
            except RecordError as err:
                self._problem("%s: corrupt record (revision %s): %s" % (where, cls.revision, err), entry)
                continue
            summary = safe_summary(release)
            entry = report.release_entry(cls, summary=summary)
            if summary.get("status") != cls.status:
                self._problem("%s: status label says %s but the record says %s; left alone"
                              % (where, cls.status, summary.get("status")), entry)
                continue
            if cls.kind == KIND_IN_PROGRESS:
                self.releases.append(entry)
                continue
            if cls.kind == KIND_POSSIBLY_RUNNING:
                self.releases.append(entry)
                if self.settings.remediate and not self.check_mode:
                    self._event(cls, obj, "Refused", "%s left %s alone: %s" % (self.actor, where, cls.reason), now)
                continue
            found.append(Release(cls, obj, release, summary, now=now))
        return found, now

    def _liveness(self, cls, obj, release, now):
        """A stuck release with signs of a live operation becomes possibly_running (classify.with_liveness)."""
        # before acting only: a report-only run stays as cheap as its scan (check mode plans an action: checked)
        if cls.kind != KIND_STUCK or self.prober is None or not self.settings.remediate:
            return cls
        probe = self.prober.probe(cls.namespace, release, now, self.settings.min_age)
        self.liveness_requests.append(probe.requests)
        for note in probe.unchecked:
            self.warnings.append("cluster %s: release %s/%s: liveness check not made: %s"
                                 % (self.cluster, cls.namespace, cls.name, note))
        return with_liveness(cls, probe.evidence)

    def _event(self, cls, obj, reason, message, now, action=None):
        if self.events is not None:
            self.events.emit(cls.namespace, obj or {}, reason, message, now, action)

    def scan_release(self, namespace, name, min_age=None):
        """One named release, read in one scan (the guarded upgrade's): its records' metadata (one list,
        whose answer also gives the server's time), then its newest record, whatever its state.
        ``classification`` is None when the release has no record. Raises StorageError or RecordError: a
        release that cannot be read cannot be judged."""
        items, date = self.storage.revisions_at(namespace, name)
        now = self._server_time(date)
        metas = [meta_from_object(item) for item in items]
        if not metas:
            return Release(None, now=now)
        cls = classify_release(metas, now, self.settings.min_age if min_age is None else min_age)
        if cls.kind == KIND_ERROR:
            return Release(cls, now=now)
        obj, release = self._load_newest(cls, metas)
        return Release(cls, obj, release, safe_summary(release), now=now)

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
    """One run over a storage already at hand (tests, benchmarks): ``params`` validated here, a session of
    ``storage`` alone (no Events, liveness checks or cluster backups: they need the API of an opened session)."""
    return run_session(validate(params, {}), ClusterSession(storage, cluster, actor, helm_gate, deadline),
                       check_mode, diff, clock)


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
