# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import history
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import VerifyError


def rows(make_release, make_object, statuses, driver="secret"):
    objs = [make_object(make_release(version=rev, status=status), driver=driver)
            for rev, status in reversed(list(enumerate(statuses, 1)))]          # any order in, oldest first out
    return history.history_rows(objs, driver)


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_rows_are_helms_history_without_values(make_release, make_object, secret_password, driver):
    out = rows(make_release, make_object, ["superseded", "deployed", "pending-upgrade"], driver)
    assert [(r["revision"], r["status"]) for r in out] == [(1, "superseded"), (2, "deployed"), (3, "pending-upgrade")]
    assert list(out[0]) == ["revision", "updated", "status", "chart", "app_version", "description"]
    assert out[0]["chart"] == "nginx-15.4.2" and out[0]["app_version"] == "1.25.3"
    assert secret_password not in json.dumps(out)


def test_last_good_below_the_newest(make_release, make_object):
    out = rows(make_release, make_object, ["superseded", "deployed", "failed", "superseded"])
    assert history.last_good(out) == 4 and history.last_good(out, below=4) == 2
    assert history.last_good(rows(make_release, make_object, ["failed"])) is None


def test_a_rollback_counts_only_when_the_cluster_shows_it():
    before = [{"revision": 3, "status": "failed", "description": "Upgrade failed"}]
    landed = before + [{"revision": 4, "status": "deployed", "description": "Rollback to 2"}]
    assert history.check_rolled_back(before, landed, 2, "c1", "'ok'") == 4
    for after in (before, landed[:1] + [dict(landed[1], description="Upgrade complete")],
                  landed[:1] + [dict(landed[1], status="pending-rollback")]):
        with pytest.raises(VerifyError, match="cluster c1 shows revision .* not a new deployed rollback"):
            history.check_rolled_back(before, after, 2, "c1", "'ok'")
