"""Fixtures shared by every test directory."""

import pytest

from localkube import LocalKube


@pytest.fixture
def helm_env(kube):
    """Real Helm (SDK) against the kube fixture's cluster."""
    import helmfix
    return helmfix.HelmEnv(kube.kubeconfig)


@pytest.fixture
def module_args(kube):
    """helm_unstick arguments for the kube fixture's cluster, with the test helm CLI."""
    from playbook_run import HELM_BIN

    def _args(**extra):
        args = {"kubeconfig": kube.kubeconfig, "helm_binary": str(HELM_BIN), "timeout": "60s"}
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
