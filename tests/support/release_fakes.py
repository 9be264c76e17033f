# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory release store with the API's write rules, and a helm that acts on it
the way real helm does (rollback: a new deployed revision "Rollback to N"; uninstall:
the records go), or fails, or does nothing. For runner and action unit tests."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.storage.interface import SETTLED, ReleaseStore
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    decode_payload,
    encode_payload,
    format_http_date,
    format_time,
)

NOW = 1795000000.0
CLAIM_LABEL = "helmops.unstick/claim"


class Scan:
    def __init__(self, items, date):
        self.items, self.server_date, self.forbidden = items, date, []


class Store(ReleaseStore):
    driver = "secret"

    def __init__(self, objs, now=NOW):
        self.objs = dict(((o["metadata"]["namespace"], o["metadata"]["name"]), o) for o in objs)
        self.writes = 0
        self.gets = 0
        self.lists = 0   # revisions_at: the guard's scans
        self.now = now
        self.refuse_writes = None   # an ApiError to raise on every write

    def _odd(self, labels):
        return labels.get("status") not in SETTLED or (labels.get("status") == "failed" and CLAIM_LABEL in labels)

    def scan(self, namespaces, keep):
        items = [o for o in self.objs.values()
                 if self._odd(o["metadata"]["labels"]) and keep(o["metadata"]["namespace"])]
        return Scan([{"metadata": copy.deepcopy(o["metadata"])} for o in items], format_http_date(self.now))

    def revisions(self, namespace, release):
        return [{"metadata": copy.deepcopy(o["metadata"])} for (ns, _), o in self.objs.items()
                if ns == namespace and o["metadata"]["labels"]["name"] == release]

    def revisions_at(self, namespace, release):
        self.lists += 1
        return self.revisions(namespace, release), format_http_date(self.now)

    def get(self, namespace, name):
        self.gets += 1
        return copy.deepcopy(self.objs[(namespace, name)])

    def replace(self, obj):
        if self.refuse_writes is not None:
            raise self.refuse_writes
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if self.objs[key]["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        self.writes += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        self.objs[key] = obj
        return obj

    # what helm does to the records
    def release_records(self, namespace, name):
        return sorted((o for (ns, _), o in self.objs.items()
                       if ns == namespace and o["metadata"]["labels"]["name"] == name),
                      key=lambda o: int(o["metadata"]["labels"]["version"]))

    def helm_rollback(self, namespace, name, target):
        records = self.release_records(namespace, name)
        source = [o for o in records if o["metadata"]["labels"]["version"] == str(target)][0]
        new = copy.deepcopy(source)
        release = decode_payload(new["data"]["release"], self.driver)
        revision = int(records[-1]["metadata"]["labels"]["version"]) + 1
        release["version"] = revision
        release["info"]["status"] = "deployed"
        release["info"]["description"] = "Rollback to %d" % target
        new["data"]["release"] = encode_payload(release, self.driver)
        new["metadata"] = {"namespace": namespace, "name": "sh.helm.release.v1.%s.v%d" % (name, revision),
                           "resourceVersion": "1",
                           "labels": {"name": name, "owner": "helm", "status": "deployed",
                                      "version": str(revision), "modifiedAt": str(int(self.now))}}
        self.objs[(namespace, new["metadata"]["name"])] = new

    def helm_uninstall(self, namespace, name):
        for obj in self.release_records(namespace, name):
            del self.objs[(namespace, obj["metadata"]["name"])]

    def status(self, namespace, name):
        return [(int(o["metadata"]["labels"]["version"]), o["metadata"]["labels"]["status"])
                for o in self.release_records(namespace, name)]


class FakeHelm:
    """``mode``: "works" (acts on ``store``), "fails" (exits 1), "noop" (exits 0, does nothing)."""

    def __init__(self, store, mode="works", version=(4, 2, 4)):
        self.store, self.mode, self.version_found = store, mode, version
        self.calls = []

    def check(self):
        if self.version_found is None:
            raise HelmError("/x/helm does not look like helm")
        return self.version_found

    def _act(self, call, effect):
        self.calls.append(call)
        if self.mode == "fails":
            raise HelmError("Error: timed out waiting for the condition")
        if self.mode == "works":
            effect()
        return "Rollback was a success! Happy Helming!"

    def rollback(self, namespace, release, revision, wait, timeout):
        return self._act(("rollback", namespace, release, revision),
                         lambda: self.store.helm_rollback(namespace, release, revision))

    def uninstall(self, namespace, release, wait, timeout):
        return self._act(("uninstall", namespace, release),
                         lambda: self.store.helm_uninstall(namespace, release))


def history(make_release, make_object, name, statuses, age=3600, namespace="apps", now=NOW):
    objs = []
    for rev, status in enumerate(statuses, 1):
        # dated by its creation (what a pending revision's age is measured from); modifiedAt as real helm
        # leaves it on a new record: the previous revision's, older (never an age)
        obj = make_object(make_release(name=name, namespace=namespace, version=rev, status=status),
                          labels_extra={"modifiedAt": str(int(now - age - 86400))},
                          creation=format_time(now - age), resource_version=str(rev * 10))
        objs.append(obj)
    return objs
