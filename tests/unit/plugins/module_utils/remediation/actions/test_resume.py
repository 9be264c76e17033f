# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import get
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import plan_resume
from release_fakes import NOW

EARLIER = NOW - 7200


def claim(action, revision, target):
    return claims.new_claim(action, revision, target, "ci@runner-7", "run0", EARLIER, 300)


def test_finishes_a_claimed_rollback_and_takes_the_claim_over_first(stuck_item):
    ctx, item, store, helm = stuck_item(["superseded", "deployed", "failed"], claim=claim("rollback", 3, 2))
    action = get("resume")
    assert action.would(item) == "would finish the unfinished rollback: roll back to revision 2"
    action.execute(ctx, item)
    taken = claims.read_claim(store.objs[("apps", "sh.helm.release.v1.web.v3")]["metadata"])
    assert (taken.by, taken.run, taken.target) == ("ops@ctl", "run1", 2)          # ours now
    assert helm.calls == [("rollback", "apps", "web", 2)]
    assert action.verify(ctx, item) == ("deployed (rolled back to revision 2, now revision 4) "
                                        "(resumed the rollback claimed by ci@runner-7)")


def test_plans_again_when_the_claimed_revision_is_no_longer_the_last_good_one(stuck_item):
    # the claim said 1; revision 2 was deployed since (the last good one now)
    ctx, item, store, helm = stuck_item(["superseded", "deployed", "failed"], claim=claim("rollback", 3, 1))
    assert item.plan.target_revision == 2 and "rolling back to 2 instead" in item.plan.fallback_reason
    get("resume").execute(ctx, item)
    assert helm.calls == [("rollback", "apps", "web", 2)]


def test_a_claimed_rollback_with_nowhere_to_go_cannot_be_planned(stuck_item):
    with pytest.raises(ValueError, match="cannot be finished: no deployed or superseded revision"):
        stuck_item(["failed", "failed"], claim=claim("rollback", 2, 1))


def test_finishes_a_claimed_uninstall(stuck_item):
    ctx, item, store, helm = stuck_item(["failed"], claim=claim("uninstall", 1, None))
    action = get("resume")
    assert action.planned(item) == "finish the unfinished uninstall: uninstall the release"
    action.execute(ctx, item)
    assert helm.calls == [("uninstall", "apps", "web")]
    assert action.verify(ctx, item) == "uninstalled (resumed the uninstall claimed by ci@runner-7)"
    assert plan_resume(item.classification).target_revision is None
