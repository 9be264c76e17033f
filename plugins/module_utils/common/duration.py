# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse human durations such as ``15m`` or ``1h30m`` into whole seconds.

Pure helper, no I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_NUMBER_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")
_FULL_RE = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?[smhd])+$")


def _from_number(value, original):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError("invalid duration %r: must be a finite number" % (original,))
    if value < 0:
        raise ValueError("invalid duration %r: must not be negative" % (original,))
    return int(value)


def parse_duration(value):
    """Return ``value`` as a whole number of seconds (``int``).

    Accepted forms:

    * ``int`` / ``float`` (seconds; fractions are truncated),
    * a numeric string (``"90"``, ``"1.5"``),
    * one or more ``<number><unit>`` parts with unit ``s``, ``m``, ``h`` or
      ``d`` (``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1h30m"``,
      ``"1.5h"``). Units are case-insensitive; each unit may appear once.

    Raises ``ValueError`` with a message naming the offending value for
    anything else (``None``, booleans, negative values, empty strings,
    unknown units, garbage).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("invalid duration %r: expected seconds or a string like '15m' or '1h30m'" % (value,))
    if isinstance(value, (int, float)):
        return _from_number(value, value)
    if not isinstance(value, str):
        raise ValueError("invalid duration %r: expected seconds or a string like '15m' or '1h30m'" % (value,))

    text = value.strip().lower()
    if not text:
        raise ValueError("invalid duration %r: empty" % (value,))
    if text.startswith("-"):
        raise ValueError("invalid duration %r: must not be negative" % (value,))
    if _NUMBER_RE.match(text):
        return _from_number(float(text), value)
    if not _FULL_RE.match(text):
        raise ValueError(
            "invalid duration %r: expected seconds or <number><unit> parts with units s, m, h, d "
            "(for example '90s', '15m', '1h30m')" % (value,))

    total = 0.0
    seen = set()
    for number, unit in _PART_RE.findall(text):
        if unit in seen:
            raise ValueError("invalid duration %r: unit '%s' given more than once" % (value, unit))
        seen.add(unit)
        total += float(number) * UNIT_SECONDS[unit]
    return int(total)


def format_duration(seconds):
    """``seconds`` as the shortest duration ``parse_duration`` reads back with its unit: 900 -> ``15m``, 5400 ->
    ``1h30m``, 5 -> ``5s``, 0 -> ``0s`` (messages say ``min_age 15m``, never a bare ``900``)."""
    seconds = int(seconds)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNIT_SECONDS[unit])
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts)
