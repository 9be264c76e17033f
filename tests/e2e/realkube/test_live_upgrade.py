# SPDX-License-Identifier: GPL-3.0-or-later
"""A live helm upgrade is never taken for a stuck one (issue 25), on the real kube-apiserver with real helm 3
and 4 and real waiting (no timestamp can be forged here): a live ``helm upgrade --wait`` (manifest changed, and
unchanged) of a release whose previous revision is older than min_age is reported in_progress, left alone by
remediate.yml and stops the guard; killed and older than min_age, it is remediated (tests/support/live_upgrade.py)."""

import pytest

from live_upgrade import scenario
from tools import both_helms

pytestmark = pytest.mark.slow


@both_helms
def test_a_live_upgrade_is_in_progress_and_killed_it_is_remediated(tmp_path, kube, ns, helm_bin):
    scenario(tmp_path, kube, helm_bin, ns)
