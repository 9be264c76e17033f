# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by every test directory."""

import sys
from pathlib import Path

import pytest

# `ansible-test units` runs pytest with its own config, not pytest.ini's pythonpath
SUPPORT = str(Path(__file__).resolve().parent / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

import pgserver  # noqa: E402 pylint: disable=wrong-import-position
import tools  # noqa: E402 pylint: disable=wrong-import-position
from localkube import LocalKube  # noqa: E402 pylint: disable=wrong-import-position

UNIT = Path(__file__).resolve().parent / "unit"


def only_unit_tests(config):
    """Every path pytest was given is under tests/unit (as `ansible-test units` gives them)."""
    paths = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path == UNIT or UNIT in path.parents for path in paths)


def pytest_configure(config):
    # unit tests use none of the real tools: ansible-test units runs them on a copy without .tools/
    if only_unit_tests(config):
        return
    # the real helm CLIs are part of what the project claims: missing ones fail the run, never skip
    # + PostgreSQL's server (the sql driver), ansible-rulebook and Java (Event-Driven Ansible)
    missing = tools.missing_tools() + pgserver.missing_binaries() + tools.missing_eda()
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
