# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backups of release records before any change.

A backup is the object exactly as the API returned it, so it holds the
release's values (often passwords) in the clear once decoded: files are
created 0600 in directories 0700, and the docs say so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _part(text):
    cleaned = _UNSAFE.sub("_", str(text)).strip(".") or "_"
    return cleaned[:120]


def backup_path(backup_dir, cluster, namespace, release, revision, now):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return os.path.join(os.path.expanduser(backup_dir), _part(cluster), _part(namespace),
                        "%s.v%s.%s.json" % (_part(release), int(revision), stamp))


def _private_dirs(directory):
    """Create ``directory`` with every missing level 0700:
    ``os.makedirs(mode=)`` applies the mode to the last level only."""
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for level in reversed(missing):
        os.mkdir(level, 0o700)
        os.chmod(level, 0o700)   # whatever the umask


def write_backup(backup_dir, cluster, namespace, release, revision, obj, now):
    """Write ``obj`` to its backup file (never overwriting one); return the path."""
    path = backup_path(backup_dir, cluster, namespace, release, revision, now)
    _private_dirs(os.path.dirname(path))
    base, n = path[:-len(".json")], 1
    while os.path.exists(path):
        path = "%s.%d.json" % (base, n)
        n += 1
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(obj, handle, indent=1, sort_keys=True)
    return path


#: a run's bundle of one release: the backup objects of cluster_backup.py, with what the run left (a restore's
#: input); JSON, but not named *.json, so it is never taken for one record's backup file
BUNDLE_SUFFIX = ".restore-bundle"


def write_bundle(backup_dir, cluster, namespace, release, run, objects):
    """Write one run's backup objects of a release (0600, never overwriting); return the path."""
    directory = os.path.join(os.path.expanduser(backup_dir), _part(cluster), _part(namespace))
    _private_dirs(directory)
    path = os.path.join(directory, "%s.run-%s%s" % (_part(release), _part(run), BUNDLE_SUFFIX))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"items": objects}, handle, indent=1, sort_keys=True)
    return path


def cluster_dir_name(cluster):
    """The directory a cluster's backups go to under backup_dir."""
    return _part(cluster)


def read_bundles(backup_dir, cluster):
    """Every backup object of the bundles of ``cluster`` under ``backup_dir``."""
    root = os.path.join(os.path.expanduser(backup_dir), _part(cluster))
    out = []
    for directory, dummy, names in sorted(os.walk(root)):
        for name in sorted(names):
            if name.endswith(BUNDLE_SUFFIX):
                with open(os.path.join(directory, name)) as handle:
                    out.extend(json.load(handle).get("items") or [])
    return out


def note_in_bundles(backup_dir, cluster, objects):
    """Replace, in the bundles of ``cluster`` under ``backup_dir``, the backup objects named as ``objects`` are
    (a restore's note on them); each bundle is rewritten whole (0600) and renamed into place."""
    by_name = dict(((o.get("metadata") or {}).get("name"), o) for o in objects)
    root = os.path.join(os.path.expanduser(backup_dir), _part(cluster))
    for directory, dummy, names in sorted(os.walk(root)):
        for name in sorted(names):
            if not name.endswith(BUNDLE_SUFFIX):
                continue
            path = os.path.join(directory, name)
            with open(path) as handle:
                items = json.load(handle).get("items") or []
            names_in = [(i.get("metadata") or {}).get("name") for i in items]
            if not any(n in by_name for n in names_in):
                continue
            items = [by_name.get(n, i) for n, i in zip(names_in, items)]
            partial = path + ".writing"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"items": items}, handle, indent=1, sort_keys=True)
            os.rename(partial, path)
