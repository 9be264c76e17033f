# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a place that keeps Helm release records offers the runner, declared once.

Two implementations: ``storage.kube.ReleaseStorage`` (Secret or ConfigMap records through the API) and
``storage.sql.releases.SqlReleaseStorage`` (Helm's SQL driver). Records travel as Kubernetes-shaped dicts
(``metadata`` with name, namespace, labels, resourceVersion; ``data.release``) whatever the storage, so the
release model (``release/records.py``) reads them the same way. Every failure is a
``common.errors.StorageError``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

#: Helm statuses that hold no lock: the scan lists every record whose status is not one of these
SETTLED = ("deployed", "superseded", "failed", "uninstalled")


class ScanResult:
    """What ``ReleaseStore.scan`` found."""

    def __init__(self):
        self.items = []          # metadata-only records of odd releases (pending, unknown, claimed)
        self.server_date = None  # the server's time of the first answer, as an HTTP date
        self.forbidden = []      # (namespace, message) that could not be read
        self.requests = 0


class ReleaseStore:
    """The storage interface. ``driver``: "secret", "configmap" or "sql". Reads return records as dicts;
    ``replace`` is always conditional on the record as read (a conflict raises a StorageError, status 409)."""

    driver = None

    # -- reads -------------------------------------------------------------
    def scan(self, namespaces=None, keep_namespace=lambda ns: True):
        """A ScanResult: metadata of every record that is not settled, or is our claim, in scope."""
        raise NotImplementedError

    def revisions(self, namespace, release):
        """Metadata-only records of every revision of one release."""
        raise NotImplementedError

    def revisions_at(self, namespace, release):
        """``(revisions(namespace, release), the server's time as an HTTP date)``, in one answer."""
        raise NotImplementedError

    def histories(self, namespace, releases):
        """``{release: revisions}`` for releases of one namespace; a storage that can read them together does.
        A release it could not read is left out (the caller reads it alone)."""
        return dict((name, self.revisions(namespace, name)) for name in releases)

    def get(self, namespace, name):
        """One whole record (with ``data.release``)."""
        raise NotImplementedError

    def records(self, namespace, release):
        """Every whole record of one release."""
        raise NotImplementedError

    def namespace_exists(self, namespace):
        """True or False, or None when this storage cannot tell."""
        return None

    def release_exists(self, release, namespaces=None):
        """Whether any record of ``release`` exists (in ``namespaces``); None when this storage cannot tell."""
        return None

    # -- writes --------------------------------------------------------------
    def replace(self, obj):
        """Write ``obj`` back only if the record is still as it was read; returns the record as written."""
        raise NotImplementedError

    # -- what helm needs to reach the same records, and the end of the session ---
    def helm_environment(self):
        """Environment variables helm needs to reach these records (beyond the cluster connection)."""
        return {}

    def secrets(self):
        """Values in ``helm_environment`` that no message may show."""
        return ()

    def close(self):
        """Give back what the storage holds open."""
