# SPDX-License-Identifier: GPL-3.0-or-later
"""The real API server (tests/support/realkube) under the e2e tests of this directory: one kube-apiserver +
etcd per test worker, shared by the tests here, each test in namespaces of its own. The shared fixtures
(``module_args``, ``real_helm``, ``unstick``) run against it because ``kube`` is overridden here."""

import itertools

import pytest

from realkube import RealKube

_names = itertools.count(1)


@pytest.fixture(scope="session")
def real_server():
    with RealKube() as server:
        yield server


@pytest.fixture
def kube(real_server):
    return real_server


@pytest.fixture
def ns(real_server):
    """A namespace of this test's own, created on the real server: ``ns("shop")`` -> "shop-7"."""
    def _make(base):
        name = "%s-%d" % (base, next(_names))
        real_server.create_namespace(name)
        return name
    return _make
