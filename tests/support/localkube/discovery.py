# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery documents (/version, /api, /api/v1, /apis, /apis/coordination.k8s.io/v1) and OpenAPI v3 for core/v1.

core/v1 is served, and coordination.k8s.io/v1 Leases (what guarded upgrades take turns on).  ``/apis`` is a
legacy APIGroupList returned as plain ``application/json``: client-go asks for aggregated discovery first
(``as=APIGroupDiscoveryList``) and falls back to legacy discovery when the response content type is not the
aggregated one.
"""
from __future__ import annotations

import hashlib
import json

_RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# resource -> (Kind, namespaced, shortNames, known top-level fields)
RESOURCES: dict[str, dict] = {
    "namespaces": {"kind": "Namespace", "namespaced": False, "shortNames": ["ns"],
                   "fields": {"spec", "status"}},
    "secrets": {"kind": "Secret", "namespaced": True, "shortNames": [],
                "fields": {"data", "stringData", "type", "immutable"}},
    "configmaps": {"kind": "ConfigMap", "namespaced": True, "shortNames": ["cm"],
                   "fields": {"data", "binaryData", "immutable"}},
    "serviceaccounts": {"kind": "ServiceAccount", "namespaced": True, "shortNames": ["sa"],
                        "fields": {"secrets", "imagePullSecrets",
                                   "automountServiceAccountToken"}},
    # core/v1 Events: what helm_unstick reports its remediations with (``kubectl get events`` reads them)
    "events": {"kind": "Event", "namespaced": True, "shortNames": ["ev"],
               "fields": {"involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
                          "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
                          "reportingInstance"}},
    # coordination.k8s.io/v1 Leases (a ``groupVersion`` of its own: served under /apis/coordination.k8s.io/v1)
    "leases": {"kind": "Lease", "namespaced": True, "shortNames": [], "fields": {"spec"},
               "groupVersion": "coordination.k8s.io/v1"},
}
KIND_TO_RESOURCE = {v["kind"]: k for k, v in RESOURCES.items()}
META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
               "generation", "creationTimestamp", "deletionTimestamp",
               "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
               "finalizers", "managedFields"}

VERSION = {"major": "1", "minor": "32", "emulationMajor": "1", "emulationMinor": "32",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "31", "gitVersion": "v1.32.0-localkube",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
           "platform": "linux/amd64"}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def group_version(resource: str) -> str:
    """The apiVersion of ``resource``'s objects ("v1" for core)."""
    return RESOURCES[resource].get("groupVersion", "v1")


def core(resource: str) -> bool:
    return "groupVersion" not in RESOURCES[resource]


def api_v1(group_version_: str = "v1") -> dict:
    resources = []
    for name, r in RESOURCES.items():
        if r.get("groupVersion", "v1") != group_version_:
            continue
        entry = {"name": name, "singularName": r["kind"].lower(), "namespaced": r["namespaced"],
                 "kind": r["kind"], "verbs": list(_RW), "storageVersionHash": "lk" + name[:6]}
        if r["shortNames"]:
            entry["shortNames"] = r["shortNames"]
        if name == "namespaces":
            entry["verbs"].remove("deletecollection")
        resources.append(entry)
    out = {"kind": "APIResourceList", "groupVersion": group_version_, "resources": resources}
    if group_version_ != "v1":
        out["apiVersion"] = "v1"
    return out


GROUP_VERSIONS = sorted({r["groupVersion"] for r in RESOURCES.values() if "groupVersion" in r})
API_GROUPS = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
    {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
     "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in GROUP_VERSIONS]}

# --- OpenAPI v3 -------------------------------------------------------------

_P = "io.k8s.apimachinery.pkg.apis.meta.v1."
_C = "io.k8s.api.core.v1."


def _ref(name):
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}]}


_STR = {"type": "string"}
_STRMAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_BYTEMAP = {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}}


def _kind(kind, props, list_kind=True):
    gvk = [{"group": "", "version": "v1", "kind": kind}]
    out = {f"{_C}{kind}": {
        "type": "object", "x-kubernetes-group-version-kind": gvk,
        "properties": {"apiVersion": _STR, "kind": _STR,
                       "metadata": dict(_ref(f"{_P}ObjectMeta"), default={}), **props}}}
    if list_kind:
        out[f"{_C}{kind}List"] = {
            "type": "object", "required": ["items"],
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1",
                                                 "kind": kind + "List"}],
            "properties": {"apiVersion": _STR, "kind": _STR,
                           "metadata": dict(_ref(f"{_P}ListMeta"), default={}),
                           "items": {"type": "array", "items": _ref(f"{_C}{kind}")}}}
    return out


