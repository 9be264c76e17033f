# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for localkube tests: a fresh server per test (port 0, parallel-safe)."""
from __future__ import annotations

import pytest

from localkube.testing import make_api




@pytest.fixture
def api(kube):
    return make_api(kube)
