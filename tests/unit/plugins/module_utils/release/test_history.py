# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import history


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
