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
    """The connection options cannot be turned into a client (bad kubeconfig, unknown context, ...)."""


class HelmError(UnstickError):
    """The helm CLI failed, could not be used, or cannot be given this connection."""


class VerifyError(UnstickError):
    """helm reported success, but the cluster does not show the expected outcome."""
