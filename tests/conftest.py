# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by every test directory."""

import pytest

import pgserver
import tools
from localkube import LocalKube


def pytest_configure(config):
    # the real helm CLIs are part of what the project claims: missing ones fail the run, never skip
    missing = tools.missing_tools() + pgserver.missing_binaries()   # + PostgreSQL's server (the sql driver)
    if missing:
        raise pytest.UsageError("\n".join(missing))


@pytest.fixture
def helm_bin(request):
    """The real helm CLI a test runs: helm 4 unless parametrized with ``indirect=True`` by
    "helm3" / "helm4" (``tools.both_helms``)."""
    return str(tools.REAL_HELMS[getattr(request, "param", "helm4")])


@pytest.fixture
def real_helm(kube, helm_bin):
    """The test's real helm CLI against the kube fixture's cluster."""
    from realhelm import RealHelm
    return RealHelm(kube.kubeconfig, helm_bin)


@pytest.fixture
def helm_env(kube):
    """Real Helm (SDK) against the kube fixture's cluster."""
    import helmfix
    return helmfix.HelmEnv(kube.kubeconfig)


@pytest.fixture
def module_args(kube, helm_bin):
    """helm_unstick arguments for the kube fixture's cluster, with the test's real helm CLI."""

    def _args(**extra):
        args = {"kubeconfig": kube.kubeconfig, "helm_binary": helm_bin, "timeout": "60s"}
        args.update(extra)
        return args
    return _args


@pytest.fixture
def kube(tmp_path):
    """A fresh local API server per test (port 0, parallel-safe), with a
    kubeconfig for it at ``kube.kubeconfig``."""
    with LocalKube() as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        yield server
