# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One cluster session: the one place where options become a way to reach a cluster.

``open_session`` resolves the connection options into the one ``Connection``, and builds on it the API
client, the release storage (Secret/ConfigMap records, or Helm's SQL database), the helm CLI bound to the
same connection (so helm acts only where we scanned), the deadline, the Event sink, the liveness prober and
the in-cluster backup store. Every module, the batch engine and the EDA event source reach their cluster
through it. Nothing here is process-wide: the batch engine opens one session per cluster, in threads, and the
event source one per watch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.events import EventSink
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import HelmCli
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.probe import Prober
from ansible_collections.helmops.unstick.plugins.module_utils.common.deadline import Deadline
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure, HelmError
from ansible_collections.helmops.unstick.plugins.module_utils.storage.backups import BackupStore
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import Database
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.releases import SqlReleaseStorage

#: the storage drivers whose records are Kubernetes objects (Events, liveness and cluster backups need them)
OBJECT_KINDS = {"secret": "Secret", "configmap": "ConfigMap"}


class HelmGate:
    """helm for the actions that need it, checked once: ``problem`` says why not."""

    def __init__(self, helm=None, problem=None):
        self.helm = helm
        self.problem = problem
        self._checked = helm is None

    def ready(self):
        if not self._checked:
            self._checked = True
            try:
                self.helm.check()
            except HelmError as err:
                self.problem = "helm_binary: %s" % err
        return self.problem is None and self.helm is not None


def helm_path(binary):
    """``helm_binary`` as a path: as given when it names one, else found on PATH (or None)."""
    if os.sep in binary:
        return binary
    from ansible.module_utils.common.process import get_bin_path
    try:
        return get_bin_path(binary)
    except ValueError:
        return None


def helm_gate(conn, driver, binary, storage=None):
    """helm bound to ``conn`` (and, for the sql driver, to the same database as ``storage``), or a gate
    whose ``problem`` says why helm cannot be used. Not checked yet: ``HelmGate.ready`` runs helm once."""
    if binary is None:
        return HelmGate()
    path = helm_path(binary)
    if not path:
        return HelmGate(problem="helm_binary: %r is not on PATH" % binary)
    if conn.helm_unsupported:
        return HelmGate(problem="the connection cannot be given to helm: %s" % conn.helm_unsupported)
    if storage is None:
        return HelmGate(HelmCli(path, conn, driver))
    return HelmGate(HelmCli(path, conn, driver, storage_environment=storage.helm_environment(),
                            storage_secrets=storage.secrets()))


class ClusterSession:
    """What a run on one cluster uses: ``storage`` (a storage.interface.ReleaseStore), ``cluster`` (its
    name in messages), ``actor`` (who the run is by), ``gate`` (helm), ``deadline`` (cluster_timeout),
    ``events`` (the Event sink, or None), ``prober`` (liveness requests, or None), ``backup_store`` (cluster
    backups, or None); ``conn`` and ``api`` when it was opened from options (None for a storage given as is,
    as the tests and benchmarks give one)."""

    def __init__(self, storage, cluster, actor, gate=None, deadline=None, events=None, prober=None,
                 backup_store=None, conn=None, api=None):
        self.storage = storage
        self.cluster = cluster
        self.actor = actor
        self.gate = gate if gate is not None else HelmGate()
        self.deadline = deadline if deadline is not None else Deadline(None)
        self.events = events
        self.prober = prober
        self.backup_store = backup_store
        self.conn = conn
        self.api = api

    @property
    def server(self):
        return self.conn.server if self.conn is not None else None

    @property
    def helm(self):
        return self.gate.helm

    def public(self):
        """Values that are no secret even when they sit in a no_log option (a kubeconfig dict): the
        cluster's name, URL and context."""
        return set(v for v in (self.cluster, self.server, self.conn.context if self.conn else None) if v)

    def close(self):
        """Give the session's sockets back (a batch holds hundreds of clusters)."""
        self.storage.close()
        close = getattr(self.api.client, "close", None) if self.api is not None else None
        if close:   # kubernetes' ApiClient.close exists from client 12 on
            close()


def kubeconfig_paths(connection_options):
    """A kubeconfig *path* is no secret (an in-memory kubeconfig dict is): messages may name it."""
    kubeconfig = connection_options.get("kubeconfig")
    if not isinstance(kubeconfig, str):
        return set()
    return set([kubeconfig] + kubeconfig.split(os.pathsep))


def resolve(connection_options, environ=None):
    """The ``Connection`` a session is opened on, nothing built and no request made: for a caller that checks
    every cluster's options first and opens its sessions later (``open_session(..., conn=)``; the EDA source
    opens one in each watch's thread). Raises ConnectionFailure."""
    return connection.resolve(connection_options, environ)


def open_session(connection_options, driver, request_timeout, actor, cluster_timeout=None, sql=None,
                 helm_binary=None, events=True, liveness=True, environ=None, conn=None):
    """The ``ClusterSession`` for these options; no request is made yet. ``connection_options``: the
    module's connection options (``cluster.connection.AUTH_ARG_SPEC``), or ``conn``, what ``resolve`` made of
    them; ``sql``: the sql driver's ``SqlConnection`` (else the records are Kubernetes objects of ``driver``);
    ``helm_binary``: None when the caller never runs helm. Raises ConnectionFailure (its ``cluster`` set once
    the connection resolved)."""
    deadline = Deadline(cluster_timeout)
    conn = conn if conn is not None else resolve(connection_options, environ)
    try:
        api = KubeApi(conn.api_client(retries=connection.client_retries()), timeout=request_timeout,
                      deadline=deadline)
    except ConnectionFailure as err:
        err.cluster = conn.label
        raise
    if sql is not None:
        storage = SqlReleaseStorage(Database(sql, request_timeout, deadline))
    else:
        storage = ReleaseStorage(api, driver)
    session = ClusterSession(storage, conn.label, actor, helm_gate(conn, driver, helm_binary, storage),
                             deadline, conn=conn, api=api)
    if sql is None:   # the records are objects: Events, liveness checks and cluster backups go through the API
        _object_services(session, api, driver, events, liveness)
    return session


def session_of(storage, cluster, actor, gate=None, deadline=None, events=True, liveness=True):
    """A session around a storage already at hand (tests, benchmarks): Secret/ConfigMap records bring their API
    for Events, liveness checks and cluster backups, as ``open_session`` gives them."""
    session = ClusterSession(storage, cluster, actor, gate, deadline)
    if isinstance(storage, ReleaseStorage):
        _object_services(session, storage.api, storage.driver, events, liveness)
    return session


def _object_services(session, api, driver, events, liveness):
    """What needs the records to be Kubernetes objects: the Event sink, the liveness prober, cluster backups."""
    session.events = EventSink(api, OBJECT_KINDS[driver], session.actor, session.cluster) if events else None
    session.prober = Prober(api) if liveness else None
    session.backup_store = BackupStore(api, driver)
