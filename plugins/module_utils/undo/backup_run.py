# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's backups: before the first write to a release, save what the remediation may change (files under
``backup_dir``, objects in the release's namespace, or both); once it is done, note on the cluster backups
what the release looked like after it (what a restore compares with); keep ``backup_keep`` runs a release.

Which records a remediation may change: the newest (every action writes it); for the actions that run
``helm rollback`` also the ``deployed`` records below it (helm marks them superseded). File backups keep
holding the newest record only, as before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup
from ansible_collections.helmops.unstick.plugins.module_utils.undo.backup_files import write_backup, write_bundle
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError, UnstickError
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import meta_from_object
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.tidy import pending_below

#: the actions whose helm step rewrites the deployed records too (helm rollback supersedes them)
_HELM_ROLLBACKS = ("rollback", "resume")


class BackupError(UnstickError):
    """A backup could not be written: nothing else is done to the release. ``forbidden``: the server refused
    the backup's write (RBAC), so the remediation is refused, as a refused write of the record is."""

    def __init__(self, message, forbidden=False):
        super(BackupError, self).__init__(message)
        self.forbidden = forbidden


def records_at_stake(action, newest_revision, metas, tidy_history=False):
    """Revisions (besides the newest) whose records ``action`` may change: pure. ``tidy_history``: also the
    pending ones below it, which tidy.py marks failed after a rollback."""
    if action not in _HELM_ROLLBACKS:
        return []
    at_stake = [m.revision for m in metas if m.status == "deployed" and m.revision < newest_revision]
    if tidy_history:
        at_stake += [m.revision for m in pending_below(metas, newest_revision)]
    return sorted(set(at_stake))


class RunBackups:
    def __init__(self, settings, cluster, storage, store, run_id, actor):
        self.settings = settings
        self.cluster = cluster
        self.storage = storage
        self.store = store            # k8s.backups.BackupStore, or None (no cluster backups possible)
        self.run_id = run_id
        self.actor = actor
        self.warnings = []
        self.touched = {}   # namespace -> releases whose cluster backups this run wrote (pruned once, at the end)

    @property
    def enabled(self):
        return bool(self.settings.backup)

    def save(self, item, metas, now, why):
        """Back ``item`` up; returns ``(file path or None, [cluster backup objects])``. Raises BackupError."""
        cls = item.classification
        path, saved = None, []
        if "file" in self.settings.backup:
            try:
                path = write_backup(self.settings.backup_dir, self.cluster, cls.namespace, cls.name, cls.revision,
                                    item.obj, now)
            except (OSError, IOError) as err:
                raise BackupError("cannot write backup: %s" % err)
        item.backups, item.file_backups = [], []
        if self.store is None:
            return path, saved
        try:
            objs = self._backup_objects(item, metas, now, why)
            if "cluster" in self.settings.backup:
                saved = [self.store.create(obj) for obj in objs]
        except StorageError as err:
            raise BackupError("cannot write the backup in namespace %s (backup: %s): API error %s: %s"
                              % (cls.namespace, ", ".join(self.settings.backup), err.status, err.message),
                              forbidden=err.forbidden)
        item.backups = saved
        # files: the same objects, written once the run knows what it left (a restore from files needs that)
        item.file_backups = objs if "file" in self.settings.backup else []
        return path, saved

    def _backup_objects(self, item, metas, now, why):
        cls = item.classification
        by_revision = dict((m.revision, m) for m in metas)
        records = [(cls.revision, item.obj)]
        for revision in records_at_stake(item.plan.action, cls.revision, metas, self.settings.tidy_history):
            records.append((revision, self.storage.get(cls.namespace, by_revision[revision].object_name)))
        before = [m.object_name for m in metas]
        return [cluster_backup.backup_object(record, self.store.kind, cls.name, revision, self.run_id, now,
                                             self.actor, item.plan.action, why, self.cluster, before)
                for revision, record in records]

    def finish(self, item):
        """After the remediation (done or not, once something was written): note the release's records as
        they are now on its cluster backups, then prune old runs. Best effort: a failure is a warning (a
        restore then refuses, as it cannot tell what the run left)."""
        saved = item.backups
        files = item.file_backups
        if not saved and not files:
            return
        cls = item.classification
        try:
            metas = item.seen_after
            if metas is None:   # no verification saw it (a failure), or a write came after it (tidy_history)
                metas = [meta_from_object(obj) for obj in self.storage.revisions(cls.namespace, cls.name)]
            after = dict((meta.object_name, meta.resource_version) for meta in metas)
            item.backups = [self.store.replace(cluster_backup.with_after(b, after)) for b in saved]
            if files:
                write_bundle(self.settings.backup_dir, self.cluster, cls.namespace, cls.name, self.run_id,
                             [cluster_backup.with_after(b, after) for b in files])
        except (UnstickError, OSError, IOError) as err:   # StorageError included
            self.warnings.append("cluster %s: release %s/%s: the backups of run %s could not note the release's "
                                 "records after the remediation (%s); a restore of this run will refuse"
                                 % (self.cluster, cls.namespace, cls.name, self.run_id, err))
        if saved:
            self.touched.setdefault(cls.namespace, set()).add(cls.name)

    def prune(self):
        """Keep ``backup_keep`` runs of backups of each release this run backed up: one list a namespace."""
        for namespace, releases in sorted(self.touched.items()):
            try:
                by_release = {}
                for item in self.store.list(namespace, metadata_only=True):
                    labels = (item.get("metadata") or {}).get("labels") or {}
                    by_release.setdefault(labels.get(cluster_backup.LABEL_RELEASE), []).append(item)
                for release in sorted(releases):
                    for name in cluster_backup.runs_to_prune(by_release.get(release, []), self.settings.backup_keep):
                        self.store.delete(namespace, name)
            except ApiError as err:
                self.warnings.append("cluster %s: namespace %s: old backups not pruned (backup_keep %d): API error "
                                     "%s: %s" % (self.cluster, namespace, self.settings.backup_keep, err.status,
                                                 err.message))
        self.touched = {}
