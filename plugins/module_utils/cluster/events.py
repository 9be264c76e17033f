# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes Events for what a run did to a release: the audit trail ``kubectl get events`` shows.

One core/v1 Event (what ``kubectl get events`` and ``kubectl describe`` read) per remediation, refusal or
resume, in the release's namespace, whose involved object is the release's record and whose reporting
controller is us. An Event that cannot be written is a warning of the run, never a failure: the
remediation it reports has happened (or not) either way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

COMPONENT = "helmops.unstick"
#: reasons that are not a remediation done (type Warning); Unlocked, RolledBack, ... are Normal
WARNING_REASONS = ("Refused", "RemediationFailed", "RestoreFailed")
#: the API server's limits (a longer message or instance is refused with 422)
_MESSAGE_MAX = 1024
_INSTANCE_MAX = 128


def _stamp(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def event_object(namespace, record, kind, reason, message, actor, now, action=None, suffix=None):
    """The Event (a dict) about ``record`` (the release's record: its metadata), pure."""
    meta = record.get("metadata") or {} if isinstance(record, dict) else {}
    name = meta.get("name") or "release"
    involved = {"apiVersion": "v1", "kind": kind, "namespace": namespace, "name": name}
    for key, field in (("uid", "uid"), ("resourceVersion", "resourceVersion")):
        if meta.get(field):
            involved[key] = meta[field]
    suffix = suffix or "%x" % int(now * 1000)
    obj = {"apiVersion": "v1", "kind": "Event",
           "metadata": {"name": "%s.%s" % (name[:200], suffix), "namespace": namespace},
           "involvedObject": involved,
           "reason": reason, "message": message[:_MESSAGE_MAX],
           "type": "Warning" if reason in WARNING_REASONS else "Normal",
           "source": {"component": COMPONENT},
           "reportingComponent": COMPONENT, "reportingInstance": actor[:_INSTANCE_MAX],
           "firstTimestamp": _stamp(now), "lastTimestamp": _stamp(now), "count": 1}
    if action:
        obj["action"] = action
    return obj


class EventSink:
    """Posts Events; ``warnings`` collects the ones that could not be written."""

    def __init__(self, api, kind, actor, cluster):
        self.api = api
        self.kind = kind
        self.actor = actor
        self.cluster = cluster
        self.warnings = []
        self.sent = []

    def emit(self, namespace, record, reason, message, now, action=None):
        suffix = os.urandom(4).hex()
        obj = event_object(namespace, record, self.kind, reason, message, self.actor, now, action, suffix)
        try:
            self.api.post("/api/v1/namespaces/%s/events" % quote(namespace, safe=""), obj)
        except ApiError as err:
            self.warnings.append("cluster %s: namespace %s: event %s not written: API error %s: %s"
                                 % (self.cluster, namespace, reason, err.status, err.message))
            return None
        self.sent.append(obj)
        return obj
