# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""helm_restore's run: find the backups, judge each release (undo_plan.py), write the records back, check them.

Every write is conditional: a delete or an update carries the resourceVersion the release had after the
remediation (so a Helm write in between makes the API server refuse it, 409), a re-created record cannot
replace one that exists. After the writes every restored record is read back and compared with its backup
(data and labels); the release's backups then note the state the restore left, so running it again says
"already restored" instead of refusing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
import uuid

from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup
from ansible_collections.helmops.unstick.plugins.module_utils.undo import plan as undo_plan
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_http_date

A_RESTORED = undo_plan.RESTORED


def _entry(plan, state, changed=False, **extra):
    out = {"namespace": plan.namespace, "name": plan.release, "run_id": plan.run,
           "backed_up_at": cluster_backup._rfc3339(plan.at) if plan.at else None, "state": state,
           "changed": changed, "reason": None, "message": None}
    out.update(extra)
    return out


class Undo:
    """helm_restore's run on one cluster's session (cluster.session.ClusterSession: its backup store, release
    storage, Event sink and actor). ``note(objects)``: where a restore notes what it left on the backups it
    used, when they were read from file bundles (default: the backup objects in the cluster)."""

    def __init__(self, session, check_mode=False, diff=False, note=None):
        self.store = session.backup_store     # storage.backups.BackupStore
        self.storage = session.storage        # the cluster's ReleaseStore
        self.note = note
        self.cluster = session.cluster
        self.actor = session.actor
        self.events = session.events
        self.check_mode = check_mode
        self.diff = diff
        self.id = uuid.uuid4().hex[:12]
        self.before, self.after = {}, {}
        self.warnings = []

    def _backups(self, namespaces, releases, run):
        release = releases[0] if releases and len(releases) == 1 else None
        items = []
        for namespace in namespaces or [None]:
            items.extend(self.store.list(namespace, release, run))
        return [b for b in (cluster_backup.read_backup(i) for i in items) if b is not None]

    def _current(self, namespace, release):
        """{record name: (resourceVersion, status label)} of the release now, and the server's time."""
        items, date = self.storage.revisions_at(namespace, release)
        out = {}
        for item in items:
            meta = item.get("metadata") or {}
            out[meta.get("name")] = (meta.get("resourceVersion"), (meta.get("labels") or {}).get("status"))
        return out, parse_http_date(date) if date else None

    def run(self, namespaces=None, releases=None, run=None, since=None, backups=None):
        """The result: ``releases`` (one entry per release considered) and ``notes``.
        ``backups``: Backup tuples read elsewhere (files); else the cluster's are listed."""
        if backups is None:
            backups = self._backups(namespaces, releases, run)
        if namespaces:
            backups = [b for b in backups if b.namespace in namespaces]
        chosen, notes = undo_plan.select(backups, releases, run, since)
        entries = []
        for (namespace, release), group in sorted(chosen.items()):
            entries.append(self._one(namespace, release, group))
        return {"changed": any(e["changed"] for e in entries), "releases": entries, "notes": notes,
                "restore_id": self.id}

    @staticmethod
    def _shows(current):
        if not current:
            return "no record"
        name = max(current, key=undo_plan._revision)
        return "newest revision %s (%s)" % (undo_plan._revision(name), current[name][1])

    def _one(self, namespace, release, group):
        where = "release %s/%s on cluster %s" % (namespace, release, self.cluster)
        try:
            current, now = self._current(namespace, release)
        except ApiError as err:
            plan = undo_plan.UndoPlan(namespace, release, group[0].run, group[0].at, None, [], [], [], False)
            return _entry(plan, "error", reason="%s: cannot read its records: API error %s: %s"
                          % (where, err.status, err.message))
        plan = undo_plan.plan(group, current)
        if plan.already:
            return _entry(plan, "restored", message="already restored (run %s)" % plan.run)
        if plan.refusal:
            self._event(namespace, group, "Refused", "%s did not restore %s: %s" % (self.actor, where, plan.refusal),
                        now)
            return _entry(plan, "refused", reason="%s: %s; nothing written" % (where, plan.refusal))
        deleted = [undo_plan._revision(pair[0]) for pair in plan.deletes]
        written = [pair[0].revision for pair in plan.puts] + [b.revision for b in plan.creates]
        what = "put back revision(s) %s as backed up by run %s%s" % (
            ", ".join(str(r) for r in sorted(written)), plan.run,
            "; delete revision(s) %s that run created" % ", ".join(str(r) for r in deleted) if deleted else "")
        key = "%s/%s" % (namespace, release)
        self.before[key] = self._shows(current)
        if self.check_mode:
            self.after[key] = "would " + what
            return _entry(plan, "would_restore", True, message="would " + what, deleted=deleted, restored=written)
        done = []
        try:
            for name, rv in plan.deletes:
                self.store.delete_record(namespace, name, rv)
                done.append("deleted revision %s" % undo_plan._revision(name))
            for backup, rv in plan.puts:
                self.store.replace_record(undo_plan.restored_record(backup, rv))
                done.append("put back revision %s" % backup.revision)
            for backup in plan.creates:
                self.store.create_record(undo_plan.restored_record(backup))
                done.append("re-created revision %s" % backup.revision)
            mismatch = self._check(namespace, group)
        except ApiError as err:
            reason = "%s: API error %s: %s after: %s" % (where, err.status, err.message, ", ".join(done) or "nothing")
            self._event(namespace, group, "RestoreFailed", "%s: %s" % (self.actor, reason), now)
            return _entry(plan, "failed", bool(done), reason=reason + "; the backups are left as they are")
        if mismatch:
            return _entry(plan, "failed", True, reason="%s: written back, but %s" % (where, mismatch))
        after = self._current(namespace, release)[0]
        self.after[key] = self._shows(after)
        self._note_restored(group, after)
        message = "restored: %s" % what
        self._event(namespace, group, "Restored", "%s (restore %s) %s: %s" % (self.actor, self.id, where, message), now)
        return _entry(plan, "restored", True, message=message, deleted=deleted, restored=written)

    def _check(self, namespace, group):
        """None when every saved record reads back as saved (data and labels), else what differs."""
        for backup in group:
            record = self.storage.get(namespace, backup.record)
            if not undo_plan.same_record(record, backup):
                return "revision %s does not read back as its backup" % backup.revision
        return None

    def _note_restored(self, group, after):
        state = dict((name, seen[0]) for name, seen in after.items())
        noted = []
        for backup in group:
            obj = dict(backup.obj, metadata=dict(backup.obj["metadata"]))
            obj["metadata"]["annotations"] = dict(obj["metadata"].get("annotations") or {},
                                                  **{A_RESTORED: json.dumps(state, sort_keys=True)})
            noted.append(obj)
        if self.note is not None:
            try:
                self.note(noted)
            except (OSError, IOError, ValueError) as err:
                self.warnings.append("release %s/%s: could not note the restore in its backup files (%s); running "
                                     "the restore again will refuse instead of saying it is done"
                                     % (group[0].namespace, group[0].release, err))
            return
        for backup, obj in zip(group, noted):
            try:
                self.store.replace(obj)
            except ApiError as err:
                self.warnings.append("backup %s/%s: could not note the restore (API error %s); running the "
                                     "restore again will refuse instead of saying it is done"
                                     % (backup.namespace, backup.name, err.status))

    def _event(self, namespace, group, reason, message, now):
        if self.events is None:
            return
        newest = max(group, key=lambda b: b.revision)
        record = {"metadata": {"name": newest.record}}
        self.events.emit(namespace, record, reason, message, now or time.time(), "restore")
