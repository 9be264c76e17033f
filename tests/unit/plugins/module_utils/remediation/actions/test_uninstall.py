# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import get
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import VerifyError


def test_claims_then_uninstalls_and_verifies_the_records_are_gone(stuck_item):
    ctx, item, store, helm = stuck_item(["pending-install"], pending_install="uninstall")
    action = get("uninstall")
    assert action.needs_helm and action.would(item) == "would uninstall the release"
    claimed = []
    helm_uninstall = store.helm_uninstall
    store.helm_uninstall = lambda ns, name: (claimed.append(claims.read_claim(
        store.objs[(ns, "sh.helm.release.v1.web.v1")]["metadata"])), helm_uninstall(ns, name))
    action.execute(ctx, item)
    assert claimed[0].action == "uninstall" and claimed[0].target is None      # claimed before helm ran
    assert helm.calls == [("uninstall", "apps", "web")] and store.status("apps", "web") == []
    assert action.verify(ctx, item) == "uninstalled"


def test_records_still_there_after_helm_said_uninstalled_is_an_error(stuck_item):
    ctx, item, store, dummy = stuck_item(["pending-install"], helm_mode="noop", pending_install="uninstall")
    action = get("uninstall")
    action.execute(ctx, item)
    with pytest.raises(VerifyError, match="helm uninstall reported success .* still shows revision 1 failed"):
        action.verify(ctx, item)
