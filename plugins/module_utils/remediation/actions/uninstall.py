# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""uninstall: for a release stuck in ``pending-install`` that never worked.

Claims the record first (like rollback), then runs ``helm uninstall`` so the
resources the half-done install created go too, then checks that the
release's records are gone (or ``uninstalled``, with ``--keep-history``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base


class Uninstall(base.Action):
    name = "uninstall"
    needs_helm = True
    event_reason = "Uninstalled"

    def planned(self, item):
        return "uninstall the release"

    def execute(self, ctx, item):
        base.claim(ctx, item, self.name, None, "uninstalling the release")
        self.run_helm(ctx, item)

    def run_helm(self, ctx, item):
        """The helm step alone (``resume`` runs it again after taking the claim over)."""
        item.helm_output = ctx.helm.uninstall(item.namespace, item.name, ctx.wait, ctx.helm_seconds())

    def verify(self, ctx, item):
        base.verify_uninstalled(ctx, item, base.said(item.helm_output))
        return "uninstalled"


ACTION = Uninstall()
