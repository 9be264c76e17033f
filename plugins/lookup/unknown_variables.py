# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: unknown_variables
short_description: Warn about variables with a role's prefix that the role does not know (misspellings)
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Returns the names among O(_terms) that start with O(prefix) and are not in O(known), and shows a warning for
    each, with the known name it is closest to. Ansible ignores a variable no task reads, so a misspelled
    C(stuck_releases_namespace) would otherwise silently scan every namespace.
  - The C(helmops.unstick.stuck_releases) role makes the same check in its task of each cluster, on the names of
    that host's variables (each warning is shown once per run).
options:
  _terms:
    description: Variable names to look at.
    required: true
  prefix:
    description: Only names starting with this prefix are looked at (names with a second C(_) after it are internal).
    type: str
    required: true
  known:
    description: The names the role knows.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Warn about misspelled stuck_releases_* variables
  ansible.builtin.debug:
    msg: "{{ query('helmops.unstick.unknown_variables', *query('ansible.builtin.varnames', '^stuck_releases_'),
             prefix='stuck_releases_', known=['stuck_releases_namespaces']) }}"
"""

RETURN = r"""
_raw:
  description: The unknown names, sorted.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.helmops.unstick.plugins.plugin_utils.role_options import unknown_variables


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = unknown_variables(terms, self.get_option("prefix"), self.get_option("known"))
        for warning in unknown.values():
            Display().warning(warning)
        return list(unknown)
