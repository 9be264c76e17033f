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

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import rollback
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import uninstall


#: the actions that claim a record before running helm, by name: what a claim can leave unfinished
CLAIMING = dict((action.name, action) for action in (rollback.ACTION, uninstall.ACTION))


class Resume(base.Action):
    name = "resume"
    needs_helm = True
    event_reason = "Resumed"

    @staticmethod
    def _claimed(item):
        """The claim and the action that made it (it owns the helm step and its verification)."""
        claim = item.classification.claim
        return claim, CLAIMING[claim.action]

    def planned(self, item):
        claim, action = self._claimed(item)
        return "finish the unfinished %s: %s" % (claim.action, action.planned(item))

    def execute(self, ctx, item):
        old, action = self._claimed(item)
        mark = claims.new_claim(old.action, old.revision, item.plan.target_revision, ctx.actor,
                                ctx.run_id, ctx.now, ctx.settings.timeout)
        base.write(ctx, item, claims.with_claim(item.obj, mark))
        action.run_helm(ctx, item)

    def verify(self, ctx, item):
        old, action = self._claimed(item)
        return "%s (resumed the %s claimed by %s)" % (action.verify(ctx, item), old.action, old.by)


ACTION = Resume()
