# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helm_unstick run: scan → classify → plan → guard → act → report.

Everything that talks to the cluster or to helm is passed in (``storage``,
``helm``), so this file holds only the order of things and the bookkeeping
that keeps one bad release from stopping the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils import report
from ansible_collections.helmops.unstick.plugins.module_utils.actions import (
    rollback as rollback_action,
    uninstall as uninstall_action,
    unlock as unlock_action,
)
from ansible_collections.helmops.unstick.plugins.module_utils.backup import write_backup
from ansible_collections.helmops.unstick.plugins.module_utils.classify import (
    KIND_ERROR,
    KIND_HEALTHY,
    KIND_IN_PROGRESS,
    classify_release,
)
from ansible_collections.helmops.unstick.plugins.module_utils.duration import parse_duration
from ansible_collections.helmops.unstick.plugins.module_utils.helm_cli import HelmError
from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.plan import (
    GuardError,
    check_guard,
    plan_action,
)
from ansible_collections.helmops.unstick.plugins.module_utils.records import (
    RecordError,
    decode_payload,
    meta_from_object,
    parse_http_date,
    safe_summary,
)
from ansible_collections.helmops.unstick.plugins.module_utils.scope import in_scope

NEEDS_HELM = ("rollback", "uninstall")


def _has_glob(patterns):
    return any(ch in p for p in patterns or [] for ch in "*?[")


