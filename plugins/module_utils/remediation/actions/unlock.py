# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""unlock: mark the stuck newest revision ``failed`` (label and payload).

Helm only refuses to act while the newest revision is pending; once it is
``failed`` the next ``helm upgrade`` (or ``upgrade --install``) proceeds.
No record is removed, so history keeps what happened, and the description
says who changed it, when, and what it was.  The write carries the record's
resourceVersion: if Helm touched the record since we read it, the API answers
409 Conflict and nothing is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import VerifyError


class Unlock(base.Action):
    name = "unlock"
    needs_helm = False
    event_reason = "Unlocked"

    def planned(self, item):
        return "mark revision %s failed" % item.revision

    def would(self, item):
        return "would mark revision %s failed (unlock)" % item.revision

    def execute(self, ctx, item):
        cls = item.classification
        description = base.describe(cls.status, cls.revision, cls.age_seconds, ctx.actor, ctx.now)
        unlocked = base.unlocked_object(item.obj, item.release, description, ctx.now, ctx.storage.driver)
        base.write(ctx, item, unlocked)

    def verify(self, ctx, item):
        # our own conditional write was accepted; the cluster must still show it newest and failed
        now = item.outcome = base.newest(ctx, item)
        if now is None or now.revision != item.revision or now.status != "failed":
            raise VerifyError("revision %s was marked failed, but cluster %s now shows %s as the newest"
                              % (item.revision, ctx.cluster, base.shows(now)))
        return "failed (revision %s)" % item.revision


ACTION = Unlock()
