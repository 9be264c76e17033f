import pytest

import helmfix
from localkube import LocalKube


@pytest.fixture
def kube(tmp_path):
    with LocalKube() as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        yield server


@pytest.fixture
def env(kube):
    return helmfix.HelmEnv(kube.kubeconfig)
