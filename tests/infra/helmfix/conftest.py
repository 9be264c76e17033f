import pytest

import helmfix


@pytest.fixture
def env(kube):
    return helmfix.HelmEnv(kube.kubeconfig)
