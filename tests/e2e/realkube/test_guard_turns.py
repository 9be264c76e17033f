# SPDX-License-Identifier: GPL-3.0-or-later
"""Our guarded upgrades of one release take turns on its coordination.k8s.io/v1 Lease (issue 29), on the real
kube-apiserver with real helm 3 and 4: two playbooks/safe_upgrade.yml runs started together both end deployed,
one after the other (the second waited for the Lease), and a controller killed while it holds the Lease holds
up the next run only until the Lease expires (tests/support/turn_scenarios.py)."""

import pytest

from turn_scenarios import killed_holder, two_runs
from tools import both_helms

pytestmark = pytest.mark.slow


@both_helms
def test_two_guarded_upgrades_started_together_take_turns_and_both_land(tmp_path, kube, ns, helm_bin):
    two_runs(tmp_path, kube, helm_bin, ns("turns"))


@both_helms
def test_a_controller_killed_holding_the_lease_holds_up_the_next_run_only_until_it_expires(tmp_path, kube, ns,
                                                                                           helm_bin):
    killed_holder(tmp_path, kube, helm_bin, ns("killed"))
