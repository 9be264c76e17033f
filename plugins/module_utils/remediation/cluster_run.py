# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster's whole helm_unstick run, without an AnsibleModule: connect, scan, remediate, and the result
as the module returns it (``failed`` and ``msg`` when the cluster could not be checked).

helm_unstick runs one of these per process; helm_unstick_batch runs many in threads (``batch.py``). So
nothing here may touch process-wide state: every cluster builds its own client ``Configuration``, helm
kubeconfig and Deadline, and reports through its own ``ClusterRun``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.common.deadline import Deadline
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError, KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import run_actor


class ClusterRun:
    """What one cluster's run gives back: ``result`` (the module's result), ``warnings`` (each a line),
    ``secrets`` (to mask in all output: the sql connection string's), ``public`` (values that are no
    secret even when they sit in a no_log option: the cluster's name, URL, kubeconfig path), and
    ``exception`` (a traceback to show, for a missing library)."""

    def __init__(self):
        self.result = {}
        self.warnings = []
        self.secrets = set()
        self.public = set()
        self.exception = None

    def fail(self, msg, **fields):
        self.result = dict(fields, failed=True, msg=msg)
        return self


def psycopg_missing():
    """The import error of psycopg (needed by the sql driver only, so imported only then), or None."""
    import traceback
    try:
        import psycopg  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        return traceback.format_exc()
    return None


def helm_path(binary):
    """``helm_binary`` as a path: as given when it names one, else found on PATH (or None)."""
    if os.sep in binary:
        return binary
    from ansible.module_utils.common.process import get_bin_path
    try:
        return get_bin_path(binary)
    except ValueError:
        return None


def helm_gate(params, conn, driver, storage):
    """helm for the actions that need it, bound to the one connection (checked before any request
    when the strategies need it; lazily when only an unfinished remediation might)."""
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import actions
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import HelmCli
    if not params["remediate"]:
        return runner.HelmGate()
    path = helm_path(params["helm_binary"])
    if not path:
        return runner.HelmGate(problem="helm_binary: %r is not on PATH" % params["helm_binary"])
    if conn.helm_unsupported:
        return runner.HelmGate(problem="the connection cannot be given to helm: %s" % conn.helm_unsupported)
    sql = getattr(storage, "db", None)   # the sql driver: helm reaches the same database
    gate = runner.HelmGate(HelmCli(path, conn, driver, storage_environment=getattr(storage, "helm_environment",
                                                                                   dict)(),
                                   storage_secrets=sql.conninfo.secrets if sql else ()))
    if actions.needs_helm([params["strategy"], params["pending_install"]]):
        gate.ready()
    return gate


def _kubeconfig_paths(params):
    """A kubeconfig *path* is no secret (an in-memory kubeconfig dict is): messages may name it."""
    kubeconfig = params.get("kubeconfig")
    if not isinstance(kubeconfig, str):
        return set()
    return set([kubeconfig] + kubeconfig.split(os.pathsep))


def check_cluster(params, settings, check_mode=False, diff=False, actor=None):
    """Run helm_unstick on the cluster of ``params`` (the module's params, already validated into
    ``settings`` by ``options.validate``); returns a ClusterRun. Never raises for a cluster's problem."""
    out = ClusterRun()
    started = time.time()
    deadline = Deadline(settings.cluster_timeout)
    out.public |= _kubeconfig_paths(params)
    where = {"storage_driver": settings.driver}
    if settings.sql:
        # a string from HELM_DRIVER_SQL_CONNECTION_STRING is no option Ansible masks by itself
        out.secrets |= set(settings.sql.secrets)
        where["database"] = settings.sql.label
        missing = psycopg_missing()
        if missing:
            from ansible.module_utils.basic import missing_required_lib
            out.exception = missing
            return out.fail(missing_required_lib("psycopg[binary] (storage_driver=sql)"), **where)
    try:
        conn = connection.resolve(params)
    except ConnectionFailure as err:
        return out.fail(str(err))
    # The cluster's name and URL are no secrets, even when they sit in a no_log kubeconfig
    # dict (whose every value Ansible would otherwise mask in all output).
    out.public |= set(v for v in (conn.label, conn.server, conn.context) if v)
    cluster = conn.label
    try:
        api = KubeApi(conn.api_client(retries=connection.client_retries()), timeout=settings.request_timeout,
                      deadline=deadline)
    except ConnectionFailure as err:
        return out.fail(str(err), cluster=cluster)
    if settings.sql:
        from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import Database
        from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.releases import SqlReleaseStorage
        storage = SqlReleaseStorage(Database(settings.sql, settings.request_timeout, deadline))
    else:
        from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
        storage = ReleaseStorage(api, settings.driver)
    actor = actor or run_actor()
    try:
        gate = helm_gate(params, conn, settings.driver, storage)
        result = runner.run(params, storage, cluster, actor, helm_gate=gate, check_mode=check_mode, diff=diff,
                            settings=settings, deadline=deadline)
    except ApiError as err:
        where_from = "" if settings.sql else " (%s)" % conn.server   # a database error names the database
        return out.fail("cluster %s%s: cannot scan Helm releases: %s"
                        % (cluster, where_from, runner.describe_api_error(err, conn.server)), cluster=cluster,
                        server=conn.server, **where)
    finally:
        if settings.sql:
            storage.db.close()
        close = getattr(api.client, "close", None)
        if close:   # a batch holds hundreds of clusters: give each one's sockets back when it is done
            close()
    result.update(where)
    result.update(server=conn.server, actor=actor, duration_seconds=round(time.time() - started, 3))
    result["scan_warnings"] = result.pop("warnings", [])
    out.warnings.extend(result["scan_warnings"])
    out.result = result
    if result.get("failed"):
        return out
    if result["errors"]:
        problems = "; ".join(e["reason"] for e in result["errors"])
        if params["fail_on_error"]:
            result.update(failed=True,
                          msg="cluster %s: %d problem(s): %s" % (cluster, len(result["errors"]), problems))
            return out
        out.warnings.append("cluster %s: %s" % (cluster, problems))
    return out
