# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollback: the manual fix, automated — ``helm rollback REL LAST_GOOD``.

Before helm runs, the stuck record is claimed with the same conditional
write as ``unlock`` (marked failed, resourceVersion precondition).  That claim
is what makes the action safe: if Helm is alive and wrote the record after
our scan, the claim gets 409 and helm is never called.  If ``helm rollback``
then fails, the release is at least unlocked, and the error says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.actions import unlock

ACTION = "rollback"


def run(storage, helm, obj, release, description, now, target_revision, wait, timeout):
    claimed = unlock.run(storage, obj, release, description, now)
    meta = obj["metadata"]
    helm.rollback(meta["namespace"], release["name"], target_revision, wait, timeout)
    return claimed
