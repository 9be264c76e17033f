# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""rollback: the manual fix, automated — ``helm rollback REL LAST_GOOD``.

Before helm runs, the stuck record is claimed with one conditional write
(marked failed, resourceVersion precondition, our claim label and
annotation). That claim is what makes the action safe: if Helm is alive and
wrote the record after our scan, the claim gets 409 and helm is never
called; if helm then fails, does nothing or the run dies, the claim tells the
next run to finish the job (``resume``). After helm returns, the cluster is
read again: only a new newest revision, deployed, "Rollback to N", counts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base


class Rollback(base.Action):
    name = "rollback"
    needs_helm = True
    event_reason = "RolledBack"

    def planned(self, item):
        return "roll back to revision %s" % item.plan.target_revision

    def execute(self, ctx, item):
        target = item.plan.target_revision
        base.claim(ctx, item, self.name, target, "rolling back to revision %s" % target)
        self.run_helm(ctx, item)

    def run_helm(self, ctx, item):
        """The helm step alone (``resume`` runs it again after taking the claim over)."""
        item.helm_output = ctx.helm.rollback(item.namespace, item.name, item.plan.target_revision, ctx.wait,
                                             ctx.helm_seconds())

    def verify(self, ctx, item):
        target = item.plan.target_revision
        revision = base.verify_rolled_back(ctx, item, target, base.said(item.helm_output))
        return "deployed (rolled back to revision %s, now revision %s)" % (target, revision)


ACTION = Rollback()
