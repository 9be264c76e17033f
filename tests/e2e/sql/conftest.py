# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the sql-driver tests: one real PostgreSQL per test module (started in well under a second,
tests/support/pgserver.py), a fresh database and owner role per test, real Helm on the ``sql`` driver
against it (the chart's objects in the test's localkube) and helm_unstick's arguments for it."""

import pytest

import helmfix
from pgserver import PgServer
from realhelm import RealHelm


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


@pytest.fixture
def sqldb(pg):
    return pg.new_database()


@pytest.fixture
def sql_env(kube, sqldb):
    """The real Helm SDK on the sql driver."""
    return helmfix.HelmEnv(kube.kubeconfig, driver="sql", sql_connection_string=sqldb.dsn)


@pytest.fixture
def sql_helm(kube, sqldb, helm_bin):
    """The test's real helm CLI on the sql driver, as a user runs it."""
    return RealHelm(kube.kubeconfig, helm_bin, driver="sql", sql_connection_string=sqldb.dsn)


@pytest.fixture
def sql_args(kube, sqldb, helm_bin):
    def _args(**extra):
        args = {"kubeconfig": kube.kubeconfig, "helm_binary": helm_bin, "timeout": "60s",
                "storage_driver": "sql", "sql_connection_string": sqldb.dsn}
        args.update(extra)
        return args
    return _args
