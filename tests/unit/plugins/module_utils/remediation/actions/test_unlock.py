# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base as unlock
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload

NOW = 1795000000.0


class RecordingStorage:
    def __init__(self, driver):
        self.driver = driver
        self.writes = []

    def replace(self, obj):
        self.writes.append(copy.deepcopy(obj))
        return obj


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_unlocked_object_marks_label_and_payload_failed(make_release, make_object, driver):
    release = make_release(status="pending-upgrade", version=3)
    obj = make_object(release, driver=driver, labels_extra={"modifiedAt": "1700000000"})
    before = copy.deepcopy(obj)

    new = unlock.unlocked_object(obj, release, "why", NOW, driver)

    assert obj == before, "input must not be mutated"
    assert new["metadata"]["labels"]["status"] == "failed"
    assert new["metadata"]["labels"]["modifiedAt"] == str(int(NOW))
    assert new["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    decoded = decode_payload(new["data"]["release"], driver)
    assert decoded["info"]["status"] == "failed"
    assert decoded["info"]["description"] == "why"
    # Everything else in the payload is kept, values included (they stay in the cluster).
    for key in ("config", "manifest", "chart", "version", "name", "namespace"):
        assert decoded[key] == release[key]
    assert decoded["info"]["last_deployed"] == release["info"]["last_deployed"]


def test_unlock_action_writes_once_through_storage(make_release, make_object):
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import get
    from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
    release = make_release(status="pending-install", version=1)
    storage = RecordingStorage("secret")
    cls = Classification("stuck", "apps", "web", 1, "pending-install", 3600, None, "old")
    item = Release(cls, make_object(release), release, {}, None)
    ctx = unlock.ActionContext(storage, None, "ops@ctl", "run1", NOW, None, True, "c1")
    action = get("unlock")
    assert action.needs_helm is False and action.would(item) == "would mark revision 1 failed (unlock)"
    action.execute(ctx, item)
    assert len(storage.writes) == 1 and item.written
    assert storage.writes[0]["metadata"]["labels"]["status"] == "failed"
    assert "helmops.unstick/claim" not in storage.writes[0]["metadata"]["labels"]   # unlock needs no claim


def test_describe_says_who_when_what():
    text = unlock.describe("pending-upgrade", 7, 5400, "ops@ctl", NOW, "rolling back to revision 6")
    assert "ops@ctl" in text and "pending-upgrade" in text and "revision 7" in text
    assert unlock.rfc3339(NOW) in text and "rolling back to revision 6" in text


def test_secret_values_stay_out_of_description(make_release, make_object, secret_password):
    release = make_release(status="pending-upgrade", version=2)
    text = unlock.describe(release["info"]["status"], 2, 100, "a@b", NOW)
    assert secret_password not in json.dumps(text)
