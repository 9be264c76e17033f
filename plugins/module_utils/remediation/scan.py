# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan step of a run: read the records of the releases in scope through the session's storage (metadata
first, whole newest records only of the releases not healthy), decide each release's state (release/state.py)
and return, as release.model.Release objects, the ones a run acts on (stuck, unfinished). The releases left
alone (in progress, possibly running, unreadable) are reported here; runner.py acts on the rest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError
from ansible_collections.helmops.unstick.plugins.module_utils.common.scope import in_scope
from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    RecordError,
    decode_payload,
    meta_from_object,
    parse_http_date,
    safe_summary,
)
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import (
    KIND_ERROR,
    KIND_HEALTHY,
    KIND_IN_PROGRESS,
    KIND_POSSIBLY_RUNNING,
    classify_release,
    judge_release,
)
from ansible_collections.helmops.unstick.plugins.module_utils.report import release_report as report


def _has_glob(patterns):
    return any(ch in p for p in patterns or [] for ch in "*?[")


class Scanner:
    """The scan step of a run on one cluster's session: ``settings`` (options.Settings, the only options it
    reads) and ``session`` (cluster.session.ClusterSession). Every release it leaves alone (in progress,
    possibly running, unreadable) gets its entry in ``releases``; ``scan`` returns the others."""

    def __init__(self, settings, session, check_mode=False, clock=time.time):
        self.settings = settings
        self.session = session
        self.storage = session.storage
        self.cluster = session.cluster
        self.actor = session.actor
        self.events = session.events
        self.prober = session.prober
        self.check_mode = check_mode
        self.clock = clock
        self.warnings = []
        self.releases = []
        self.metas = {}   # (namespace, release) -> its RevisionMetas as scanned (what a backup must cover)
        self.liveness_requests = []   # requests the liveness checks made, per release looked at

    def _where(self, namespace, name):
        return "release %s/%s on cluster %s" % (namespace, name, self.cluster)

    def _problem(self, reason, entry=None, **fields):
        self.releases.append(report.error_entry(entry, reason=reason, **fields))

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
                cls, obj, release = self.judge(metas, now, self.settings.min_age)
                if cls.kind == KIND_HEALTHY:
                    continue
                entry = report.release_entry(cls)
                if cls.kind == KIND_ERROR:
                    self._problem("%s: %s" % (where, cls.reason), entry)
                    continue
                if obj is None:
                    obj, release = self._load_newest(cls, metas)
                self.metas[(namespace, name)] = metas
            except StorageError as err:
                self._problem("%s: %s" % (where, err.describe()), namespace=namespace, name=name)
                continue
            except RecordError as err:
                # the newest record (read for the liveness checks or here) cannot be decoded: judged by age
                judged = cls or classify_release(metas, now, self.settings.min_age)
                self._problem("%s: corrupt record (revision %s): %s" % (where, judged.revision, err),
                              report.release_entry(judged))
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

    def judge(self, metas, now, min_age):
        """(classification, newest record object, its release) of one release by state.judge_release, the
        one decision: stuck, in progress or possibly running (the liveness checks run for every release
        found stuck, report-only runs included: a report calling a live upgrade stuck sends someone to break
        it). The newest record is read only for the checks: (cls, None, None) otherwise."""
        loaded = []

        def probe(cls):
            obj, release = self._load_newest(cls, metas)
            loaded.append((obj, release))
            if self.prober is None:
                return None
            found = self.prober.probe(cls.namespace, release, now, min_age)
            self.liveness_requests.append(found.requests)
            for note in found.unchecked:
                self.warnings.append("cluster %s: release %s/%s: liveness check not made: %s"
                                     % (self.cluster, cls.namespace, cls.name, note))
            return found.evidence
        cls = judge_release(metas, now, min_age, probe)
        obj, release = loaded[0] if loaded else (None, None)
        return cls, obj, release

    def _event(self, cls, obj, reason, message, now, action=None):
        if self.events is not None:
            self.events.emit(cls.namespace, obj or {}, reason, message, now, action)

    def scan_release(self, namespace, name, min_age=None, liveness=True):
        """One named release, read in one scan (the guarded upgrade's): its records' metadata (one list,
        whose answer also gives the server's time), then its newest record, whatever its state. Judged as
        every release is (``judge``); ``liveness`` False: by age alone (the guard's phase after its own
        upgrade, whose writes are no sign of someone else's operation).
        ``classification`` is None when the release has no record. Raises StorageError or RecordError: a
        release that cannot be read cannot be judged."""
        items, date = self.storage.revisions_at(namespace, name)
        now = self._server_time(date)
        metas = [meta_from_object(item) for item in items]
        if not metas:
            return Release(None, now=now)
        min_age = self.settings.min_age if min_age is None else min_age
        if liveness:
            cls, obj, release = self.judge(metas, now, min_age)
        else:
            cls, obj, release = classify_release(metas, now, min_age), None, None
        if cls.kind == KIND_ERROR:
            return Release(cls, now=now)
        if obj is None:
            obj, release = self._load_newest(cls, metas)
        return Release(cls, obj, release, safe_summary(release), now=now)
