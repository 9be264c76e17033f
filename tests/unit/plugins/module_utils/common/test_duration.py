# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import parse_duration


@pytest.mark.parametrize("value, expected", [
    (0, 0), (600, 600), (90.9, 90), ("0", 0), ("600", 600), (" 42 ", 42), ("1.5", 1),
    ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
    ("1d2h3m4s", 93784), ("1.5h", 5400), ("15M", 900), ("30m1h", 5400), ("0s", 0),
])
def test_valid(value, expected):
    result = parse_duration(value)
    assert result == expected
    assert isinstance(result, int) and not isinstance(result, bool)


@pytest.mark.parametrize("value, fragment", [
    (-1, "negative"), (-0.5, "negative"), ("-5m", "negative"), ("-10", "negative"),
    ("", "empty"), ("   ", "empty"), ("abc", "expected"), ("15x", "expected"), ("m", "expected"),
    ("1h 30m", "expected"), ("1.h", "expected"), ("5m5m", "more than once"), ("1w", "expected"),
    (None, "expected"), (True, "expected"), ([5], "expected"), (float("nan"), "finite"),
    (float("inf"), "finite"),
])
def test_invalid(value, fragment):
    with pytest.raises(ValueError) as exc:
        parse_duration(value)
    assert fragment in str(exc.value)
    assert "invalid duration" in str(exc.value)


def test_format_duration_reads_back_with_its_unit():
    from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import format_duration
    cases = {0: "0s", 5: "5s", 90: "1m30s", 900: "15m", 5400: "1h30m", 86400 + 60: "1d1m"}
    assert dict((s, format_duration(s)) for s in cases) == cases
    assert all(parse_duration(text) == s for s, text in cases.items())
