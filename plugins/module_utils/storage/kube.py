# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helm release records in the cluster (Secret or ConfigMap storage driver).

Only this file knows the REST paths.  The scan is built so its cost follows
the number of *odd* releases, not the size of the fleet or of its history:

1. one metadata-only list, filtered on the server by label, of every record
   whose status is not one of the settled ones (so pending, unknown and
   missing statuses all show up, and nothing else), and one of the failed
   records that carry our claim (unfinished remediations, see claims.py);
2. for each release found, a metadata-only list of its own revisions (to
   learn whether the odd record is the newest, and the last good revision);
   releases of one namespace are read together (``histories``: a set-based
   selector, up to HISTORY_BATCH names a list), so the server walks a
   namespace once, not once per release;
3. a full GET only of the newest record of releases that are stuck or in
   progress.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.release.claims import CLAIM_LABEL
from ansible_collections.helmops.unstick.plugins.module_utils.storage.interface import SETTLED, ReleaseStore, ScanResult
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import (
    ApiError,
    META_LIST_ACCEPT,
)

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

RESOURCES = {"secret": "secrets", "configmap": "configmaps"}
ODD_SELECTOR = "owner=helm,status notin (%s)" % ",".join(SETTLED)
#: failed records carrying our claim: remediations that may be unfinished (see claims.py)
CLAIM_SELECTOR = "owner=helm,status=failed,%s" % CLAIM_LABEL
SCAN_SELECTORS = (ODD_SELECTOR, CLAIM_SELECTOR)
HISTORY_BATCH = 50  # release names per batched history list (keeps the URL short)


#: HELM_DRIVER spellings Helm itself accepts, for the drivers we read (sql: sql/releases.py)
DRIVER_NAMES = {"secret": "secret", "secrets": "secret", "": "secret",
                "configmap": "configmap", "configmaps": "configmap", "sql": "sql"}


def resolve_driver(option, helm_driver_env):
    """The storage driver: the ``storage_driver`` option, else ``HELM_DRIVER``
    as Helm reads it (``secret``/``secrets``/empty, ``configmap``/``configmaps``,
    ``sql``), else ``secret``. Raises ``ValueError`` naming drivers we cannot
    read (Helm's ``memory``)."""
    if option:
        name = option
    else:
        name = (helm_driver_env or "").strip().lower()
    if name in DRIVER_NAMES:
        return DRIVER_NAMES[name]
    raise ValueError("storage driver %r is not supported (secret, configmap or sql%s)" % (
        name, "; from HELM_DRIVER" if not option else ""))


def _denied(err):
    """403: RBAC says no here, another scope may do. A 401 (expired or wrong
    credentials) is not: it fails every request, so it fails the scan."""
    return err.forbidden and err.status != 401


class CoreObjectPaths:
    """The API paths of one core/v1 resource (``self.resource``): a namespace's collection, all namespaces', an
    object. Shared by the release records and our backups, which live beside them as the same kind."""

    def _collection(self, namespace=None):
        if namespace is None:
            return "/api/v1/%s" % self.resource
        return "/api/v1/namespaces/%s/%s" % (quote(namespace, safe=""), self.resource)

    def _object(self, namespace, name):
        return "%s/%s" % (self._collection(namespace), quote(name, safe=""))


