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
