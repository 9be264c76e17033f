# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Event a remediation writes, and an Event that cannot be written is a warning."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.events import EventSink, event_object

RECORD = {"metadata": {"name": "sh.helm.release.v1.web.v2", "uid": "u-1", "resourceVersion": "7"}}


def test_the_event_names_the_record_us_and_what_was_done():
    ev = event_object("shop", RECORD, "Secret", "RolledBack", "ops@ctl (run r1) rolled back", "ops@ctl",
                      1796287463, "rollback", "ab12")
    assert ev["metadata"] == {"name": "sh.helm.release.v1.web.v2.ab12", "namespace": "shop"}
    assert ev["involvedObject"] == {"apiVersion": "v1", "kind": "Secret", "namespace": "shop",
                                    "name": "sh.helm.release.v1.web.v2", "uid": "u-1", "resourceVersion": "7"}
    assert (ev["reason"], ev["type"], ev["reportingComponent"], ev["source"], ev["action"]) == (
        "RolledBack", "Normal", "helmops.unstick", {"component": "helmops.unstick"}, "rollback")
    assert ev["firstTimestamp"] == ev["lastTimestamp"] == "2026-12-03T08:44:23Z" and ev["count"] == 1
    assert event_object("shop", RECORD, "Secret", "Refused", "x" * 5000, "me", 0)["type"] == "Warning"
    assert len(event_object("shop", RECORD, "Secret", "Refused", "x" * 5000, "me", 0)["message"]) == 1024


class Api:
    def __init__(self, error=None):
        self.error, self.posted = error, []

    def post(self, path, body):
        if self.error:
            raise self.error
        self.posted.append((path, body))


def test_an_event_that_cannot_be_written_is_a_warning():
    sink = EventSink(Api(ApiError(403, "Forbidden", "events is forbidden")), "Secret", "me", "prod")
    assert sink.emit("shop", RECORD, "Unlocked", "done", 0) is None
    assert sink.warnings == ["cluster prod: namespace shop: event Unlocked not written: API error 403: "
                             "events is forbidden"]
    api = Api()
    EventSink(api, "Secret", "me", "prod").emit("shop", RECORD, "Unlocked", "done", 0)
    assert [posted[0] for posted in api.posted] == ["/api/v1/namespaces/shop/events"]
