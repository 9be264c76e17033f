# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""restore: put a release whose upgrade failed back on its last good revision, ``helm rollback REL GOOD``.

Only the guarded upgrade's rescue plans it (``plan_rescue``): the newest revision is ``failed`` (or deployed
by an upgrade a later step failed), not pending, so it holds no lock and there is nothing to claim; its
record is left as Helm wrote it (the description keeps Helm's error). helm runs on the one connection,
then the cluster is read again as for ``rollback``: only a new newest revision, deployed, "Rollback to
GOOD", counts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError


class Restore(base.Action):
    name = "restore"
    needs_helm = True
    event_reason = "Restored"

    def planned(self, item):
        return "roll revision %s (%s) back to revision %s" % (item.revision, item.classification.status,
                                                              item.plan.target_revision)

    def execute(self, ctx, item):
        target = item.plan.target_revision
        try:
            item.helm_output = ctx.helm.rollback(item.namespace, item.name, target, ctx.wait, ctx.helm_seconds())
        except HelmError as err:
            raise HelmError("rollback to revision %s: %s" % (target, err))

    def verify(self, ctx, item):
        target = item.plan.target_revision
        revision = base.verify_rolled_back(ctx, item, target, base.said(item.helm_output))
        return "deployed (rolled back to revision %s, now revision %s)" % (target, revision)


ACTION = Restore()
