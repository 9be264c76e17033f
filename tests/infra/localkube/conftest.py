"""Fixtures for localkube tests: a fresh server per test (port 0, parallel-safe)."""
from __future__ import annotations

import pytest

from localkube import LocalKube
from localkube.testing import make_api


@pytest.fixture
def kube():
    with LocalKube() as k:
        yield k


@pytest.fixture
def api(kube):
    return make_api(kube)
