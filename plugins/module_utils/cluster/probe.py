# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requests of the liveness checks (liveness.py says what is looked at and what it means).

Reads only, one GET per target, no retries beyond KubeApi's own: a target that is gone (404, or a kind the
server does not serve) is no evidence; one that cannot be read (403, an error) is not either, but the run
says it could not be checked, so a missing RBAC grant shows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release import liveness
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import META_LIST_ACCEPT, ApiError

META_ACCEPT = META_LIST_ACCEPT.replace("PartialObjectMetadataList", "PartialObjectMetadata")

Probe = namedtuple("Probe", ["evidence", "unchecked", "requests"])


class Prober:
    def __init__(self, api):
        self.api = api

    def probe(self, namespace, release, now, min_age):
        evidence = liveness.record_evidence(release, now, min_age)
        unchecked = []
        requests = 0
        for target in liveness.targets(release, namespace):
            # hooks: the whole object (its status says whether it finished); objects: metadata is enough
            accept = "application/json" if target.role == "hook" else META_ACCEPT
            requests += 1
            try:
                obj = self.api.get(liveness.path(target), accept=accept).body or {}
            except ApiError as err:
                if not err.not_found:
                    unchecked.append("%s: API error %s: %s" % (liveness.describe(target), err.status, err.message))
                continue
            found = liveness.judge(target, obj, now, min_age)
            if found:
                evidence.append(found)
        return Probe(evidence, unchecked, requests)
