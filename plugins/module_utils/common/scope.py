# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Namespace / release filtering and Kubernetes selectors for Helm records.

Pure helpers, no I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch

DRIVERS = ("secret", "configmap")
PENDING_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback")
SECRET_TYPE = "helm.sh/release.v1"


def _patterns(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def in_scope(name, includes=None, excludes=None):
    """True when ``name`` matches an include glob and no exclude glob.

    Globs are shell-style and case-sensitive (``fnmatch.fnmatchcase``:
    ``*``, ``?``, ``[seq]``). Empty/``None`` ``includes`` means everything.
    Excludes win over includes. A single string is treated as one pattern.
    """
    includes = _patterns(includes)
    excludes = _patterns(excludes)
    if includes and not any(fnmatch.fnmatchcase(name, p) for p in includes):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in excludes)


def server_label_selector(driver):
    """Base label selector for Helm's storage objects (``owner=helm``)."""
    if driver not in DRIVERS:
        raise ValueError("driver must be one of %s, got %r" % (", ".join(DRIVERS), driver))
    return "owner=helm"


def status_selector(statuses=PENDING_STATUSES):
    """Label selector for records with one of ``statuses`` (pending by default).

    Only finds candidates: whether a pending record is the newest revision
    still has to be checked against the release's full history
    (``release_selector``).
    """
    statuses = list(statuses)
    if not statuses:
        raise ValueError("statuses must not be empty")
    return "owner=helm,status in (%s)" % ",".join(statuses)


def release_selector(release):
    """Label selector for every revision of one release."""
    if not release:
        raise ValueError("release name must not be empty")
    return "owner=helm,name=%s" % release


def field_selector(driver):
    """Field selector narrowing Secrets to Helm's type; ``None`` for configmaps."""
    if driver not in DRIVERS:
        raise ValueError("driver must be one of %s, got %r" % (", ".join(DRIVERS), driver))
    return "type=%s" % SECRET_TYPE if driver == "secret" else None
