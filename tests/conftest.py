"""Fixtures shared by every test directory."""

import pytest

from localkube import LocalKube


@pytest.fixture
def kube(tmp_path):
    """A fresh local API server per test (port 0, parallel-safe), with a
    kubeconfig for it at ``kube.kubeconfig``."""
    with LocalKube() as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        yield server
