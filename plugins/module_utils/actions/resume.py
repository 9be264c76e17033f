# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""resume: finish a rollback or uninstall that an earlier run claimed but did not complete.

The claim is taken over with a conditional write first (so two runs cannot
both resume it), then the claimed helm step runs again: a rollback goes to
the claimed revision if it is still the last good one, else to the last good
one now (the message says so); then the cluster is read again, as for the
original action.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils import claims
from ansible_collections.helmops.unstick.plugins.module_utils.actions import base, rollback, uninstall


class Resume:
    name = "resume"
    needs_helm = True
    event_reason = "Resumed"

    def _goal(self, item):
        claim = item.classification.claim
        if claim.action == "rollback":
            return "roll back to revision %s" % item.plan.target_revision
        return "uninstall the release"

    def planned(self, item):
        return "finish the unfinished %s: %s" % (item.classification.claim.action, self._goal(item))

    def would(self, item):
        return "would finish the unfinished %s: %s" % (item.classification.claim.action, self._goal(item))

    def execute(self, ctx, item):
        old = item.classification.claim
        mark = claims.new_claim(old.action, old.revision, item.plan.target_revision, ctx.actor,
                                ctx.run_id, ctx.now, ctx.settings.timeout)
        base.write(ctx, item, claims.with_claim(item.obj, mark))
        if old.action == "rollback":
            rollback.ACTION.run_helm(ctx, item, item.plan.target_revision)
        else:
            uninstall.ACTION.run_helm(ctx, item)

    def verify(self, ctx, item):
        old = item.classification.claim
        if old.action == "rollback":
            done = rollback.ACTION.verify_target(ctx, item, item.plan.target_revision)
        else:
            done = uninstall.ACTION.verify(ctx, item)
        return "%s (resumed the %s claimed by %s)" % (done, old.action, old.by)


ACTION = Resume()
