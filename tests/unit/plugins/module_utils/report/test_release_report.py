# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import classify_release
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import plan_action
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    decode_payload, meta_from_object, parse_time, safe_summary,
)
from ansible_collections.helmops.unstick.plugins.module_utils.report.release_report import (
    error_entry, release_entry, summarize,
)

REQUIRED = {"namespace", "name", "revision", "status", "age_seconds", "last_good_revision", "action",
            "chart", "app_version", "reason", "message"}


def _pipeline(make_release, make_object, statuses):
    objs = [make_object(make_release(name="my.app-v2", version=i + 1, status=s)) for i, s in enumerate(statuses)]
    metas = [meta_from_object(o) for o in objs]
    classification = classify_release(metas, parse_time("2026-11-24T12:00:00Z"), 900)
    summary = safe_summary(decode_payload(objs[-1]["data"]["release"], "secret"))
    return classification, summary


def test_full_entry_without_secrets(make_release, make_object, secret_password):
    classification, summary = _pipeline(make_release, make_object, ["deployed", "pending-upgrade"])
    plan = plan_action(classification, "rollback", "unlock")
    entry = release_entry(classification, plan, summary, {"changed": True, "message": "rolled back to 1"})
    assert REQUIRED <= set(entry)
    assert entry["namespace"] == "apps" and entry["name"] == "my.app-v2"
    assert (entry["revision"], entry["status"], entry["kind"]) == (2, "pending-upgrade", "stuck")
    assert (entry["age_seconds"], entry["last_good_revision"]) == (4047, 1)
    assert (entry["action"], entry["target_revision"], entry["fallback_reason"]) == ("rollback", 1, None)
    assert (entry["chart"], entry["chart_version"], entry["app_version"]) == ("nginx", "15.4.2", "1.25.3")
    assert entry["changed"] is True and entry["failed"] is False and entry["message"] == "rolled back to 1"
    assert secret_password not in json.dumps(entry)


def test_entry_unknown_chart_and_no_plan(make_release, make_object):
    classification, dummy = _pipeline(make_release, make_object, ["pending-install"])
    entry = release_entry(classification)
    assert REQUIRED <= set(entry)
    assert entry["chart"] is None and entry["app_version"] is None and entry["action"] is None
    assert entry["changed"] is False and entry["message"] is None


def test_entry_never_copies_extra_summary_keys():
    from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
    c = Classification("stuck", "ns", "r", 1, "pending-install", 1000, None, "x")
    entry = release_entry(c, summary={"chart": "c", "config": {"password": "p"}})
    assert "config" not in entry and entry["chart"] == "c"


def test_error_entry_has_every_entry_key():
    err = error_entry(reason="not gzip", namespace="apps", name="web", object_name="sh.helm.release.v1.web.v3")
    assert err["kind"] == "error" and err["reason"] == "not gzip" and err["object_name"].endswith(".v3")
    assert err["namespace"] == "apps" and err["revision"] is None and err["chart"] is None
    from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
    entry = release_entry(Classification("stuck", "ns", "r", 4, "pending-upgrade", 99, 3, "old"))
    assert set(entry) <= set(error_entry(reason="x"))
    err = error_entry(entry, reason="conflict", changed=True)
    assert (err["kind"], err["revision"], err["last_good_revision"], err["reason"], err["changed"]) == (
        "error", 4, 3, "conflict", True)


def test_summarize():
    assert summarize([1, 2], 0, [{"a": 1}], None) == {"stuck": 2, "in_progress": 0, "remediated": 1, "errors": 0}
    assert summarize(3, (), 1, 2) == {"stuck": 3, "in_progress": 0, "remediated": 1, "errors": 2}
    with pytest.raises(ValueError):
        summarize(True, 0, 0, 0)
