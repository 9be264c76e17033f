# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The start every cluster-facing module of the collection shares: its AnsibleModule, failing with Ansible's
missing-library message when the kubernetes client is not installed, and who the run is by. Nothing here
imports the client itself, so a module's other imports stay after this check (they need it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import socket
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import OptionError

try:
    import kubernetes  # noqa: F401 pylint: disable=unused-import
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def kubernetes_module(argument_spec, **kwargs):
    """An AnsibleModule supporting check mode, failed at once when the kubernetes client is missing."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)
    if KUBERNETES_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    return module


def validated_options(module, validate):
    """``validate(module.params)``: the module's settings, checked once before any request; on bad input the
    module fails with the message and the ``option`` it names."""
    try:
        return validate(module.params)
    except OptionError as err:
        module.fail_json(msg=str(err), option=err.option)


def run_actor():
    """Who a run is by, as revision descriptions, claims, backups and Events name it: user@host of the process."""
    return "%s@%s" % (getpass.getuser(), socket.gethostname())


def open_cluster_session(module, connection_options, driver, request_timeout, **kwargs):
    """The module's one ``ClusterSession`` (``cluster.session.open_session``; ``kwargs`` as it takes them);
    a connection that cannot be made fails the module, naming the cluster once it is known. Values that
    are no secret (the kubeconfig path, the cluster's name and URL) are no longer masked in the output."""
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster import session as session_mod
    from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
    for path in session_mod.kubeconfig_paths(connection_options):
        module.no_log_values.discard(path)
    try:
        session = session_mod.open_session(connection_options, driver, request_timeout, run_actor(), **kwargs)
    except ConnectionFailure as err:
        module.fail_json(msg=str(err), **({"cluster": err.cluster} if err.cluster else {}))
    # The cluster's name and URL are no secrets, even when they sit in a no_log kubeconfig
    # dict (whose every value Ansible would otherwise mask in all output).
    for value in session.public():
        module.no_log_values.discard(value)
    return session