def _schemas() -> dict:
    s = {
        f"{_P}Time": {"type": "string", "format": "date-time"},
        f"{_P}FieldsV1": {"type": "object"},
        f"{_P}OwnerReference": {"type": "object",
                                "required": ["apiVersion", "kind", "name", "uid"],
                                "properties": {k: _STR for k in
                                               ("apiVersion", "kind", "name", "uid")} |
                                {"controller": {"type": "boolean"},
                                 "blockOwnerDeletion": {"type": "boolean"}}},
        f"{_P}ManagedFieldsEntry": {"type": "object", "properties": {
            "manager": _STR, "operation": _STR, "apiVersion": _STR, "fieldsType": _STR,
            "subresource": _STR, "time": _ref(f"{_P}Time"),
            "fieldsV1": _ref(f"{_P}FieldsV1")}},
        f"{_P}ListMeta": {"type": "object", "properties": {
            "continue": _STR, "remainingItemCount": {"type": "integer", "format": "int64"},
            "resourceVersion": _STR, "selfLink": _STR}},
        f"{_P}ObjectMeta": {"type": "object", "properties": {
            **{k: _STR for k in ("name", "generateName", "namespace", "selfLink", "uid",
                                 "resourceVersion")},
            "generation": {"type": "integer", "format": "int64"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "creationTimestamp": _ref(f"{_P}Time"), "deletionTimestamp": _ref(f"{_P}Time"),
            "labels": _STRMAP, "annotations": _STRMAP,
            "finalizers": {"type": "array", "items": _STR},
            "ownerReferences": {"type": "array", "items": _ref(f"{_P}OwnerReference")},
            "managedFields": {"type": "array", "items": _ref(f"{_P}ManagedFieldsEntry")}}},
        f"{_P}Status": {"type": "object", "properties": {
            "apiVersion": _STR, "kind": _STR, "status": _STR, "message": _STR,
            "reason": _STR, "code": {"type": "integer", "format": "int32"},
            "details": {"type": "object"}, "metadata": _ref(f"{_P}ListMeta")}},
        f"{_C}LocalObjectReference": {"type": "object", "properties": {"name": _STR}},
        f"{_C}ObjectReference": {"type": "object", "properties": {
            k: _STR for k in ("apiVersion", "fieldPath", "kind", "name", "namespace",
                              "resourceVersion", "uid")}},
    }
    s |= _kind("Secret", {"data": _BYTEMAP, "stringData": _STRMAP, "type": _STR,
                          "immutable": {"type": "boolean"}})
    s |= _kind("ConfigMap", {"data": _STRMAP, "binaryData": _BYTEMAP,
                             "immutable": {"type": "boolean"}})
    s |= _kind("Namespace", {
        "spec": {"type": "object", "properties": {
            "finalizers": {"type": "array", "items": _STR}}},
        "status": {"type": "object", "properties": {"phase": _STR,
                                                    "conditions": {"type": "array",
                                                                   "items": {"type": "object"}}}}})
    s |= _kind("Event", {
        "involvedObject": _ref(f"{_C}ObjectReference"), "related": _ref(f"{_C}ObjectReference"),
        **{k: _STR for k in ("reason", "message", "type", "action", "reportingComponent", "reportingInstance")},
        "source": {"type": "object", "properties": {"component": _STR, "host": _STR}},
        "firstTimestamp": _ref(f"{_P}Time"), "lastTimestamp": _ref(f"{_P}Time"),
        "eventTime": {"type": "string", "format": "date-time"}, "count": {"type": "integer", "format": "int32"},
        "series": {"type": "object"}})
    s |= _kind("ServiceAccount", {
        "automountServiceAccountToken": {"type": "boolean"},
        "imagePullSecrets": {"type": "array", "items": _ref(f"{_C}LocalObjectReference")},
        "secrets": {"type": "array", "items": _ref(f"{_C}ObjectReference")}})
    return s


def _q(*names):
    return [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
            for n in names]


def _paths() -> dict:
    """Operations carry x-kubernetes-group-version-kind and their query parameters:
    client-go's QueryParamVerifierV3 looks for ``fieldValidation`` on the PATCH
    operation of a GVK to decide that the server validates fields itself."""
    paths = {}
    write_q = _q("dryRun", "fieldManager", "fieldValidation")
    for name, r in RESOURCES.items():
        if not core(name):
            continue
        ref = {"$ref": f"#/components/schemas/{_C}{r['kind']}"}
        list_ref = {"$ref": f"#/components/schemas/{_C}{r['kind']}List"}
        gvk = {"group": "", "version": "v1", "kind": r["kind"]}

        def op(verb, action, schema, params=(), body=False):
            out = {"operationId": f"{verb}{r['kind']}", "x-kubernetes-action": action,
                   "x-kubernetes-group-version-kind": gvk, "parameters": list(params),
                   "responses": {"200": {"description": "OK", "content": {
                       "application/json": {"schema": schema}}}}}
            if body:
                out["requestBody"] = {"content": {"*/*": {"schema": ref}}, "required": True}
            return out

        prefix = "/api/v1/namespaces/{namespace}/" if r["namespaced"] else "/api/v1/"
        paths[prefix + name] = {
            "get": op("list", "list", list_ref, _q("labelSelector", "fieldSelector", "limit",
                                                   "continue", "resourceVersion", "watch")),
            "post": op("create", "post", ref, write_q, body=True)}
        paths[prefix + name + "/{name}"] = {
            "get": op("read", "get", ref),
            "put": op("replace", "put", ref, write_q, body=True),
            "patch": op("patch", "patch", ref, write_q + _q("force")),
            "delete": op("delete", "delete", ref, _q("dryRun"))}
    return paths


OPENAPI_V1 = json.dumps({"openapi": "3.0.0",
                         "info": {"title": "Kubernetes", "version": "v1.32.0-localkube"},
                         "paths": _paths(), "components": {"schemas": _schemas()}},
                        separators=(",", ":")).encode()
OPENAPI_HASH = hashlib.sha512(OPENAPI_V1).hexdigest()[:64].upper()
OPENAPI_INDEX = {"paths": {"api/v1": {
    "serverRelativeURL": f"/openapi/v3/api/v1?hash={OPENAPI_HASH}"}}}
