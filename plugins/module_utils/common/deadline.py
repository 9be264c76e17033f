# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One cluster's deadline (the ``cluster_timeout`` option): every API request, retry, back-off and helm
call of a run is cut to what is left of it, so a hung or flapping cluster costs at most that long.

Pure helper, no I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time


class Deadline:
    """``seconds`` from now on ``clock`` (monotonic); ``None`` seconds: no deadline."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.started = clock()

    def remaining(self):
        if self.seconds is None:
            return float("inf")
        return self.seconds - (self.clock() - self.started)

    def expired(self):
        return self.remaining() <= 0

    def cap(self, seconds):
        """``seconds``, or less if the deadline comes first (never below zero)."""
        return max(0.0, min(seconds, self.remaining()))

    def allows(self, seconds):
        """Whether ``seconds`` more (a back-off before a retry) still end before the deadline."""
        return self.remaining() > seconds

    def describe(self):
        return "cluster_timeout (%ss) reached" % _shown(self.seconds)


def _shown(seconds):
    return int(seconds) if seconds is not None and float(seconds).is_integer() else seconds
