# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import (
    GuardError, Plan, check_guard, plan_action, NO_ROLLBACK_TARGET,
)


def stuck(status, good=None, kind="stuck"):
    return Classification(kind, "apps", "my.app-v2", 5, status, 3600, good, "x")


@pytest.mark.parametrize("strategy", ["rollback", "unlock"])
@pytest.mark.parametrize("pending_install", ["unlock", "uninstall"])
def test_pending_install_follows_pending_install_rule(strategy, pending_install):
    assert plan_action(stuck("pending-install", good=3), strategy, pending_install) == \
        Plan(pending_install, None, None)


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-rollback"])
def test_rollback_to_last_good(status):
    assert plan_action(stuck(status, good=4), "rollback", "uninstall") == Plan("rollback", 4, None)


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-rollback"])
@pytest.mark.parametrize("good", [None, 4])
def test_unlock_strategy(status, good):
    assert plan_action(stuck(status, good=good), "unlock", "uninstall") == Plan("unlock", None, None)


@pytest.mark.parametrize("pending_install", ["unlock", "uninstall"])
def test_rollback_without_target_falls_back(pending_install):
    plan = plan_action(stuck("pending-upgrade"), "rollback", pending_install)
    assert plan == Plan(pending_install, None, NO_ROLLBACK_TARGET)
    assert plan.fallback_reason == "no deployed or superseded revision to roll back to"


@pytest.mark.parametrize("kind", ["healthy", "in_progress", "error"])
def test_only_stuck_is_planned(kind):
    with pytest.raises(ValueError):
        plan_action(stuck("pending-upgrade", kind=kind), "rollback", "unlock")


@pytest.mark.parametrize("strategy, pending_install", [
    ("delete", "unlock"), ("rollback", "rollback"), (None, "unlock"), ("unlock", None)])
def test_bad_options(strategy, pending_install):
    with pytest.raises(ValueError):
        plan_action(stuck("pending-upgrade", good=1), strategy, pending_install)


def test_non_pending_status_cannot_be_planned():
    with pytest.raises(ValueError):
        plan_action(stuck("deployed"), "unlock", "unlock")


@pytest.mark.parametrize("count, limit", [(0, None), (100, None), (0, 0), (3, 3), (2, 5)])
def test_guard_allows(count, limit):
    assert check_guard(count, limit) is None


@pytest.mark.parametrize("count, limit", [(1, 0), (4, 3)])
def test_guard_blocks(count, limit):
    with pytest.raises(GuardError) as exc:
        check_guard(count, limit)
    assert str(count) in str(exc.value) and "max_remediations is %d" % limit in str(exc.value)


@pytest.mark.parametrize("count, limit", [(-1, 3), (1, -1), ("2", 3), (2, "3"), (True, 3), (None, 3), (1, 1.5)])
def test_guard_bad_values(count, limit):
    with pytest.raises(ValueError):
        check_guard(count, limit)
