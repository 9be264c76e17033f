# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""open_session: the one place that turns connection options into everything a run on the cluster uses, bound to
one connection, without a request."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest
import yaml

from ansible_collections.helmops.unstick.plugins.module_utils.cluster import session as session_mod
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.events import EventSink
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.probe import Prober
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
from ansible_collections.helmops.unstick.plugins.module_utils.storage.backups import BackupStore
from ansible_collections.helmops.unstick.plugins.module_utils.storage.interface import ReleaseStore
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import conninfo
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.releases import SqlReleaseStorage


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example:6443"}}],
        "users": [{"name": "ops", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "ops"}}]}))
    return str(path)


@pytest.fixture
def fake_helm(tmp_path):
    path = tmp_path / "helm"
    path.write_text("#!/bin/sh\necho v3.21.4\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_one_connection_for_the_api_the_storage_helm_and_the_events(kubeconfig, fake_helm):
    session = session_mod.open_session({"kubeconfig": kubeconfig}, "configmap", 30, "ops@ctl", cluster_timeout=600,
                                       helm_binary=fake_helm, environ={})
    assert (session.cluster, session.server, session.actor) == ("prod", "https://prod.example:6443", "ops@ctl")
    assert isinstance(session.storage, ReleaseStorage) and isinstance(session.storage, ReleaseStore)
    assert session.storage.api is session.api and session.storage.driver == "configmap"
    assert session.api.deadline is session.deadline and session.deadline.seconds == 600
    assert session.helm.connection is session.conn and session.helm.driver == "configmap"
    assert isinstance(session.events, EventSink) and session.events.kind == "ConfigMap"
    assert isinstance(session.prober, Prober) and isinstance(session.backup_store, BackupStore)
    assert session.public() == {"prod", "https://prod.example:6443"}
    session.close()


def test_a_session_opened_later_on_a_connection_resolved_first(kubeconfig):
    """resolve reads the options once (the kubeconfig may be gone by the time the session opens): the EDA source
    checks every cluster first and opens a session per watch, in its thread."""
    conn = session_mod.resolve({"kubeconfig": kubeconfig}, environ={})
    os.remove(kubeconfig)
    session = session_mod.open_session(None, "secret", 30, "eda", events=False, liveness=False, conn=conn)
    assert session.conn is conn and (session.cluster, session.server) == ("prod", "https://prod.example:6443")
    assert session.api.client.configuration.host == "https://prod.example:6443"
    with pytest.raises(ConnectionFailure, match="missing or not readable"):
        session_mod.resolve({"kubeconfig": kubeconfig}, environ={})


def test_what_is_not_asked_for_is_not_built(kubeconfig):
    session = session_mod.open_session({"kubeconfig": kubeconfig}, "secret", 30, "ops@ctl", events=False,
                                       liveness=False, environ={})
    assert session.helm is None and session.gate.problem is None and not session.gate.ready()
    assert (session.events, session.prober) == (None, None) and session.backup_store is not None
    missing = session_mod.open_session({"kubeconfig": kubeconfig}, "secret", 30, "ops@ctl",
                                       helm_binary="/nowhere/helm-" + os.urandom(4).hex(), environ={})
    assert missing.helm is not None and not missing.gate.ready() and "/nowhere/" in missing.gate.problem


def test_the_sql_driver_stores_rows_and_hands_helm_the_same_database(kubeconfig, fake_helm):
    sql = conninfo.resolve("postgres://helm:s3cret@db.example:5432/helm", {})
    session = session_mod.open_session({"kubeconfig": kubeconfig}, "sql", 30, "ops@ctl", sql=sql,
                                       helm_binary=fake_helm, environ={})
    assert isinstance(session.storage, SqlReleaseStorage) and isinstance(session.storage, ReleaseStore)
    assert (session.events, session.prober, session.backup_store) == (None, None, None)
    assert session.helm.storage_environment["HELM_DRIVER"] == "sql" and "s3cret" in session.helm.storage_secrets


def test_a_connection_that_cannot_be_made_names_the_cluster_when_it_is_known(tmp_path, kubeconfig):
    with pytest.raises(ConnectionFailure) as err:
        session_mod.open_session({"kubeconfig": str(tmp_path / "none")}, "secret", 30, "ops@ctl", environ={})
    assert err.value.cluster is None and "is missing or not readable" in str(err.value)
    with pytest.raises(ConnectionFailure) as err:
        session_mod.open_session({"kubeconfig": kubeconfig, "client_cert": str(tmp_path / "no.pem"),
                                  "client_key": str(tmp_path / "no.key")}, "secret", 30, "ops@ctl", environ={})
    assert err.value.cluster == "prod"


def test_a_storage_at_hand_brings_its_api_when_its_records_are_objects(kubeconfig):
    opened = session_mod.open_session({"kubeconfig": kubeconfig}, "secret", 30, "ops@ctl", environ={})
    around = session_mod.session_of(opened.storage, "c1", "me@here", liveness=False)
    assert isinstance(around.events, EventSink) and around.prober is None and around.backup_store.kind == "Secret"
    bare = session_mod.session_of(ReleaseStore(), "c1", "me@here")
    assert (bare.events, bare.prober, bare.backup_store, bare.helm) == (None, None, None, None)
