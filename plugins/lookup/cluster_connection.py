# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: cluster_connection
short_description: This host's cluster connection, from the collection's connection variables
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Returns one dictionary of connection options for M(helmops.unstick.helm_unstick), M(helmops.unstick.helm_guard)
    and the other modules of the collection, from the variables of the host it runs for.
  - It is V(stuck_releases_connection) (a dictionary of connection options, as the
    C(helmops.unstick.kubeconfig) inventory plugin sets it per host), with the single variables
    V(stuck_releases_kubeconfig), V(stuck_releases_context), V(stuck_releases_host), V(stuck_releases_api_key),
    V(stuck_releases_validate_certs) and V(stuck_releases_ca_cert) over its keys.
  - Keys that are unset (undefined, null, or an empty string) are left out, so a play's C(module_defaults) and
    the E(K8S_AUTH_*) variables apply to them.
  - File paths (C(kubeconfig), several joined by C(:) included, C(ca_cert), C(client_cert), C(client_key)) are
    returned absolute, C(~) expanded and a relative path resolved against the directory C(ansible-playbook) was
    started in, as a shell, C(kubectl) and C(helm) resolve them. Modules themselves run in the playbook's
    directory, which for a collection playbook such as C(helmops.unstick.remediate) is inside the installed
    collection.
  - The roles C(helmops.unstick.stuck_releases) and C(helmops.unstick.guarded_upgrade) use it, so both read
    a cluster's connection the same way.
options: {}
"""

EXAMPLES = r"""
- name: Find stuck releases on this host's cluster, connected as the roles connect
  helmops.unstick.helm_unstick:
    remediate: false
  module_defaults:
    helmops.unstick.helm_unstick: "{{ query('helmops.unstick.cluster_connection') | first }}"
  delegate_to: localhost
"""

RETURN = r"""
_raw:
  description: One dictionary of connection options (only those that are set).
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.kubeconfig import on_controller

#: the single variables over ``stuck_releases_connection``: (variable, connection option)
SINGLE = tuple(("stuck_releases_%s" % option, option)
               for option in ("kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert"))


def _set(value):
    """Unset is None, and an empty string (what an unset variable becomes before ansible-core 2.19)."""
    return value is not None and value != ""


#: connection options that name files on the controller
PATHS = ("kubeconfig", "ca_cert", "client_cert", "client_key")


def merge(connection, singles, base=None):
    """``connection`` with the set ``singles`` (option -> value) over it, unset keys left out, file paths
    absolute (relative ones against ``base``, default the working directory)."""
    out = dict(connection or {})
    out.update((key, value) for key, value in singles.items() if _set(value))
    return dict((key, on_controller(value, base) if key in PATHS and isinstance(value, str) else value)
                for key, value in out.items() if _set(value))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}

        def value(name):
            return self._templar.template(variables[name]) if name in variables else None

        singles = dict((option, value(name)) for name, option in SINGLE)
        return [merge(value("stuck_releases_connection"), singles)]
