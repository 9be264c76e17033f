# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The small error hierarchy every part of the collection raises.

``UnstickError`` is the root, so a caller that must keep going (one bad
release, one bad cluster) catches one class; the subclasses say what kind of
thing went wrong, and so how it is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class UnstickError(Exception):
    """Root of the collection's errors."""


class OptionError(UnstickError):
    """A bad option (or option combination): raised before any request or write."""

    def __init__(self, option, value, why):
        self.option = option
        self.value = value
        self.why = why
        super(OptionError, self).__init__("%s: %s" % (option, why))


class ConnectionFailure(UnstickError):
    """The connection options cannot be turned into a client (bad kubeconfig, unknown context, ...).
    ``cluster``: the cluster's name once the connection resolved, else None."""

    cluster = None


class HelmError(UnstickError):
    """The helm CLI failed, could not be used, or cannot be given this connection."""


class StorageError(UnstickError):
    """A failed request to where the release records are: the Kubernetes API (``cluster.api.ApiError``) or
    Helm's SQL database (``storage.sql.database.DatabaseError``). ``status`` is HTTP-like (0: no answer, so a
    write may or may not have landed; 409: the record changed since it was read; 401/403: refused)."""

    def __init__(self, status, reason, message, path=""):
        super(StorageError, self).__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.path = path

    @property
    def conflict(self):
        return self.status == 409

    @property
    def forbidden(self):
        return self.status in (401, 403)

    @property
    def not_found(self):
        return self.status == 404

    def describe(self, server=None):
        """The error in words for a message (``server``: the API server's URL, when known)."""
        return self.message


class VerifyError(UnstickError):
    """helm reported success, but the cluster does not show the expected outcome."""
