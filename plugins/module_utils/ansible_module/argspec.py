# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of helm_unstick (documented in doc_fragments/helm_unstick_options.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import PENDING_INSTALL_ACTIONS, STRATEGIES

UNSTICK_ARG_SPEC = dict(
    namespaces=dict(type="list", elements="str", default=[]),
    exclude_namespaces=dict(type="list", elements="str", default=[]),
    releases=dict(type="list", elements="str", default=[]),
    exclude_releases=dict(type="list", elements="str", default=[]),
    storage_driver=dict(type="str", choices=["secret", "configmap", "sql"]),
    sql_connection_string=dict(type="str", no_log=True),
    min_age=dict(type="raw", default="15m"),
    remediate=dict(type="bool", default=True),
    strategy=dict(type="str", default="rollback", choices=list(STRATEGIES)),
    pending_install=dict(type="str", default="unlock", choices=list(PENDING_INSTALL_ACTIONS)),
    wait=dict(type="bool", default=True),
    timeout=dict(type="raw", default="5m"),
    helm_binary=dict(type="str", default="helm"),
    backup_dir=dict(type="path"),
    backup=dict(type="list", elements="str"),
    backup_keep=dict(type="int", default=5),
    events=dict(type="bool", default=True),
    liveness_checks=dict(type="bool", default=True),
    tidy_history=dict(type="bool", default=False),
    max_remediations=dict(type="int"),
    fail_on_error=dict(type="bool", default=True),
    request_timeout=dict(type="raw", default="60s"),
    cluster_timeout=dict(type="raw", default="30m"),
    run_id=dict(type="str"),
)


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(copy.deepcopy(UNSTICK_ARG_SPEC))
    return spec


#: the options of the modules that act on one named release (helm_guard, helm_release), documented in
#: doc_fragments/one_release_options.py
ONE_RELEASE_ARG_SPEC = dict(
    namespace=dict(type="str", required=True),
    release=dict(type="str", required=True),
    storage_driver=dict(type="str", choices=["secret", "configmap"]),
    helm_binary=dict(type="str", default="helm"),
    wait=dict(type="bool", default=True),
    timeout=dict(type="raw", default="5m"),
    backup_dir=dict(type="path"),
    request_timeout=dict(type="raw", default="60s"),
    cluster_timeout=dict(type="raw", default="30m"),
)


def one_release_argument_spec(**options):
    """The argument spec of a module acting on one named release: the connection, ONE_RELEASE_ARG_SPEC and
    ``options`` (its own)."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(copy.deepcopy(ONE_RELEASE_ARG_SPEC))
    spec.update(options)
    return spec
