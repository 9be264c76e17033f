# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import get
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError, VerifyError


def test_claims_then_rolls_back_to_the_plan_and_verifies(stuck_item):
    ctx, item, store, helm = stuck_item(["superseded", "deployed", "pending-upgrade"])
    action = get("rollback")
    assert action.needs_helm and action.planned(item) == "roll back to revision 2"
    assert action.would(item) == "would roll back to revision 2"
    action.execute(ctx, item)
    assert helm.calls == [("rollback", "apps", "web", 2)]
    claim = claims.read_claim(store.objs[("apps", "sh.helm.release.v1.web.v3")]["metadata"])
    assert (claim.action, claim.revision, claim.target, claim.by) == ("rollback", 3, 2, "ops@ctl")
    assert store.status("apps", "web") == [(1, "superseded"), (2, "deployed"), (3, "failed"), (4, "deployed")]
    assert action.verify(ctx, item) == "deployed (rolled back to revision 2, now revision 4)"


def test_a_helm_that_did_nothing_is_not_a_rollback(stuck_item):
    ctx, item, store, dummy = stuck_item(["deployed", "pending-upgrade"], helm_mode="noop")
    action = get("rollback")
    action.execute(ctx, item)
    with pytest.raises(VerifyError, match="reported success .* shows revision 2 failed as the newest"):
        action.verify(ctx, item)


def test_a_failing_helm_leaves_the_claim_for_resume(stuck_item):
    ctx, item, store, dummy = stuck_item(["deployed", "pending-upgrade"], helm_mode="fails")
    with pytest.raises(HelmError):
        get("rollback").execute(ctx, item)
    assert item.written and claims.read_claim(store.objs[("apps", "sh.helm.release.v1.web.v2")]["metadata"])


def test_a_deployed_revision_that_is_not_our_rollback_fails_verification(stuck_item):
    ctx, item, store, dummy = stuck_item(["superseded", "deployed", "pending-upgrade"])
    action = get("rollback")
    action.execute(ctx, item)
    item.plan = item.plan._replace(target_revision=1)      # helm rolled back to 2, we planned 1
    with pytest.raises(VerifyError, match="not a rollback to revision 1"):
        action.verify(ctx, item)
