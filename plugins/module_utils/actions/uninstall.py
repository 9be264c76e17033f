# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""uninstall: for a release stuck in ``pending-install`` that never worked.

Claims the record first (conditional unlock, like rollback), then runs
``helm uninstall`` so the resources the half-done install created go too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.actions import unlock

ACTION = "uninstall"


def run(storage, helm, obj, release, description, now, wait, timeout):
    claimed = unlock.run(storage, obj, release, description, now)
    helm.uninstall(obj["metadata"]["namespace"], release["name"], wait, timeout)
    return claimed
