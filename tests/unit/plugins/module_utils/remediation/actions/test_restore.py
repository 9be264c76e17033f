# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from release_fakes import NOW, FakeHelm, Store, history

from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import get
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError, VerifyError
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import Plan


@pytest.fixture
def failed_item(make_release, make_object):
    """apps/web whose newest revision (3) is failed, planned back to revision 2."""
    def _make(helm_mode="works"):
        store = Store(history(make_release, make_object, "web", ["superseded", "deployed", "failed"]))
        helm = FakeHelm(store, helm_mode)
        cls = Classification("healthy", "apps", "web", 3, "failed", 3600, 2, None)
        obj = store.get("apps", "sh.helm.release.v1.web.v3")
        item = Release(cls, obj, base.decode_payload(obj["data"]["release"], "secret"), {}, Plan("restore", 2, None))
        ctx = base.ActionContext(store, helm, "ops@ctl", "run1", NOW, type("S", (), {"timeout": 300}), True, "c1")
        return ctx, item, store, helm
    return _make


def test_rolls_back_without_a_claim_and_verifies(failed_item):
    ctx, item, store, helm = failed_item()
    action = get("restore")
    assert action.needs_helm and action.planned(item) == "roll revision 3 (failed) back to revision 2"
    before = store.get("apps", "sh.helm.release.v1.web.v3")
    action.execute(ctx, item)
    assert helm.calls == [("rollback", "apps", "web", 2)] and store.writes == 0 and not item.written
    assert store.get("apps", "sh.helm.release.v1.web.v3") == before          # the failed record as Helm left it
    assert claims.CLAIM_LABEL not in before["metadata"]["labels"]
    assert action.verify(ctx, item) == "deployed (rolled back to revision 2, now revision 4)"
    assert (item.outcome.revision, item.outcome.status) == (4, "deployed")
    assert item.outcome_summary["description"] == "Rollback to 2"


def test_a_helm_that_fails_says_where_it_was_going(failed_item):
    ctx, item, dummy, dummy = failed_item("fails")
    with pytest.raises(HelmError, match="^rollback to revision 2: Error: timed out"):
        get("restore").execute(ctx, item)


def test_a_helm_that_did_nothing_is_no_restore(failed_item):
    ctx, item, dummy, dummy = failed_item("noop")
    get("restore").execute(ctx, item)
    with pytest.raises(VerifyError, match="shows revision 3 failed as the newest"):
        get("restore").verify(ctx, item)
