# SPDX-License-Identifier: GPL-3.0-or-later
"""A live helm upgrade is never taken for a stuck one (issue 25), on localkube with real helm 3 and 4: a live
``helm upgrade --wait`` (manifest changed, and unchanged) of a release whose previous revision is older than
min_age is reported in_progress, left alone by remediate.yml and stops the guard; killed and older than
min_age, it is remediated. Records are made old by their creation time (helmfix.age_record); the real
kube-apiserver runs the same scenario with real waiting (tests/e2e/realkube/test_live_upgrade.py)."""

import itertools

import pytest

import helmfix
from live_upgrade import scenario
from tools import both_helms

pytestmark = pytest.mark.slow
_names = itertools.count(1)


def _old(kube, ns, name, revision):
    helmfix.age_record(kube, ns, name, revision, 3600)


@both_helms
def test_a_live_upgrade_is_in_progress_and_killed_it_is_remediated(tmp_path, kube, helm_bin):
    def ns(base):
        return "%s-%d" % (base, next(_names))
    scenario(tmp_path, kube, helm_bin, ns, make_old=_old)
