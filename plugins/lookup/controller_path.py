# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: controller_path
short_description: A path on the controller made absolute against the directory ansible-playbook was started in
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Returns each term with C(~) expanded and, when relative, resolved against the working directory of the
    C(ansible-playbook) process (where it was started), not E(PWD) (stale under cron, systemd or a parent that
    changed directory) and not the playbook's directory (where modules run, inside the installed collection for
    its playbooks).
  - The roles of the collection resolve C(stuck_releases_report_dir) and C(stuck_releases_backup_dir) with it.
options:
  _terms:
    description: Paths; several joined by C(:) are resolved one by one.
    required: true
"""

EXAMPLES = r"""
- name: Where the fleet report goes
  ansible.builtin.debug:
    msg: "{{ lookup('helmops.unstick.controller_path', 'helm-stuck-report') }}"
"""

RETURN = r"""
_raw:
  description: The absolute paths, one per term.
  type: list
  elements: str
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.kubeconfig import on_controller


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        out = []
        for term in terms:
            if not isinstance(term, str) or not term.strip():
                raise AnsibleError("controller_path: %r is not a path" % (term,))
            out.append(on_controller(term))
        return out
