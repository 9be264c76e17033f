# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

import helmfix


@pytest.fixture
def env(kube):
    return helmfix.HelmEnv(kube.kubeconfig)