class ReleaseStorage(CoreObjectPaths, ReleaseStore):
    """Secret or ConfigMap records through the API (see the module docstring)."""

    def __init__(self, api, driver="secret"):
        if driver not in RESOURCES:
            raise ValueError("unsupported storage driver %r" % driver)
        self.api = api
        self.driver = driver
        self.resource = RESOURCES[driver]

    # -- reads ---------------------------------------------------------
    def _list_meta(self, path, result):
        for selector in SCAN_SELECTORS:
            for page in self.api.list_pages(path, [("labelSelector", selector)], accept=META_LIST_ACCEPT):
                if result.server_date is None:
                    result.server_date = page.date
                result.items.extend((page.body or {}).get("items") or [])

    def list_namespaces(self):
        names = []
        for page in self.api.list_pages("/api/v1/namespaces", accept=META_LIST_ACCEPT):
            names.extend(i["metadata"]["name"] for i in (page.body or {}).get("items") or [])
        return names

    def scan(self, namespaces=None, keep_namespace=lambda ns: True):
        """Metadata of every odd record in scope.

        ``namespaces`` None means the whole cluster: one cluster-wide list,
        or, when RBAC forbids that, one list per namespace, reporting the
        namespaces that stay forbidden and reading the rest.
        """
        result = ScanResult()
        if not namespaces:
            try:
                self._list_meta(self._collection(), result)
                result.items = [i for i in result.items
                                if keep_namespace(i["metadata"].get("namespace", ""))]
                return result
            except ApiError as err:
                if not _denied(err):
                    raise
            try:
                namespaces = self.list_namespaces()
            except ApiError as err:
                if not _denied(err):
                    raise
                raise ApiError(err.status, err.reason,
                               "cannot list %s cluster-wide nor list namespaces (%s); "
                               "name the namespaces to scan (namespaces)"
                               % (self.resource, err.message), err.path)
        for ns in namespaces:
            if not keep_namespace(ns):
                continue
            try:
                self._list_meta(self._collection(ns), result)
            except ApiError as err:
                if _denied(err) or err.not_found:
                    result.forbidden.append((ns, err.message))
                    result.server_date = result.server_date or err.date
                else:
                    raise
        return result

    def revisions(self, namespace, release):
        """Metadata of every record of one release (all its revisions)."""
        return self.revisions_at(namespace, release)[0]

    def revisions_at(self, namespace, release):
        """What ``revisions`` returns, and the server's time: the Date header of its first answer."""
        items, date = [], None
        selector = "owner=helm,name=%s" % release
        for page in self.api.list_pages(self._collection(namespace), [("labelSelector", selector)],
                                        accept=META_LIST_ACCEPT):
            date = date or page.date
            items.extend((page.body or {}).get("items") or [])
        return items, date

    def histories(self, namespace, releases):
        """``{release: items}``: what ``revisions`` returns, for several releases
        of one namespace, with one list per HISTORY_BATCH releases.

        A batch that fails (ApiError) is left out of the answer: the caller
        reads those releases one by one with ``revisions``, which raises and
        reports exactly as it always did."""
        names = sorted(set(releases))
        out = {}
        for start in range(0, len(names), HISTORY_BATCH):
            chunk = names[start:start + HISTORY_BATCH]
            if len(chunk) == 1:
                selector = "owner=helm,name=%s" % chunk[0]
            else:
                selector = "owner=helm,name in (%s)" % ",".join(chunk)
            found = dict((name, []) for name in chunk)
            try:
                for page in self.api.list_pages(self._collection(namespace), [("labelSelector", selector)],
                                                accept=META_LIST_ACCEPT):
                    for item in (page.body or {}).get("items") or []:
                        name = ((item.get("metadata") or {}).get("labels") or {}).get("name")
                        if name in found:
                            found[name].append(item)
            except ApiError:
                continue
            out.update(found)
        return out

    def get(self, namespace, name):
        return self.api.get(self._object(namespace, name)).body

    def namespace_exists(self, namespace):
        """True / False, or None when the API does not say (RBAC forbids listing namespaces, ...).
        A list filtered to the name, not a GET: ``list`` on namespaces is the verb docs/rbac grants."""
        query = [("fieldSelector", "metadata.name=%s" % namespace)]
        try:
            body = self.api.get("/api/v1/namespaces", query, accept=META_LIST_ACCEPT).body or {}
        except ApiError:
            return None
        return bool(body.get("items"))

    def release_exists(self, release, namespaces=None):
        """Whether any record of ``release`` exists (in ``namespaces``, else cluster-wide); None when unknown."""
        query = [("labelSelector", "owner=helm,name=%s" % release), ("limit", "1")]
        try:
            for namespace in namespaces or [None]:
                body = self.api.get(self._collection(namespace), query, accept=META_LIST_ACCEPT).body or {}
                if body.get("items"):
                    return True
            return False
        except ApiError:
            return None

    def records(self, namespace, release):
        """Every record of one release, whole (payloads included): for its history."""
        items = []
        for page in self.api.list_pages(self._collection(namespace),
                                        [("labelSelector", "owner=helm,name=%s" % release)]):
            items.extend((page.body or {}).get("items") or [])
        return items

    # -- writes (always with the object's resourceVersion as precondition) --
    def replace(self, obj):
        meta = obj["metadata"]
        if not meta.get("resourceVersion"):
            raise ValueError("refusing an unconditional write of %s" % meta.get("name"))
        return self.api.put(self._object(meta["namespace"], meta["name"]), obj).body
