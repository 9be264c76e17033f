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

import time

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import run_actor
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import session as session_mod
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure, StorageError
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import actions, runner


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


def no_log_values(no_log, runs):
    """The values to mask in a result: ``no_log`` (the options' no_log values) and every run's secrets, less every
    run's public values (a cluster's URL or kubeconfig path given in a no_log option is shown)."""
    secrets = set(no_log).union(*(run.secrets for run in runs))
    return secrets - set().union(*(run.public for run in runs))


def psycopg_missing():
    """The import error of psycopg (needed by the sql driver only, so imported only then), or None."""
    import traceback
    try:
        import psycopg  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        return traceback.format_exc()
    return None


def check_cluster(settings, check_mode=False, diff=False, actor=None):
    """Run helm_unstick on the cluster of ``settings`` (the module's options, validated by
    ``options.validate``); returns a ClusterRun. Never raises for a cluster's problem."""
    out = ClusterRun()
    started = time.time()
    out.public |= session_mod.kubeconfig_paths(settings.connection)
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
        # helm only when the run may act (checked before any request when the strategies need it; lazily
        # when only an unfinished remediation might)
        session = session_mod.open_session(
            settings.connection, settings.driver, settings.request_timeout, actor or run_actor(),
            cluster_timeout=settings.cluster_timeout, sql=settings.sql,
            helm_binary=settings.helm_binary if settings.remediate else None, events=settings.events,
            liveness=settings.liveness_checks)
    except ConnectionFailure as err:
        return out.fail(str(err), **({"cluster": err.cluster} if err.cluster else {}))
    # The cluster's name and URL are no secrets, even when they sit in a no_log kubeconfig
    # dict (whose every value Ansible would otherwise mask in all output).
    out.public |= session.public()
    cluster = session.cluster
    try:
        if actions.needs_helm([settings.strategy, settings.pending_install]) and settings.remediate:
            session.gate.ready()
        result = runner.run_session(settings, session, check_mode=check_mode, diff=diff)
    except StorageError as err:
        where_from = "" if settings.sql else " (%s)" % session.server   # a database error names the database
        return out.fail("cluster %s%s: cannot scan Helm releases: %s"
                        % (cluster, where_from, err.describe(session.server)), cluster=cluster,
                        server=session.server, **where)
    finally:
        session.close()
    result.update(where)
    result.update(server=session.server, actor=session.actor, duration_seconds=round(time.time() - started, 3))
    result["scan_warnings"] = result.pop("warnings", [])
    out.warnings.extend(result["scan_warnings"])
    out.result = result
    if result.get("failed"):
        return out
    if result["errors"]:
        problems = "; ".join(e["reason"] for e in result["errors"])
        if settings.fail_on_error:
            result.update(failed=True,
                          msg="cluster %s: %d problem(s): %s" % (cluster, len(result["errors"]), problems))
            return out
        out.warnings.append("cluster %s: %s" % (cluster, problems))
    return out
