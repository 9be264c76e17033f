# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-cluster backups of release records (``backup: cluster``): what a backup object looks like.

A backup is an object of the driver's kind (a Secret for the secret driver, a ConfigMap for the configmap
driver) in the release's namespace, holding the record's ``data`` exactly as the API returned it, so the
release values never leave the cluster. It carries our own type and labels, never ``owner=helm``, so Helm
(which lists ``owner=helm``) never sees it. Annotations say who, when, which run, which revision, why, the
record's own labels and annotations (to put them back exactly), the release's record names before the run
and, once the run is done, the resourceVersion of every record of the release after it: a restore goes ahead
only while the release still looks exactly like that.

Pure helpers, no I/O (``k8s/backups.py`` does the requests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time
from collections import namedtuple

PREFIX = "helmops.unstick/"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "helmops.unstick"
LABEL_RELEASE = PREFIX + "backup-of"
LABEL_REVISION = PREFIX + "revision"
LABEL_RUN = PREFIX + "run"
SECRET_TYPE = "helmops.unstick/backup"
#: every backup of a namespace (the managed-by label alone could be someone else's use of our name)
SELECTOR = "%s=%s,%s" % (MANAGED_BY, MANAGER, LABEL_RELEASE)
NAME_PREFIX = "helmops.unstick.backup."

A_RECORD = PREFIX + "record"
A_LABELS = PREFIX + "record-labels"
A_ANNOTATIONS = PREFIX + "record-annotations"
A_RESOURCE_VERSION = PREFIX + "record-resource-version"
A_TYPE = PREFIX + "record-type"
A_BY = PREFIX + "by"
A_AT = PREFIX + "at"
A_ACTION = PREFIX + "action"
A_WHY = PREFIX + "why"
A_CLUSTER = PREFIX + "cluster"
A_BEFORE = PREFIX + "before"
A_AFTER = PREFIX + "after"

Backup = namedtuple("Backup", [
    "name",            # the backup object's name
    "namespace",
    "release",
    "revision",        # int: the revision of the record it holds
    "run",             # the run that wrote it
    "at",              # epoch seconds (server time of the run's scan)
    "by", "action", "why",
    "record",          # the record's name
    "record_object",   # the record as it was (kind, apiVersion, metadata name/namespace/labels/annotations, data)
    "before",          # the release's record names when the run scanned it (list)
    "after",           # {record name: resourceVersion} once the run was done, else None
    "obj",             # the backup object itself (for its resourceVersion)
])


def _rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _epoch(text):
    try:
        return int(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None


def backup_name(release, revision, run):
    return "%s%s.v%d.%s" % (NAME_PREFIX, release, int(revision), run)


def backup_object(record, kind, release, revision, run, now, by, action, why, cluster, before):
    """The backup object of ``record`` (a dict as the API returned it), ``kind`` Secret or ConfigMap."""
    meta = record.get("metadata") or {}
    annotations = {
        A_RECORD: meta.get("name") or "",
        A_LABELS: json.dumps(meta.get("labels") or {}, sort_keys=True),
        A_ANNOTATIONS: json.dumps(meta.get("annotations") or {}, sort_keys=True),
        A_RESOURCE_VERSION: str(meta.get("resourceVersion") or ""),
        A_TYPE: record.get("type") or "",
        A_BY: by, A_AT: _rfc3339(now), A_ACTION: action, A_WHY: why, A_CLUSTER: cluster,
        A_BEFORE: json.dumps(sorted(before)),
    }
    obj = {"apiVersion": "v1", "kind": kind,
           "metadata": {"name": backup_name(release, revision, run), "namespace": meta.get("namespace"),
                        "labels": {MANAGED_BY: MANAGER, LABEL_RELEASE: release, LABEL_REVISION: str(int(revision)),
                                   LABEL_RUN: run},
                        "annotations": annotations},
           "data": dict(record.get("data") or {})}
    if kind == "Secret":
        obj["type"] = SECRET_TYPE
    return obj


def with_after(backup_obj, after):
    """A copy of the backup object saying what the release looked like after the run ({name: rv})."""
    new = dict(backup_obj, metadata=dict(backup_obj["metadata"]))
    new["metadata"]["annotations"] = dict(new["metadata"].get("annotations") or {},
                                          **{A_AFTER: json.dumps(after, sort_keys=True)})
    return new


def read_backup(obj):
    """The ``Backup`` an object holds, or None when it is not one of ours or is damaged."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    notes = meta.get("annotations") or {}
    if labels.get(MANAGED_BY) != MANAGER or not labels.get(LABEL_RELEASE):
        return None
    try:
        record_meta = {"name": notes[A_RECORD], "namespace": meta.get("namespace"),
                       "labels": json.loads(notes[A_LABELS])}
        record_annotations = json.loads(notes.get(A_ANNOTATIONS) or "{}")
        if record_annotations:
            record_meta["annotations"] = record_annotations
        before = json.loads(notes.get(A_BEFORE) or "[]")
        after = json.loads(notes[A_AFTER]) if notes.get(A_AFTER) else None
        revision = int(labels[LABEL_REVISION])
    except (KeyError, ValueError, TypeError):
        return None
    record = {"apiVersion": "v1", "kind": obj.get("kind"), "metadata": record_meta,
              "data": dict(obj.get("data") or {})}
    if notes.get(A_TYPE):
        record["type"] = notes[A_TYPE]
    return Backup(meta.get("name"), meta.get("namespace"), labels[LABEL_RELEASE], revision,
                  labels.get(LABEL_RUN) or "?", _epoch(notes.get(A_AT)), notes.get(A_BY), notes.get(A_ACTION),
                  notes.get(A_WHY), notes[A_RECORD], record, before, after, obj)


def runs_to_prune(items, keep):
    """Names of the backup objects (metadata of one release's backups) of all but the ``keep`` newest runs."""
    runs = {}
    for item in items:
        meta = item.get("metadata") or {}
        run = (meta.get("labels") or {}).get(LABEL_RUN) or "?"
        at = (meta.get("annotations") or {}).get(A_AT) or meta.get("creationTimestamp") or ""
        newest, names = runs.get(run, ("", []))
        runs[run] = (max(newest, at), names + [meta.get("name")])
    ordered = sorted(runs.items(), key=lambda kv: (kv[1][0], kv[0]), reverse=True)
    return sorted(name for entry in ordered[keep:] for name in entry[1][1])
