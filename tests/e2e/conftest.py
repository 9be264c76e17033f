"""End-to-end fixtures: the module run through ansible-playbook against a
local API server holding releases that real Helm left stuck."""

import pytest

from playbook_run import HELM_BIN, run_module  # noqa: F401  (also used by tests)


@pytest.fixture
def unstick(tmp_path):
    def _run(args, **kw):
        return run_module(tmp_path, args, **kw)
    return _run


@pytest.fixture
def helm_env(kube):
    import helmfix
    return helmfix.HelmEnv(kube.kubeconfig)


@pytest.fixture
def module_args(kube):
    """Module arguments for the kube fixture's cluster, with the test helm CLI."""
    def _args(**extra):
        args = {"kubeconfig": kube.kubeconfig, "helm_binary": str(HELM_BIN), "timeout": "60s"}
        args.update(extra)
        return args
    return _args
