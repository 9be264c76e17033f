# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup objects in the cluster (cluster_backup.py says what they hold): the requests.

Backups live beside the records, as objects of the same resource (secrets or configmaps), so the RBAC that
lets helm_unstick read and write a namespace's records is the same resource with ``create``, ``list`` and
``delete`` added (docs/rbac).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import META_LIST_ACCEPT
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import RESOURCES, CoreObjectPaths

KINDS = {"secret": "Secret", "configmap": "ConfigMap"}


class BackupStore(CoreObjectPaths):
    def __init__(self, api, driver="secret"):
        self.api = api
        self.driver = driver
        self.kind = KINDS[driver]
        self.resource = RESOURCES[driver]

    # -- backups --------------------------------------------------------
    def create(self, obj):
        return self.api.post(self._collection(obj["metadata"]["namespace"]), obj).body

    def replace(self, obj):
        meta = obj["metadata"]
        return self.api.put(self._object(meta["namespace"], meta["name"]), obj).body

    def delete(self, namespace, name, resource_version=None):
        return self.api.delete(self._object(namespace, name), resource_version)

    def list(self, namespace=None, release=None, run=None, metadata_only=False):
        """Backup objects (whole, or metadata only), in one namespace or cluster-wide."""
        selector = cluster_backup.SELECTOR
        if release:
            selector += ",%s=%s" % (cluster_backup.LABEL_RELEASE, release)
        if run:
            selector += ",%s=%s" % (cluster_backup.LABEL_RUN, run)
        accept = META_LIST_ACCEPT if metadata_only else "application/json"
        items = []
        for page in self.api.list_pages(self._collection(namespace), [("labelSelector", selector)], accept=accept):
            items.extend((page.body or {}).get("items") or [])
        return items

    # -- records (a restore's writes, each conditional) --------------------
    # a create is conditional by itself: the server refuses a name that exists (409)
    create_record = create

    def replace_record(self, obj):
        meta = obj["metadata"]
        if not meta.get("resourceVersion"):
            raise ValueError("refusing an unconditional write of %s" % meta.get("name"))
        return self.api.put(self._object(meta["namespace"], meta["name"]), obj).body

    def delete_record(self, namespace, name, resource_version):
        if not resource_version:
            raise ValueError("refusing an unconditional delete of %s" % name)
        return self.api.delete(self._object(namespace, name), resource_version)
