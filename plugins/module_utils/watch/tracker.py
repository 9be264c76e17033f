# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the event source (extensions/eda/plugins/event_source/stuck_releases.py) decides, without I/O.

A ``ReleaseTracker`` is fed one cluster's release records as a watch sees them (a list, then ADDED,
MODIFIED and DELETED events of ``PartialObjectMetadata``) and keeps, for each release, its revisions'
statuses and creation times. Helm's lock is the newest revision being pending, so only the newest
revision counts: when it is pending, it is due ``min_age`` after its record was created (the server's
``creationTimestamp``: helm copies ``modifiedAt`` from the previous revision, so that label never dates
a pending record). ``due(now)`` hands out each due revision once; a newer revision, a settled status or
a deleted record withdraws it; a rewrite of the same record (same uid: labels patched, still pending)
is the same stuck revision and is not handed out again. ``replace`` takes a relist (after 410 Gone) and
keeps what was already handed out for records that are still the same, so a relist neither loses nor
doubles an event. Times are epoch seconds on the API server's clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

import sys

from ansible_collections.helmops.unstick.plugins.module_utils.release.records import RecordError, meta_from_object, object_name
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import PENDING_STATUSES as PENDING

#: a revision due for remediation: what an event says (never values: the watch reads metadata only)
StuckRevision = namedtuple("StuckRevision", [
    "namespace", "release", "revision", "status", "record", "created_at", "age"])

#: one record as the tracker keeps it (tens of thousands per cluster: small; the uid only of pending ones, the
#: only ones whose identity matters)
_Record = namedtuple("_Record", ["status", "created_at", "uid"])


class ReleaseTracker:
    """The newest revision of each release of one cluster, and when a pending one is due."""

    def __init__(self, min_age):
        self.min_age = min_age
        self._releases = {}   # (namespace, release) -> {revision: _Record}
        self._due = {}        # (namespace, release) -> (deadline, revision): newest pending, not handed out
        self._handed = {}     # (namespace, release) -> (revision, uid): handed out and still newest pending
        #: the newest resourceVersion seen (list, events, bookmarks): where a watch resumes
        self.resource_version = None
        #: records that could not be read (name, reason), newest last; a bounded list for logs
        self.problems = []

    # -- input ----------------------------------------------------------------
    def replace(self, items, resource_version):
        """A fresh list: forget what is gone, keep what was handed out for records still newest and pending."""
        handed = self._handed
        self._releases, self._due, self._handed = {}, {}, {}
        for obj in items:
            self._put(obj)
        for key in list(self._releases):
            if key in handed:
                self._handed[key] = handed[key]
            self._settle(key)
        self.resource_version = resource_version

    def apply(self, event_type, obj):
        """One watch event (ADDED, MODIFIED, DELETED or BOOKMARK)."""
        meta = (obj or {}).get("metadata") or {}
        if meta.get("resourceVersion"):
            self.resource_version = meta["resourceVersion"]
        if event_type == "BOOKMARK":
            return
        if event_type == "DELETED":
            key, meta = self._identify(obj)
            if key is None:
                return
            revisions = self._releases.get(key) or {}
            revisions.pop(meta.revision, None)
            if not revisions:
                self._releases.pop(key, None)
            self._settle(key)
            return
        key = self._put(obj)
        if key is not None:
            self._settle(key)

    # -- output ---------------------------------------------------------------
    def next_deadline(self):
        """When the next pending revision becomes due (server time), or None."""
        return min(deadline for deadline, _revision in self._due.values()) if self._due else None

    def due(self, now):
        """The revisions due at ``now`` (server time), each handed out once."""
        out = []
        for key, (deadline, revision) in sorted(self._due.items()):
            if deadline > now:
                continue
            record = self._releases[key][revision]
            out.append(StuckRevision(key[0], key[1], revision, record.status, object_name(key[1], revision),
                                     record.created_at,
                                     max(0, int(now - record.created_at))))
            self._handed[key] = (revision, record.uid)
            del self._due[key]
        return out

    def pending(self):
        """(namespace, release, revision) of every newest revision that is pending and not yet due."""
        return sorted((key[0], key[1], revision) for key, (_deadline, revision) in self._due.items())

    def __len__(self):
        return len(self._releases)

    # -- inside ---------------------------------------------------------------
    def _identify(self, obj):
        try:
            meta = meta_from_object(obj)
        except RecordError as err:
            name = ((obj or {}).get("metadata") or {}).get("name")
            self.problems = (self.problems + [(name, str(err))])[-20:]
            return None, None
        return (meta.namespace or "", meta.release), meta

    def _put(self, obj):
        key, meta = self._identify(obj)
        if key is None:
            return None
        status = sys.intern(meta.status) if meta.status else None
        uid = (((obj.get("metadata") or {}).get("uid")) or meta.object_name) if status in PENDING else None
        record = _Record(status, meta.created_at, uid)
        self._releases.setdefault(key, {})[meta.revision] = record
        return key

    def _settle(self, key):
        """Recompute whether the newest revision of ``key`` is waiting to become due."""
        revisions = self._releases.get(key)
        self._due.pop(key, None)
        if not revisions:
            self._handed.pop(key, None)
            return
        revision = max(revisions)
        record = revisions[revision]
        if record.status not in PENDING or record.created_at is None:
            self._handed.pop(key, None)
            return
        if self._handed.get(key) == (revision, record.uid):
            return
        self._handed.pop(key, None)
        self._due[key] = (record.created_at + self.min_age, revision)
