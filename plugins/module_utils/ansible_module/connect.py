# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module of the collection does to reach its cluster: the one ``Connection``, its API
client and the helm CLI bound to it, failing the module with a message that names the cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi


def connect(module, request_timeout, deadline=None):
    """(Connection, KubeApi) for the module's connection options; no request is made yet. ``deadline``:
    the cluster's Deadline, which every request and retry of the KubeApi ends by."""
    # A kubeconfig *path* is no secret (an in-memory kubeconfig dict is): messages may name it.
    kubeconfig = module.params.get("kubeconfig")
    if isinstance(kubeconfig, str):
        for path in [kubeconfig] + kubeconfig.split(os.pathsep):
            module.no_log_values.discard(path)
    try:
        conn = connection.resolve(module.params)
    except ConnectionFailure as err:
        module.fail_json(msg=str(err))
    # The cluster's name and URL are no secrets, even when they sit in a no_log kubeconfig
    # dict (whose every value Ansible would otherwise mask in all output).
    for value in (conn.label, conn.server, conn.context):
        module.no_log_values.discard(value)
    try:
        api = KubeApi(conn.api_client(retries=connection.client_retries()), timeout=request_timeout,
                      deadline=deadline)
    except ConnectionFailure as err:
        module.fail_json(msg=str(err), cluster=conn.label)
    return conn, api


def helm_path(module):
    """The ``helm_binary`` option as a path: as given when it names one, else found on PATH (or None)."""
    binary = module.params["helm_binary"]
    return binary if os.sep in binary else module.get_bin_path(binary)