class Run:
    def __init__(self, params, storage, cluster, actor, helm=None, helm_problem=None,
                 check_mode=False, diff=False, clock=time.time):
        self.p = params
        self.storage = storage
        self.cluster = cluster
        self.actor = actor
        self.helm = helm
        self.helm_problem = helm_problem
        self.check_mode = check_mode
        self.diff = diff
        self.clock = clock
        self.warnings = []
        self.stuck, self.in_progress, self.remediated, self.errors = [], [], [], []
        self.before, self.after = {}, {}

    def _problem(self, reason, entry=None, **fields):
        self.errors.append(report.error_entry(entry, reason=reason, **fields))

    # -- scan -------------------------------------------------------------
    def _scan(self):
        namespaces = self.p.get("namespaces") or []
        exclude = self.p.get("exclude_namespaces") or []

        def keep(ns):
            return in_scope(ns, namespaces, exclude)
        if namespaces and not _has_glob(namespaces):
            scan = self.storage.scan(namespaces, keep)
        else:
            scan = self.storage.scan(None, keep)
        now = parse_http_date(scan.server_date) if scan.server_date else None
        if now is None:
            now = self.clock()
            self.warnings.append("cluster %s sent no Date header; ages use this host's clock" % self.cluster)
        for ns, message in scan.forbidden:
            self._problem("cannot read namespace %s: %s" % (ns, message), namespace=ns)
        return scan.items, now

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
            if in_scope(rev.release, self.p.get("releases"), self.p.get("exclude_releases")):
                found.add((rev.namespace, rev.release))
        return sorted(found)

    def _prefetch(self, candidates):
        """Histories of the candidates, one list per namespace (``storage.histories``)
        instead of one per release; releases left out are read alone in _history."""
        batch = getattr(self.storage, "histories", None)
        by_namespace = {}
        for namespace, name in candidates:
            by_namespace.setdefault(namespace, []).append(name)
        found = {}
        for namespace, names in by_namespace.items():
            if batch is None or len(names) < 2:   # one release: the same single list as before
                continue
            for name, items in batch(namespace, names).items():
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

    def scan(self, min_age):
        items, now = self._scan()
        found = []
        candidates = self._candidates(items)
        histories = self._prefetch(candidates)
        for namespace, name in candidates:
            where = "release %s/%s on cluster %s" % (namespace, name, self.cluster)
            try:
                metas = self._history(namespace, name, histories.get((namespace, name)))
                if not metas:
                    continue
                cls = classify_release(metas, now, min_age)
                if cls.kind == KIND_HEALTHY:
                    continue
                entry = report.release_entry(cls)
                if cls.kind == KIND_ERROR:
                    self._problem("%s: %s" % (where, cls.reason), entry)
                    continue
                obj, release = self._load_newest(cls, metas)
            except ApiError as err:
                self._problem("%s: API error %s: %s" % (where, err.status, err.message),
                              namespace=namespace, name=name)
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
                self.in_progress.append(entry)
                continue
            found.append((cls, obj, release, summary))
        return found, now

    # -- act --------------------------------------------------------------
    def _act(self, cls, plan, obj, release, now):
        """Run one action; returns the action result dict for the entry."""
        then = None
        if plan.action == "rollback":
            then = "rolling back to revision %s" % plan.target_revision
        elif plan.action == "uninstall":
            then = "uninstalling the release"
        description = unlock_action.describe(cls.status, cls.revision, cls.age_seconds,
                                             self.actor, now, then)
        wait = self.p.get("wait", True)
        timeout = parse_duration(self.p.get("timeout") or "5m")
        if plan.action == "unlock":
            unlock_action.run(self.storage, obj, release, description, now)
            return "failed (revision %s)" % cls.revision
        if plan.action == "rollback":
            rollback_action.run(self.storage, self.helm, obj, release, description, now,
                                plan.target_revision, wait, timeout)
            return "deployed (rolled back to revision %s)" % plan.target_revision
        uninstall_action.run(self.storage, self.helm, obj, release, description, now, wait, timeout)
        return "uninstalled"

    def remediate(self, found, now):
        key = "%s/%s"
        for cls, obj, release, summary in found:
            plan = plan_action(cls, self.p["strategy"], self.p["pending_install"])
            entry = report.release_entry(cls, plan=plan, summary=summary)
            self.stuck.append(entry)
            if not self.p.get("remediate", True):
                continue
            where = "release %s/%s on cluster %s" % (cls.namespace, cls.name, self.cluster)
            name = key % (cls.namespace, cls.name)
            if plan.action in NEEDS_HELM and self.helm is None:
                self._problem("%s: %s needs the helm CLI: %s" % (where, plan.action, self.helm_problem), entry)
                continue
            done = dict(entry)
            if self.check_mode:
                done.update(changed=True, message="check mode: would %s" % plan.action)
                self.remediated.append(done)
                self.before[name] = "%s (revision %s)" % (cls.status, cls.revision)
                self.after[name] = "would %s" % plan.action
                continue
            try:
                if self.p.get("backup_dir"):
                    done["backup"] = write_backup(self.p["backup_dir"], self.cluster, cls.namespace,
                                                  cls.name, cls.revision, obj, now)
                after = self._act(cls, plan, obj, release, now)
            except ApiError as err:
                if err.conflict:
                    reason = ("%s: the record changed since it was read (a live Helm operation?); "
                              "skipped, nothing written" % where)
                elif err.status == 0:
                    # no answer (dropped, timed out): the server may still apply the write
                    reason = ("%s: API error 0: %s; no answer to the write, so it may have landed or not; "
                              "nothing else was done (run again to see)" % (where, err.message))
                else:
                    reason = "%s: API error %s: %s; nothing written" % (where, err.status, err.message)
                self._problem(reason, done)
                continue
            except HelmError as err:
                self._problem("%s: revision %s was marked failed (unlocked) but helm %s failed: %s"
                              % (where, cls.revision, plan.action, err), done, changed=True)
                self.before[name] = "%s (revision %s)" % (cls.status, cls.revision)
                self.after[name] = "failed (revision %s); helm %s failed" % (cls.revision, plan.action)
                continue
            except (OSError, IOError) as err:
                self._problem("%s: cannot write backup: %s; nothing written" % (where, err), done)
                continue
            done.update(changed=True, message="%s: now %s" % (plan.action, after))
            self.remediated.append(done)
            self.before[name] = "%s (revision %s)" % (cls.status, cls.revision)
            self.after[name] = after

    def result(self):
        for entry in self.stuck + self.in_progress + self.remediated + self.errors:
            entry["cluster"] = self.cluster
        changed = any(e.get("changed") for e in self.remediated + self.errors)
        out = {
            "changed": changed,
            "cluster": self.cluster,
            "stuck": self.stuck,
            "in_progress": self.in_progress,
            "remediated": self.remediated,
            "errors": self.errors,
            "summary": report.summarize(self.stuck, self.in_progress, self.remediated, self.errors),
        }
        if self.diff and (self.before or self.after):
            out["diff"] = {"before": self.before, "after": self.after}
        return out


def run(params, storage, cluster, actor, helm=None, helm_problem=None, check_mode=False,
        diff=False, clock=time.time):
    """Do one whole run and return the module result (raises ApiError if the scan fails)."""
    job = Run(params, storage, cluster, actor, helm, helm_problem, check_mode, diff, clock)
    min_age = parse_duration(params.get("min_age", "15m"))
    found, now = job.scan(min_age)
    guard = None
    if params.get("remediate", True):
        try:
            check_guard(len(found), params.get("max_remediations"))
        except GuardError as err:
            guard = "cluster %s: %s; nothing was changed" % (cluster, err)
            job.p = dict(params, remediate=False)
    job.remediate(found, now)
    out = job.result()
    out["warnings"] = job.warnings
    if guard:
        out["failed"] = True
        out["msg"] = guard
    return out
