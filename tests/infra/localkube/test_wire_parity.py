# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire parity: localkube against the real kube-apiserver (tests/support/realkube).

The requests the module (plugins/module_utils/k8s), kubectl, the kubernetes Python client and real helm 4
send -- recorded by running them against localkube (``kube.requests``, listed in WIRE_NOTES.md) -- are
replayed, byte for byte and with the same Accept / Content-Type headers, to one real kube-apiserver v1.36
and one localkube holding the same objects and the same users. Compared: status codes, Status objects
(kind, reason, code, details, causes, message), list and object shapes (kind, apiVersion, metadata keys,
item keys, item names in order -- so label and field selector results), paging (limit, continue,
remainingItemCount), watch events, and the headers clients read (Content-Type, Date, Audit-Id,
Cache-Control, Warning). Volatile values (resourceVersions, uids, timestamps, continue tokens) are
normalised away; everything else must be equal, except the differences WIRE_NOTES.md documents, which
are asserted here as they are (``KNOWN``)."""
from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import os
import re
import subprocess
import ssl
import threading
import time
import urllib.parse

import pytest
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import META_LIST_ACCEPT
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import CLAIM_SELECTOR, ODD_SELECTOR

from localkube import LocalKube
from realkube import ADMIN_TOKEN, READER_TOKEN, TEAM_NAMESPACE, TEAM_TOKEN, RealKube

#: localkube's rules for realkube's users (tests/support/realkube: _RBAC)
LOCAL_TOKENS = {
    ADMIN_TOKEN: None,
    READER_TOKEN: {"user": "realkube-reader", "verbs": ["get", "list", "watch"]},
    TEAM_TOKEN: {"user": "realkube-team-a", "namespaces": [TEAM_NAMESPACE]},
}
NS = "wire"           # the seeded namespace (both servers)
META_LIST = META_LIST_ACCEPT     # the module's: application/json;as=PartialObjectMetadataList;...
META_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
         "application/json")                                                                  # kubectl get
PROTOBUF = "application/vnd.kubernetes.protobuf,application/json"                      # helm's storage driver
DISCOVERY = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
             "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


# --- one HTTP client for both servers ---------------------------------------------------------------
class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        ctype = self.header("Content-Type") or ""
        self.json = None
        if "json" in ctype and raw:
            try:
                self.json = json.loads(raw)
            except ValueError:
                self.json = None

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<%s %s>" % (self.status, self.raw[:300])


class Wire:
    """Raw HTTPS to one server: the same bytes go to both."""

    def __init__(self, name, url, ca_file):
        self.name, self.url, self.ca_file = name, url, ca_file
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self._local = threading.local()      # one kept-alive connection per thread, as clients keep them

    def send(self, method, path, body=None, token=ADMIN_TOKEN, headers=None, timeout=30):
        hdrs = {"Accept": "application/json"}
        hdrs.update(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        if data is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx)
            conn.timeout = timeout
            try:
                conn.request(method, path, body=data, headers=hdrs)
                resp = conn.getresponse()
                answer = Answer(resp.status, resp.getheaders(), resp.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                conn.close()
                self._local.conn = None
            return answer


# --- normalising --------------------------------------------------------------------------------------
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+(?![A-Za-z0-9])")


def norm_text(text):
    """A message without its volatile parts (uids, resourceVersions, counters)."""
    return _NUMBER.sub("<n>", _UUID.sub("<uid>", text or ""))


def status_shape(body):
    details = dict(body.get("details") or {})
    causes = [(c.get("reason"), c.get("field"), norm_text(c.get("message"))) for c in details.pop("causes", [])]
    if "uid" in details:
        details["uid"] = "<uid>"
    return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), "metadata": body.get("metadata"),
            "status": body.get("status"), "reason": body.get("reason"), "code": body.get("code"),
            "message": norm_text(body.get("message")), "details": details, "causes": causes,
            "keys": sorted(body)}


def managed_shape(meta):
    """managedFields without times, by operation and manager (both servers order entries by operation, then
    time -- whole seconds, which two servers need not share --, then manager)."""
    return sorted((m.get("operation"), m.get("manager"), m.get("apiVersion"), m.get("fieldsType"),
                   json.dumps(m.get("fieldsV1"), sort_keys=True), sorted(m))
                  for m in meta.get("managedFields") or [])


def object_shape(obj):
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if meta.get("generateName") and re.fullmatch(re.escape(meta["generateName"]) + "[a-z0-9]{5}", name or ""):
        name = meta["generateName"] + "<random>"
    out = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"), "keys": sorted(obj),
           "metadata_keys": sorted(meta), "name": name, "namespace": meta.get("namespace"),
           "labels": meta.get("labels"), "annotations": meta.get("annotations"),
           "managed": managed_shape(meta)}
    for key in ("data", "binaryData", "type", "immutable", "spec", "status", "secrets", "involvedObject", "reason",
                "message", "source", "count", "firstTimestamp", "lastTimestamp", "eventTime", "action",
                "reportingComponent", "reportingInstance"):
        if key in obj:
            out[key] = obj[key]
    return out


def list_shape(body):
    meta = body.get("metadata") or {}
    items = body.get("items") or []
    return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), "keys": sorted(body),
            "metadata_keys": sorted(meta), "remainingItemCount": meta.get("remainingItemCount"),
            "items": [object_shape(i) for i in items]}


def table_shape(body):
    return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), "keys": sorted(body),
            "metadata_keys": sorted(body.get("metadata") or {}),
            "columns": [(c["name"], c["type"], c.get("format"), c.get("priority")) for c in body["columnDefinitions"]],
            "rows": [(row["cells"][:-1], _age(row["cells"][-1]), object_shape(row.get("object") or {}))
                     for row in body.get("rows") or []]}


def _age(cell):
    """An Age cell, as a shape: kubectl's short duration (its value depends on when the test runs)."""
    return "<age>" if re.fullmatch(r"\d+[smhd]", str(cell)) else cell


def body_shape(answer):
    body = answer.json
    if body is None:
        return {"text": answer.raw.decode("utf-8", "replace")}
    kind = body.get("kind") or ""
    if kind == "Status":
        return status_shape(body)
    if kind == "Table":
        return table_shape(body)
    if kind.endswith("List") and "items" in body:
        return list_shape(body)
    if "metadata" in body:
        return object_shape(body)
    return {"keys": sorted(body)}


def header_shape(answer, now):
    date = answer.header("Date")
    try:
        skew = abs(email.utils.parsedate_to_datetime(date).timestamp() - now) < 60
    except (TypeError, ValueError):
        skew = "unparseable %r" % date
    return {"Content-Type": answer.header("Content-Type"), "Date": skew,
            "Audit-Id": bool(_UUID.fullmatch(answer.header("Audit-Id") or "")),
            "Cache-Control": answer.header("Cache-Control"), "Warning": answer.all("Warning"),
            "Retry-After": answer.header("Retry-After")}


def shape(answer):
    return {"code": answer.status, "headers": header_shape(answer, time.time()), "body": body_shape(answer)}


def differences(real, local, path=""):
    """Where two shapes differ, as readable lines."""
    if isinstance(real, dict) and isinstance(local, dict):
        out = []
        for key in sorted(set(real) | set(local), key=str):
            out += differences(real.get(key, "<absent>"), local.get(key, "<absent>"), "%s.%s" % (path, key))
        return out
    if isinstance(real, list) and isinstance(local, list) and len(real) == len(local):
        out = []
        for i, (a, b) in enumerate(zip(real, local)):
            out += differences(a, b, "%s[%d]" % (path, i))
        return out
    return [] if real == local else ["%s: real %r, localkube %r" % (path or "<top>", real, local)]


# --- the two servers, seeded alike ----------------------------------------------------------------------
def secret(name, labels=None, **extra):
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return dict({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {"k": "dg=="}}, **extra)


def configmap(name, labels=None, **extra):
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return dict({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}, **extra)


def release(name, rev, status, **more):
    return dict({"owner": "helm", "name": name, "status": status, "version": str(rev)}, **more)


#: Helm release records as helm writes them, and some that are not
SEED_SECRETS = [
    secret("sh.helm.release.v1.web.v1", release("web", 1, "superseded"), type="helm.sh/release.v1"),
    secret("sh.helm.release.v1.web.v2", release("web", 2, "deployed"), type="helm.sh/release.v1"),
    secret("sh.helm.release.v1.web.v3", release("web", 3, "pending-upgrade"), type="helm.sh/release.v1"),
    secret("sh.helm.release.v1.db.v1", release("db", 1, "failed", **{"helmops.unstick/claim": "run-1"}),
           type="helm.sh/release.v1"),
    secret("sh.helm.release.v1.api.v1", release("api", 1, "deployed"), type="helm.sh/release.v1"),
    secret("plain", {"app": "x"}),
    secret("bare"),
]


@contextlib.contextmanager
def parity_servers():
    """(real, local): Wire clients of a real kube-apiserver and a localkube, seeded with the same objects
    (through the same requests: their answers are compared too)."""
    with RealKube() as real_kube, LocalKube(tls=True, tokens=LOCAL_TOKENS, auto_create_namespaces=False) as local_kube:
        real = Wire("real", real_kube.url, real_kube.ca_file)
        local = Wire("localkube", local_kube.url, local_kube.ca_file)
        local.kube, real.kube = local_kube, real_kube
        # kubeconfigs with the same contexts for both: realkube (admin), reader, team-a
        real.kubeconfig = real_kube.kubeconfig
        local.kubeconfig = local_kube.write_kubeconfig(
            os.path.join(real_kube.dir, "localkube.kubeconfig"), token=ADMIN_TOKEN, context="realkube",
            extra_contexts={"reader": {"token": READER_TOKEN},
                            "team-a": {"token": TEAM_TOKEN, "namespace": TEAM_NAMESPACE}})
        # realkube created team-a and its RBAC; localkube gets the namespace by the same request
        assert local.send("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": TEAM_NAMESPACE}},
                          headers={"User-Agent": "Python-urllib/3"}).status == 201
        seeds = [("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})]
        seeds += [("/api/v1/namespaces/%s/secrets" % NS, s) for s in SEED_SECRETS]
        seeds += [("/api/v1/namespaces/%s/configmaps" % NS, configmap("web-config", {"app": "web"}))]
        seeds += [("/api/v1/namespaces/%s/secrets" % TEAM_NAMESPACE,
                   secret("sh.helm.release.v1.team.v1", release("team", 1, "pending-install")))]
        seeds += [("/api/v1/namespaces/%s/configmaps" % TEAM_NAMESPACE, configmap("team-config"))]
        local.seed_diffs = []
        for path, obj in seeds:
            a, b = real.send("POST", path, obj), local.send("POST", path, obj)
            assert a.status == 201, a
            local.seed_diffs += ["POST %s %s: %s" % (path, obj["metadata"]["name"], d)
                                 for d in differences(shape(a), shape(b))]
        yield real, local


@pytest.fixture(scope="module")
def servers():
    with parity_servers() as pair:
        yield pair


def both(servers, method, path, body=None, **kw):
    real, local = servers
    return real.send(method, path, body, **kw), local.send(method, path, body, **kw)


def assert_same(servers, method, path, body=None, **kw):
    a, b = both(servers, method, path, body, **kw)
    diff = differences(shape(a), shape(b))
    assert diff == [], "%s %s\n  %s" % (method, path, "\n  ".join(diff))
    return a, b


def q(path, **params):
    return path + "?" + urllib.parse.urlencode(params)


# --- reads: the same answer from both ------------------------------------------------------------------
SECRETS = "/api/v1/namespaces/%s/secrets" % NS
ALL_SECRETS = "/api/v1/secrets"
ODD, CLAIMED = ODD_SELECTOR, CLAIM_SELECTOR       # the module's scan selectors

READS = {
    # the module: metadata-only lists with its label selectors, cluster-wide and per namespace
    "module scan, cluster-wide": (q(ALL_SECRETS, labelSelector=ODD, limit=500), META_LIST),
    "module claim scan": (q(ALL_SECRETS, labelSelector=CLAIMED, limit=500), META_LIST),
    "module scan, one namespace": (q(SECRETS, labelSelector=ODD, limit=500), META_LIST),
    "module history": (q(SECRETS, labelSelector="owner=helm,name=web", limit=500), META_LIST),
    "module histories (in)": (q(SECRETS, labelSelector="owner=helm,name in (api,db,web)", limit=500), META_LIST),
    "module release_exists": (q(ALL_SECRETS, labelSelector="owner=helm,name=web", limit=1), META_LIST),
    "module records (whole)": (q(SECRETS, labelSelector="owner=helm,name=web", limit=500), "application/json"),
    "module list namespaces": (q("/api/v1/namespaces", limit=500), META_LIST),
    "module namespace_exists": (q("/api/v1/namespaces", fieldSelector="metadata.name=" + NS), META_LIST),
    "module namespace_exists, missing": (q("/api/v1/namespaces", fieldSelector="metadata.name=nowhere"), META_LIST),
    "kubectl get namespace": ("/api/v1/namespaces/" + NS, "application/json"),
    "kubectl get namespace, missing": ("/api/v1/namespaces/nowhere", "application/json"),
    "module get record": (SECRETS + "/sh.helm.release.v1.web.v3", "application/json"),
    # helm 4's storage driver (protobuf asked, JSON accepted: see KNOWN) and helm list -A
    "helm history": (q(SECRETS, labelSelector="name=web,owner=helm"), "application/json"),
    "helm deployed": (q(SECRETS, labelSelector="name=web,owner=helm,status=deployed"), "application/json"),
    "helm list -A": (q(ALL_SECRETS, labelSelector="owner=helm"), "application/json"),
    "helm chart object": ("/api/v1/namespaces/%s/configmaps/web-config" % NS, "application/json"),
    "helm chart object, missing": ("/api/v1/namespaces/%s/configmaps/gone" % NS, "application/json"),
    "helm status table": (q("/api/v1/namespaces/%s/configmaps/web-config" % NS, includeObject="Object"), TABLE),
    # kubectl get (Table, limit=500), -o json, -o name
    "kubectl get secrets": (q(SECRETS, limit=500), TABLE),
    "kubectl get -l": (q(SECRETS, labelSelector="owner=helm", limit=500), TABLE),
    "kubectl get configmaps -A -l": (q("/api/v1/configmaps", labelSelector="app", limit=500), TABLE),
    "kubectl get ns": (q("/api/v1/namespaces", limit=500), TABLE),
    "kubectl get secret -o json": (SECRETS + "/plain", "application/json"),
    "kubectl get configmaps -o name": (q("/api/v1/namespaces/%s/configmaps" % NS, limit=500), "application/json"),
    # the Python client (CoreV1Api)
    "client list": (q(SECRETS, labelSelector="owner=helm", limit=1), "application/json"),
    "client list all": (q(ALL_SECRETS, labelSelector="owner=helm"), "application/json"),
    "client read": (SECRETS + "/bare", "application/json"),
    "client read missing": (SECRETS + "/nope", "application/json"),
    "get in a missing namespace": ("/api/v1/namespaces/nowhere/secrets/x", "application/json"),
    "list in a missing namespace": ("/api/v1/namespaces/nowhere/secrets", "application/json"),
    "metadata-only get": (SECRETS + "/plain", META_ONE),
    "metadata-only get of a namespace": ("/api/v1/namespaces/" + NS, META_ONE),
    "serviceaccounts": ("/api/v1/namespaces/%s/serviceaccounts" % NS, "application/json"),
    # label selector forms
    **{"label " + sel: (q(SECRETS, labelSelector=sel), "application/json") for sel in (
        "owner=helm", "owner==helm", "owner = helm", "owner!=helm", "status in (deployed,failed)",
        "status notin (deployed,failed)", "owner", "!owner", "helmops.unstick/claim", "!helmops.unstick/claim",
        "owner in ()", "status notin ()", "app=", "app!=", "owner=HELM", "owner=helm,!status",
        "owner in (helm) , name=web", "name in (web),version in (1,3)",
        # malformed: 400 with the parser's message
        "Bad Key=1", "owner=helm,,", "a=b=c", "owner=he lm", "=x", "owner in (a", "k=-bad-", "owner in (a b)",
        "x>1", "version gt 1", "a==", "toolongvalue=" + "v" * 64)},
    # field selector forms
    **{"field " + sel: (q(SECRETS, fieldSelector=sel), "application/json") for sel in (
        "metadata.name=plain", "metadata.name!=plain", "metadata.name==bare", "metadata.namespace=" + NS,
        "type=Opaque", "type!=Opaque", "type=helm.sh/release.v1", "metadata.name=bare,metadata.name=plain",
        "spec.x=1", "metadata.name", "metadata.labels=x", "metadata.name in (a)")},
    "field configmap type": (q("/api/v1/namespaces/%s/configmaps" % NS, fieldSelector="type=Opaque"),
                             "application/json"),
    "field configmap name": (q("/api/v1/namespaces/%s/configmaps" % NS, fieldSelector="metadata.name=web-config"),
                             "application/json"),
    "field namespace name": (q("/api/v1/namespaces", fieldSelector="metadata.name=" + NS), "application/json"),
    "field namespace phase": (q("/api/v1/namespaces", fieldSelector="status.phase=Active"), "application/json"),
    "both selectors": (q(SECRETS, labelSelector="owner=helm", fieldSelector="metadata.name!=sh.helm.release.v1.web.v1"),
                       "application/json"),
    # paging and resourceVersion parameters
    "limit": (q(SECRETS, limit=2), "application/json"),
    "limit with a selector": (q(SECRETS, labelSelector="owner=helm", limit=2), META_LIST),
    "limit larger than the list": (q(SECRETS, limit=100), "application/json"),
    "limit=0": (q(SECRETS, limit=0), "application/json"),
    "limit=-1": (q(SECRETS, limit=-1), "application/json"),
    "limit=x": (q(SECRETS, limit="x"), "application/json"),
    "bad continue": (q(SECRETS, limit=2, **{"continue": "garbage"}), "application/json"),
    "resourceVersion=0": (q(SECRETS, resourceVersion=0), "application/json"),
    "resourceVersion=0 with limit": (q(SECRETS, resourceVersion=0, limit=2), "application/json"),
    "resourceVersion= (empty)": (q(SECRETS, resourceVersion=""), "application/json"),
    "resourceVersion=x": (q(SECRETS, resourceVersion="x"), "application/json"),
    "resourceVersionMatch=NotOlderThan without rv": (q(SECRETS, resourceVersionMatch="NotOlderThan"),
                                                     "application/json"),
    "resourceVersionMatch=NotOlderThan rv=0": (q(SECRETS, resourceVersionMatch="NotOlderThan", resourceVersion=0),
                                               "application/json"),
    "resourceVersionMatch=Bogus": (q(SECRETS, resourceVersionMatch="Bogus", resourceVersion=1), "application/json"),
    "get resourceVersion=0": (q(SECRETS + "/plain", resourceVersion=0), "application/json"),
    # discovery and non-resource paths
    "version": ("/version", "application/json, */*"),
    "healthz": ("/healthz", "*/*"),
    "readyz": ("/readyz", "*/*"),
    "livez": ("/livez", "*/*"),
    "unknown path": ("/nowhere", "application/json"),
    "unknown resource": ("/api/v1/widgets", "application/json"),
    "unknown namespaced resource": ("/api/v1/namespaces/%s/widgets/x" % NS, "application/json"),
    "legacy api": ("/api", "application/json, */*"),
}


@pytest.mark.parametrize("case", sorted(READS))
def test_reads_answer_alike(servers, case):
    path, accept = READS[case]
    assert_same(servers, "GET", path, headers={"Accept": accept})


# --- writes: the same sequence on both, each answer compared ----------------------------------------------
class Flow:
    """Steps sent to both servers in turn. A body or path may be a function of the server's own memo
    (what it answered before: its resourceVersions, uids, generated names)."""

    def __init__(self, servers):
        self.servers = servers
        self.memo = {s.name: {} for s in servers}
        self.diffs = []

    def __call__(self, method, path, body=None, keep=None, expect=None, **kw):
        answers = []
        for server in self.servers:
            memo = self.memo[server.name]
            answer = server.send(method, path(memo) if callable(path) else path,
                                 body(memo) if callable(body) else body, **kw)
            if keep and answer.json is not None:
                memo[keep] = answer.json
            answers.append(answer)
        real, local = answers
        diff = differences(shape(real), shape(local))
        self.diffs += ["%s %s -> %s: %s" % (method, path if isinstance(path, str) else "<path>", real.status, d)
                       for d in diff]
        if expect is not None:
            assert real.status == expect, (method, path, real)
        return real, local

    def check(self):
        assert self.diffs == [], "\n".join(self.diffs)


def rv(name):
    """A body's function: the memo's object ``name`` with its resourceVersion."""
    return lambda memo: memo[name]["metadata"]["resourceVersion"]


def test_secret_lifecycle_answers_alike(servers):
    """create, 409 AlreadyExists, get, PUT on the current / a stale / no resourceVersion, a no-op PUT,
    PUT errors, patches of every content type, delete preconditions, delete, 404s -- as the module, helm,
    kubectl and the Python client send them."""
    flow = Flow(servers)
    path = SECRETS + "/life"
    flow("POST", SECRETS, secret("life", release("life", 1, "pending-install")), keep="v1", expect=201)
    flow("POST", SECRETS, secret("life"), expect=409)
    flow("GET", path, keep="current", expect=200)
    flow("PUT", path, lambda m: dict(secret("life", release("life", 1, "deployed")),
                                     metadata=dict(m["v1"]["metadata"], labels=release("life", 1, "deployed"))),
         keep="v2", expect=200)
    flow("PUT", path, lambda m: dict(m["v1"], data={"k": "eA=="}), expect=409)          # stale: the module's guard
    flow("PUT", path, secret("life", release("life", 1, "superseded")), keep="v3", expect=200)   # no rv
    flow("PUT", path, lambda m: m["v3"], keep="v4", expect=200)                          # no change
    flow("GET", path, keep="v4", expect=200)
    real, local = flow.memo["real"], flow.memo["localkube"]
    assert (real["v4"]["metadata"]["resourceVersion"] == real["v3"]["metadata"]["resourceVersion"]) == \
        (local["v4"]["metadata"]["resourceVersion"] == local["v3"]["metadata"]["resourceVersion"]) is True
    flow("PUT", path, secret("other"), expect=400)                                      # name mismatch
    flow("PUT", SECRETS + "/missing", secret("missing"), expect=404)
    flow("PUT", path, lambda m: dict(m["v4"], type="kubernetes.io/tls"), expect=422)    # type is immutable
    flow("PATCH", path, {"metadata": {"labels": {"patched": "merge"}}},
         headers={"Content-Type": "application/merge-patch+json"}, expect=200)
    flow("PATCH", path, {"metadata": {"labels": {"patched": "strategic"}}},
         headers={"Content-Type": "application/strategic-merge-patch+json"}, expect=200)
    flow("PATCH", path, [{"op": "replace", "path": "/metadata/labels/patched", "value": "json"}],
         headers={"Content-Type": "application/json-patch+json"}, expect=200)
    flow("PATCH", path, [{"op": "test", "path": "/type", "value": "x"}],
         headers={"Content-Type": "application/json-patch+json"}, expect=422)
    flow("PATCH", path, {"a": 1}, headers={"Content-Type": "text/plain"}, expect=415)
    flow("PATCH", SECRETS + "/missing", {"a": 1}, headers={"Content-Type": "application/merge-patch+json"},
         expect=404)
    flow("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": "1"}},
         expect=409)
    flow("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                          "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}, expect=409)
    flow("DELETE", path, lambda m: {"kind": "DeleteOptions", "apiVersion": "v1",
                                    "preconditions": {"uid": m["v1"]["metadata"]["uid"]}}, expect=200)
    flow("DELETE", path, expect=404)
    flow("GET", path, expect=404)
    flow.check()


INVALID_CREATES = {
    "bad name": (SECRETS, secret("Bad_Name")),
    "no name": (SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {}}),
    "name too long": (SECRETS, secret("x" * 254)),
    "bad data key": (SECRETS, secret("badkey", data={"bad key": "dg=="})),
    "bad base64": (SECRETS, secret("b64", data={"k": "!!"})),
    "too large": (SECRETS, secret("big", data={"k": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()})),
    "wrong kind": (SECRETS, dict(configmap("wrongkind"))),
    "wrong apiVersion": (SECRETS, dict(secret("wrongapi"), apiVersion="v2")),
    "namespace mismatch": (SECRETS, dict(secret("nsmismatch"), metadata={"name": "nsmismatch", "namespace": "other"})),
    "labels not strings": (SECRETS, dict(secret("labels"), metadata={"name": "labels", "labels": {"a": 1}})),
    "bad label value": (SECRETS, secret("badlabel", {"a": "-x-"})),
    "bad label key": (SECRETS, secret("badlabelkey", {"a/b/c": "x"})),
    "configmap number": ("/api/v1/namespaces/%s/configmaps" % NS, configmap("cmnum", data={"a": 1})),
    "configmap key clash": ("/api/v1/namespaces/%s/configmaps" % NS,
                            configmap("cmclash", data={"a": "1"}, binaryData={"a": "dg=="})),
    "namespace bad name": ("/api/v1/namespaces",
                           {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad.NS"}}),
    "missing namespace": ("/api/v1/namespaces/nowhere/secrets", secret("orphan")),
    "not JSON": (SECRETS, b"not json"),
    "strict unknown fields": (q(SECRETS, fieldValidation="Strict"),
                              dict(secret("strict", foo=1, bar={"x": 1}), metadata={"name": "strict", "zz": 1})),
    "bogus fieldValidation": (q(SECRETS, fieldValidation="Bogus"), secret("bogusfv")),
    "bogus dryRun": (q(SECRETS, dryRun="Yes"), secret("bogusdry")),
}


@pytest.mark.parametrize("case", sorted(INVALID_CREATES))
def test_invalid_creates_refused_alike(servers, case):
    path, body = INVALID_CREATES[case]
    real, _ = assert_same(servers, "POST", path, body)
    assert real.status >= 400


def test_create_variants_answer_alike(servers):
    """Warnings for unknown fields, dry runs, generateName, stringData, immutable objects."""
    flow = Flow(servers)
    flow("POST", SECRETS, dict(secret("warned", foo=1, bar={"x": 1}), metadata={"name": "warned", "zz": 1}),
         expect=201)
    flow("POST", q(SECRETS, fieldValidation="Ignore"), dict(secret("ignored", foo=1)), expect=201)
    flow("POST", q(SECRETS, dryRun="All"), secret("dry"), expect=201)
    flow("GET", SECRETS + "/dry", expect=404)
    flow("POST", SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "gen-"}},
         keep="gen", expect=201)
    flow("GET", lambda m: SECRETS + "/" + m["gen"]["metadata"]["name"], expect=200)
    flow("POST", SECRETS, dict(secret("strdata"), stringData={"s": "text"}), expect=201)
    flow("POST", SECRETS, dict(secret("frozen"), immutable=True), keep="frozen", expect=201)
    flow("PUT", SECRETS + "/frozen", lambda m: dict(m["frozen"], data={"k": "eA=="}), expect=422)
    flow("POST", "/api/v1/namespaces/%s/configmaps" % NS, configmap("bin", binaryData={"b": "AAE="}), expect=201)
    flow("POST", "/api/v1/namespaces/%s/serviceaccounts" % NS,
         {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}, expect=201)
    flow("GET", "/api/v1/namespaces/%s/serviceaccounts/robot" % NS, expect=200)
    flow.check()


# --- who may do what: 401 / 403 as RBAC answers -------------------------------------------------------------
TEAM_SECRETS = "/api/v1/namespaces/%s/secrets" % TEAM_NAMESPACE
AUTH = {
    "reader lists all secrets": (READER_TOKEN, "GET", q(ALL_SECRETS, labelSelector="owner=helm"), None),
    "reader gets": (READER_TOKEN, "GET", SECRETS + "/plain", None),
    "reader creates": (READER_TOKEN, "POST", SECRETS, secret("by-reader")),
    "reader replaces": (READER_TOKEN, "PUT", SECRETS + "/plain", secret("plain")),
    "reader patches": (READER_TOKEN, "PATCH", SECRETS + "/plain", {"metadata": {"labels": {"x": "y"}}}),
    "reader deletes": (READER_TOKEN, "DELETE", SECRETS + "/plain", None),
    "reader deletes a collection": (READER_TOKEN, "DELETE", q(SECRETS, labelSelector="app=x"), None),
    "reader creates a namespace": (READER_TOKEN, "POST", "/api/v1/namespaces",
                                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nope"}}),
    "reader discovery": (READER_TOKEN, "GET", "/api", None),
    "team lists its namespace": (TEAM_TOKEN, "GET", q(TEAM_SECRETS, labelSelector="owner=helm"), None),
    "team gets in its namespace": (TEAM_TOKEN, "GET", TEAM_SECRETS + "/sh.helm.release.v1.team.v1", None),
    "team gets its namespace": (TEAM_TOKEN, "GET", "/api/v1/namespaces/" + TEAM_NAMESPACE, None),
    "team gets another namespace": (TEAM_TOKEN, "GET", "/api/v1/namespaces/" + NS, None),
    "team lists namespaces": (TEAM_TOKEN, "GET", "/api/v1/namespaces", None),
    "team lists all secrets": (TEAM_TOKEN, "GET", ALL_SECRETS, None),
    "team lists another namespace": (TEAM_TOKEN, "GET", SECRETS, None),
    "team gets in another namespace": (TEAM_TOKEN, "GET", SECRETS + "/plain", None),
    "team metadata list in another namespace": (TEAM_TOKEN, "GET", q(SECRETS, labelSelector=ODD, limit=500), None),
    "team creates in another namespace": (TEAM_TOKEN, "POST", SECRETS, secret("by-team")),
    "team discovery": (TEAM_TOKEN, "GET", "/api/v1", None),
    "team version": (TEAM_TOKEN, "GET", "/version", None),
    "wrong token": ("not-a-token", "GET", SECRETS, None),
    "wrong token on /version": ("not-a-token", "GET", "/version", None),
    "anonymous list": (None, "GET", SECRETS, None),
    "anonymous get": (None, "GET", SECRETS + "/plain", None),
    "anonymous create": (None, "POST", SECRETS, secret("by-nobody")),
    "anonymous cluster-wide": (None, "GET", ALL_SECRETS, None),
    "anonymous namespace": (None, "GET", "/api/v1/namespaces/" + NS, None),
    "anonymous discovery": (None, "GET", "/api", None),
    "anonymous openapi": (None, "GET", "/openapi/v3", None),
    "anonymous unknown path": (None, "GET", "/nowhere", None),
    "anonymous version": (None, "GET", "/version", None),
    "anonymous healthz": (None, "GET", "/healthz", None),
}


@pytest.mark.parametrize("case", sorted(AUTH))
def test_authentication_and_rbac_answer_alike(servers, case):
    token, method, path, body = AUTH[case]
    real, _ = assert_same(servers, method, path, body, token=token,
                          headers={"Accept": META_LIST if "metadata" in case else "application/json"})
    if "reader" in case and method != "GET" or "another" in case or "lists namespaces" in case:
        assert real.status == 403, real          # the case means what it says
    if "anonymous" in case and not case.endswith(("version", "healthz")):
        assert real.status == 403
    if "wrong token" in case:
        assert real.status == 401


# --- paging, methods, collections ----------------------------------------------------------------------------
@pytest.mark.parametrize("selector", [None, "owner=helm"])
@pytest.mark.parametrize("accept", ["application/json", META_LIST])
def test_paging_walks_alike(servers, selector, accept):
    """limit + continue, as the module (limit=500, here 2) and kubectl page: the same pages, the same
    remainingItemCount (none with a selector), each server's own continue tokens."""
    flow = Flow(servers)
    params = {"limit": 2, **({"labelSelector": selector} if selector else {})}
    flow("GET", q(SECRETS, **params), keep="page", headers={"Accept": accept}, expect=200)
    for _ in range(10):
        tokens = {name: (memo["page"].get("metadata") or {}).get("continue") for name, memo in flow.memo.items()}
        assert bool(tokens["real"]) == bool(tokens["localkube"]), tokens
        if not tokens["real"]:
            break
        flow("GET", lambda m: q(SECRETS, **params, **{"continue": m["page"]["metadata"]["continue"]}),
             keep="page", headers={"Accept": accept}, expect=200)
    else:
        raise AssertionError("more than 10 pages")
    flow.check()


def test_continue_with_a_resource_version_is_refused_alike(servers):
    flow = Flow(servers)
    flow("GET", q(SECRETS, limit=1), keep="first", expect=200)
    flow("GET", lambda m: q(SECRETS, limit=1, resourceVersion=m["first"]["metadata"]["resourceVersion"],
                            **{"continue": m["first"]["metadata"]["continue"]}), expect=400)
    flow("GET", lambda m: q(SECRETS, limit=1, resourceVersion=0, **{"continue": m["first"]["metadata"]["continue"]}),
         expect=200)
    flow("GET", lambda m: q(SECRETS, limit=1, resourceVersionMatch="NotOlderThan",
                            **{"continue": m["first"]["metadata"]["continue"]}), expect=422)
    flow("GET", q(SECRETS, limit=1, **{"continue": "e30"}), expect=400)
    flow.check()


METHODS = {
    "PUT on a collection": ("PUT", SECRETS, {}),
    "POST on an object": ("POST", SECRETS + "/plain", {}),
    "DELETE of the namespaces collection": ("DELETE", "/api/v1/namespaces", None),
    "POST to /version": ("POST", "/version", {}),
    "delete a collection, nothing matches": ("DELETE", q(SECRETS, labelSelector="nothing=here"), None),
    "delete a collection, bad selector": ("DELETE", q(SECRETS, labelSelector="x==="), None),
    "delete a collection, dry run": ("DELETE", q(SECRETS, labelSelector="app=x", dryRun="All"), None),
    "delete with a bad body": ("DELETE", SECRETS + "/plain", b"{bad"),
    "delete, bogus dryRun": ("DELETE", q(SECRETS + "/plain", dryRun="Yes"), None),
    "put, bogus fieldValidation": ("PUT", q(SECRETS + "/plain", fieldValidation="Bogus"), secret("plain")),
    "patch, force without apply": ("PATCH", q(SECRETS + "/plain", force="true"), {"a": "b"}),
    "apply without fieldManager": ("PATCH", SECRETS + "/plain", b"kind: Secret"),
    "apply without kind": ("PATCH", q(SECRETS + "/plain", fieldManager="x"), b'{"metadata":{"name":"plain"}}'),
    "apply of another name": ("PATCH", q(SECRETS + "/plain", fieldManager="x"),
                              b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"zz"}}'),
    "merge patch, bad JSON": ("PATCH", SECRETS + "/plain", b"{bad"),
    "merge patch, a list": ("PATCH", SECRETS + "/plain", b"[1]"),
    "strategic patch, bad JSON": ("PATCH", SECRETS + "/plain", b"{bad"),
    "json patch, an object": ("PATCH", SECRETS + "/plain", b"{}"),
    "json patch, unknown op": ("PATCH", SECRETS + "/plain", [{"op": "bogus", "path": "/x"}]),
    "json patch, missing path": ("PATCH", SECRETS + "/plain", [{"op": "remove", "path": "/metadata/labels/nope"}]),
    "post, unsupported media type": ("POST", SECRETS, b"a: b"),
}
_PATCH_TYPES = {"apply": "application/apply-patch+yaml", "merge": "application/merge-patch+json",
                "strategic": "application/strategic-merge-patch+json", "json patch": "application/json-patch+json",
                "force": "application/merge-patch+json"}


@pytest.mark.parametrize("case", sorted(METHODS))
def test_refusals_answer_alike(servers, case):
    method, path, body = METHODS[case]
    ctype = next((v for k, v in _PATCH_TYPES.items() if k in case), "application/json")
    if "media type" in case:
        ctype = "text/plain"
    real, _ = assert_same(servers, method, path, body, headers={"Content-Type": ctype} if body is not None else None)
    if "nothing matches" not in case and "dry run" not in case:
        assert real.status >= 400, real


def test_delete_collection_answers_alike(servers):
    flow = Flow(servers)
    for name in ("gone-1", "gone-2", "stays"):
        flow("POST", "/api/v1/namespaces/%s/configmaps" % NS, configmap(name, {"sweep": name[:4]}), expect=201)
    flow("DELETE", q("/api/v1/namespaces/%s/configmaps" % NS, labelSelector="sweep=gone"), expect=200)
    flow("GET", q("/api/v1/namespaces/%s/configmaps" % NS, labelSelector="sweep"), expect=200)
    flow.check()


# --- server-side apply: helm 4 and kubectl --server-side ----------------------------------------------------
def test_server_side_apply_answers_alike(servers):
    """helm 4 applies its chart's objects (``fieldManager=helm&fieldValidation=Strict&force=false``): create,
    re-apply without a key (it goes), another manager, an Update taking a field, a conflict, force."""
    flow = Flow(servers)
    cms = "/api/v1/namespaces/%s/configmaps" % NS
    apply = {"Content-Type": "application/apply-patch+yaml"}

    def chart(data, labels=None):
        return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "chart", "labels": labels or {"app.kubernetes.io/instance": "web"}},
                           "data": data}).encode()
    helm = q(cms + "/chart", fieldManager="helm", fieldValidation="Strict", force="false")
    flow("GET", cms + "/chart", expect=404)
    flow("PATCH", helm, chart({"message": "hello", "chartVersion": "0.1.0"}), headers=apply, expect=201)
    flow("PATCH", helm, chart({"message": "hello"}), headers=apply, expect=200)
    flow("PATCH", q(cms + "/chart", fieldManager="kubectl", force="false"),
         json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chart", "labels": {"team": "a"}},
                     "data": {"extra": "1"}}).encode(), headers=apply, expect=200)
    flow("PATCH", cms + "/chart", {"data": {"message": "edited", "manual": "x"}},
         headers={"Content-Type": "application/merge-patch+json", "User-Agent": "kubectl-edit/v1.32.4"}, expect=200)
    flow("PATCH", helm, chart({"message": "hello", "manual": "y"}), headers=apply, expect=409)
    flow("PATCH", q(cms + "/chart", fieldManager="helm", force="true"), chart({"message": "hello"}), headers=apply,
         expect=200)
    flow("PATCH", helm, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chart"},
                                    "bogus": 1}).encode(), headers=apply, expect=500)   # sic
    flow("GET", cms + "/chart", expect=200)
    flow.check()


def test_kubectl_client_side_apply_answers_alike(servers):
    """kubectl apply (client side): GET 404, POST with the last-applied annotation, then a JSON patch; kubectl
    label (merge patch), kubectl delete."""
    flow = Flow(servers)
    cms = "/api/v1/namespaces/%s/configmaps" % NS
    kubectl = {"User-Agent": "kubectl/v1.32.4 (linux/amd64) kubernetes/abc"}
    first = configmap("applied", data={"x": "1"})
    first["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(first)}
    flow("GET", cms + "/applied", headers=kubectl, expect=404)
    flow("POST", q(cms, fieldManager="kubectl-client-side-apply", fieldValidation="Strict"), first,
         headers=kubectl, expect=201)
    flow("PATCH", q(cms + "/applied", fieldManager="kubectl-client-side-apply", fieldValidation="Strict"),
         [{"op": "replace", "path": "/data/x", "value": "2"}],
         headers=dict(kubectl, **{"Content-Type": "application/json-patch+json"}), expect=200)
    flow("PATCH", q(cms + "/applied", fieldManager="kubectl-label"), {"metadata": {"labels": {"k": "v"}}},
         headers=dict(kubectl, **{"Content-Type": "application/merge-patch+json"}), expect=200)
    flow("DELETE", cms + "/applied", {"propagationPolicy": "Background"}, headers=kubectl, expect=200)
    flow("GET", cms + "/applied", headers=kubectl, expect=404)
    flow.check()


# --- namespaces ------------------------------------------------------------------------------------------------
def test_namespace_create_and_delete_answer_alike(servers):
    """Creating and deleting a namespace answers alike (the DELETE answers the namespace, Terminating). What
    follows differs on purpose (KNOWN): realkube runs no namespace controller, so its namespace stays
    Terminating and refuses new content; localkube empties and removes it at once, as a cluster's controller
    soon does."""
    flow = Flow(servers)
    flow("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}},
         expect=201)
    flow("POST", "/api/v1/namespaces/doomed/configmaps", configmap("inside"), expect=201)
    flow("DELETE", "/api/v1/namespaces/doomed", expect=200)
    flow.check()
    real, local = both(servers, "GET", "/api/v1/namespaces/doomed")
    assert (real.status, real.json["status"]["phase"]) == (200, "Terminating")
    assert local.status == 404 and local.json["reason"] == "NotFound"                      # KNOWN
    real, local = both(servers, "POST", "/api/v1/namespaces/doomed/configmaps", configmap("late"))
    assert real.status == 403 and real.json["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    assert local.status == 404                                                            # KNOWN: it is gone


# --- watch: helm 4's --wait=watcher (kstatus) lists, then watches ------------------------------------------------
def watch_shape(answer):
    """A watch answer as (code, content type, [(event type, kind, name, labels, bookmark annotation, keys)]).
    The plain BOOKMARK kube-apiserver sends as the watch times out (allowWatchBookmarks=true) is left out: under
    load it may miss a 1 s watch (localkube always sends it; test_watches_answer_alike checks that)."""
    if answer.status != 200:
        return shape(answer)
    events = []
    lines = [json.loads(line) for line in answer.raw.splitlines() if line.strip()]
    if lines and lines[-1].get("type") == "BOOKMARK" and not (
            (lines[-1]["object"].get("metadata") or {}).get("annotations")):
        lines.pop()
    for event in lines:
        obj = event.get("object") or {}
        meta = obj.get("metadata") or {}
        events.append((event.get("type"), obj.get("kind"), obj.get("apiVersion"), meta.get("name"),
                       meta.get("labels"), (meta.get("annotations") or {}).get("k8s.io/initial-events-end"),
                       sorted(meta), sorted(obj)))
    return {"code": answer.status, "headers": header_shape(answer, time.time()), "events": events}


def parallel(servers, fn):
    """``fn(server)`` on both servers at once (watches take their timeoutSeconds)."""
    out = {}
    threads = [threading.Thread(target=lambda s=s: out.__setitem__(s.name, fn(s))) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out["real"], out["localkube"]


WATCHES = {
    "initial events, no resourceVersion": q(SECRETS, watch=1, labelSelector="owner=helm", timeoutSeconds=1),
    "initial events, resourceVersion=0": q(SECRETS, watch="true", resourceVersion=0,
                                           fieldSelector="metadata.name=plain",
                                           timeoutSeconds=1),
    "sendInitialEvents with a bookmark": q(SECRETS, watch=1, labelSelector="owner=helm", sendInitialEvents="true",
                                           resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true",
                                           timeoutSeconds=1),
    "sendInitialEvents without resourceVersionMatch": q(SECRETS, watch=1, sendInitialEvents="true", timeoutSeconds=1),
    "bad resourceVersion": q(SECRETS, watch=1, resourceVersion="x", timeoutSeconds=1),
    "bad selector": q(SECRETS, watch=1, labelSelector="x===", timeoutSeconds=1),
    "reader may watch": q(SECRETS, watch=1, labelSelector="name=db", timeoutSeconds=1),
    "team may not watch here": q(SECRETS, watch=1, timeoutSeconds=1),
    # not watches, but slow too: a read at a resourceVersion the server has not reached waits 3 s, then 504
    "list at a future resourceVersion": q(SECRETS, resourceVersion=10 ** 9, limit=1),
    "get at a future resourceVersion": q(SECRETS + "/plain", resourceVersion=10 ** 9),
}


def _watch_changes(server):
    """A watch from a list's resourceVersion, and changes made meanwhile: ADDED, MODIFIED, DELETED."""
    start = server.send("GET", q(SECRETS, labelSelector="watched")).json["metadata"]["resourceVersion"]
    result = {}
    watcher = threading.Thread(target=lambda: result.__setitem__("w", server.send(
        "GET", q(SECRETS, watch=1, labelSelector="watched", resourceVersion=start, timeoutSeconds=2))))
    watcher.start()
    time.sleep(0.5)
    server.send("POST", SECRETS, secret("watched", {"watched": "yes"}))
    server.send("PATCH", SECRETS + "/watched", {"metadata": {"labels": {"more": "1"}}},
                headers={"Content-Type": "application/merge-patch+json"})
    server.send("POST", SECRETS, secret("unwatched", {"other": "x"}))
    server.send("DELETE", SECRETS + "/watched")
    watcher.join(10)
    return watch_shape(result["w"])


def test_watches_answer_alike(servers):
    """All the watch cases at once (each takes its timeoutSeconds), and a watch that sees changes: the same
    events in the same order."""
    def run(server):
        out = {}
        threads = [threading.Thread(target=lambda: out.__setitem__("changes", _watch_changes(server)))]
        for case, path in WATCHES.items():
            token = READER_TOKEN if "reader" in case else TEAM_TOKEN if "team" in case else ADMIN_TOKEN
            threads.append(threading.Thread(
                target=lambda c=case, p=path, t=token: out.__setitem__(c, server.send("GET", p, token=t))))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return out
    real_answers, local_answers = parallel(servers, run)
    real, local = ({case: a if case == "changes" else watch_shape(a) for case, a in answers.items()}
                   for answers in (real_answers, local_answers))
    diffs = ["%s: %s" % (case, d) for case in list(WATCHES) + ["changes"] for d in differences(real[case], local[case])]
    assert diffs == [], "\n".join(diffs)
    assert [e[0] for e in real["sendInitialEvents with a bookmark"]["events"]][-1] == "BOOKMARK"
    assert real["bad resourceVersion"]["code"] == 500 and real["team may not watch here"]["code"] == 403
    assert real["list at a future resourceVersion"]["code"] == 504
    assert real["list at a future resourceVersion"]["headers"]["Retry-After"] == "1"
    assert [e[0] for e in real["changes"]["events"]] == ["ADDED", "MODIFIED", "DELETED"]
    # the timeout bookmark watch_shape leaves out: kube-apiserver sends one as a watch ends (when its cache gets
    # to it in time), localkube always does
    last = json.loads(local_answers["sendInitialEvents with a bookmark"].raw.splitlines()[-1])
    assert last["type"] == "BOOKMARK" and last["object"]["metadata"].keys() == {"resourceVersion"}


META_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"   # the EDA event source's watch


def _metadata_watches(server):
    """The EDA event source's metadata-only list and watch (extensions/eda/plugins/event_source): initial events
    up to a bookmark, and a watch from a list's resourceVersion that sees a record created, patched, deleted."""
    listed = server.send("GET", q(SECRETS, labelSelector="metawatched"),
                         headers={"Accept": META_LIST.split(",")[0]})
    start = listed.json["metadata"]["resourceVersion"]
    out = {"list": shape(listed)}
    watcher = threading.Thread(target=lambda: out.__setitem__("changes", server.send(
        "GET", q(SECRETS, watch=1, labelSelector="metawatched", resourceVersion=start, allowWatchBookmarks="true",
                 timeoutSeconds=2), headers={"Accept": META_WATCH})))
    watcher.start()
    time.sleep(0.5)
    server.send("POST", SECRETS, secret("metawatched", {"metawatched": "yes"}))
    server.send("PATCH", SECRETS + "/metawatched", {"metadata": {"labels": {"more": "1"}}},
                headers={"Content-Type": "application/merge-patch+json"})
    server.send("DELETE", SECRETS + "/metawatched")
    watcher.join(10)
    out["initial"] = server.send("GET", q(SECRETS, watch=1, labelSelector="owner=helm", sendInitialEvents="true",
                                          resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true",
                                          timeoutSeconds=1), headers={"Accept": META_WATCH})
    return out


def test_metadata_only_watches_answer_alike(servers):
    """As Accept ...;as=PartialObjectMetadata asks: every event's object is PartialObjectMetadata (bookmarks
    included), the same events in the same order, no record data."""
    real, local = parallel(servers, _metadata_watches)
    for case in ("changes", "initial"):
        assert differences(watch_shape(real[case]), watch_shape(local[case])) == [], case
    assert differences(real["list"], local["list"]) == []
    changes = watch_shape(real["changes"])["events"]
    assert [e[0] for e in changes] == ["ADDED", "MODIFIED", "DELETED"]
    assert {e[1] for e in changes} == {"PartialObjectMetadata"}
    assert watch_shape(real["initial"])["events"][-1][:2] == ("BOOKMARK", "PartialObjectMetadata")
    for answer in (real["changes"], real["initial"], local["changes"], local["initial"]):
        assert b'"data"' not in answer.raw


# --- discovery --------------------------------------------------------------------------------------------------
def test_legacy_discovery_of_the_served_resources_is_alike(servers):
    """kubectl and helm fall back to /api/v1 (see KNOWN): the entries of the kinds localkube serves are
    kube-apiserver's (name, singularName, namespaced, kind, verbs, shortNames, a storageVersionHash)."""
    real, local = both(servers, "GET", "/api/v1", headers={"Accept": "application/json, */*"})
    assert (real.status, real.header("Content-Type")) == (local.status, local.header("Content-Type")) == (
        200, "application/json")

    def entries(answer):
        return {e["name"]: {k: (bool(v) if k == "storageVersionHash" else v) for k, v in e.items()}
                for e in answer.json["resources"] if e["name"] in ("secrets", "configmaps", "namespaces",
                                                                   "serviceaccounts", "events")}
    assert entries(real) == entries(local) and len(entries(real)) == 5
    assert (real.json["kind"], real.json["groupVersion"]) == (local.json["kind"], local.json["groupVersion"])
    real, local = both(servers, "GET", "/openapi/v3", headers={"Accept": "application/json, */*"})
    assert real.header("Content-Type") == local.header("Content-Type") == "text/plain; charset=utf-8"
    for answer in (real, local):
        assert "?hash=" in json.loads(answer.raw)["paths"]["api/v1"]["serverRelativeURL"]


# --- what differs on purpose (tests/support/localkube/WIRE_NOTES.md, "Known differences") ---------------------------
def test_known_differences(servers):
    """Each documented difference, asserted as it is, so a change on either side shows here."""
    # 1. protobuf: helm's storage driver asks for it first; kube-apiserver answers protobuf, localkube JSON
    #    (which the Accept header allows): the same object either way
    from localkube import protobuf
    real, local = both(servers, "GET", SECRETS + "/sh.helm.release.v1.web.v2", headers={"Accept": PROTOBUF})
    assert real.header("Content-Type") == "application/vnd.kubernetes.protobuf"
    assert local.header("Content-Type") == "application/json"
    decoded = protobuf.decode(real.raw)
    assert (decoded["metadata"]["labels"], decoded["data"], decoded["type"]) == (
        local.json["metadata"]["labels"], local.json["data"], local.json["type"])
    # 2. aggregated discovery: kube-apiserver answers APIGroupDiscoveryList; localkube the legacy documents,
    #    on which client-go falls back to /api/v1 (one request more, the same resources)
    real, local = both(servers, "GET", "/api", headers={"Accept": DISCOVERY})
    assert real.header("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert real.json["kind"] == "APIGroupDiscoveryList"
    assert (local.header("Content-Type"), local.json["kind"]) == ("application/json", "APIVersions")
    real, local = both(servers, "GET", "/apis", headers={"Accept": DISCOVERY})
    assert real.json["kind"] == "APIGroupDiscoveryList" and local.json == {
        "kind": "APIGroupList", "apiVersion": "v1", "groups": [         # localkube serves only Leases beyond core/v1
            {"name": "coordination.k8s.io", "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}}]}
    # 3. the version: localkube says 1.32 (kubectl's minor, no skew warning), realkube is 1.36
    real, local = both(servers, "GET", "/version")
    assert real.json["gitVersion"].startswith("v1.36.") and local.json["gitVersion"] == "v1.32.0-localkube"
    # 4. LocalKube() creates a missing namespace on write (auto_create_namespaces=True, the default; this test's
    #    localkube turns it off and answers 404 as kube-apiserver does)
    with LocalKube() as default:
        code, _, _ = _raw(default, "POST", "/api/v1/namespaces/brand-new/secrets", secret("x"))
        assert code == 201 and default.store.get("namespaces", None, "brand-new") is not None
    assert both(servers, "POST", "/api/v1/namespaces/brand-new/secrets", secret("x"))[0].status == 404
    # 5. an Exact list at an older resourceVersion: kube-apiserver serves that snapshot (until etcd compacts
    #    it, then 410); localkube keeps no history and serves the current state
    flow = Flow(servers)
    flow("GET", q(SECRETS, labelSelector="snapshot"), keep="before", expect=200)
    flow("POST", SECRETS, secret("later", {"snapshot": "later"}), expect=201)
    answers = [s.send("GET", q(SECRETS, labelSelector="snapshot", resourceVersionMatch="Exact",
                                resourceVersion=flow.memo[s.name]["before"]["metadata"]["resourceVersion"]))
               for s in servers]
    assert [len(a.json["items"]) for a in answers] == [0, 1]                           # real, localkube
    # 6. API Priority and Fairness headers: kube-apiserver names the flow schema; localkube has none
    real, local = both(servers, "GET", "/version")
    assert real.header("X-Kubernetes-Pf-Flowschema-Uid") and local.header("X-Kubernetes-Pf-Flowschema-Uid") is None


def _raw(kube, method, path, body=None):
    from localkube.testing import raw
    return raw(kube, method, path, body)


# --- the real clients, each against both servers ------------------------------------------------------------------
def _module(server, token):
    """The module's own client code (plugins/module_utils/k8s) bound to ``server`` with ``token``."""
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
    conn = connection.resolve({"host": server.url, "api_key": token, "ca_cert": server.ca_file}, environ={})
    api = KubeApi(conn.api_client(retries=connection.client_retries()), timeout=30)
    return api, ReleaseStorage(api, "secret")


def _outcome(fn):
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
    try:
        return ("ok", fn())
    except ApiError as err:
        return ("error", err.status, err.reason, norm_text(err.message))


def _names(items):
    return [((i.get("metadata") or {}).get("namespace"), (i.get("metadata") or {}).get("name"),
             (i.get("metadata") or {}).get("labels"), sorted(i)) for i in items]


def _scan(storage, namespaces=None):
    result = storage.scan(namespaces)
    date = email.utils.parsedate_to_datetime(result.server_date).timestamp() if result.server_date else None
    return {"items": _names(result.items), "date": date is not None and abs(date - time.time()) < 60,
            "forbidden": [(ns, norm_text(msg)) for ns, msg in result.forbidden]}


def module_session(server):
    """What the module does on a cluster: its scans as admin, as a reader and as a namespace-limited user,
    histories, lookups, a guarded replace (conflict on a stale resourceVersion) -- its results, not bytes."""
    api, storage = _module(server, ADMIN_TOKEN)
    _, reader = _module(server, READER_TOKEN)
    _, team = _module(server, TEAM_TOKEN)
    out = {
        "scan": _outcome(lambda: _scan(storage)),
        "scan named": _outcome(lambda: _scan(storage, [NS, TEAM_NAMESPACE, "nowhere"])),
        "reader scan": _outcome(lambda: _scan(reader)),
        "team scan": _outcome(lambda: _scan(team)),
        "team scan named": _outcome(lambda: _scan(team, [TEAM_NAMESPACE, NS])),
        "revisions": _outcome(lambda: _names(storage.revisions(NS, "web"))),
        "histories": _outcome(lambda: {k: _names(v) for k, v in storage.histories(NS, ["web", "db", "api", "gone"])
                                       .items()}),
        "team histories": _outcome(lambda: team.histories(NS, ["web", "db"])),
        "records": _outcome(lambda: [(i["metadata"]["name"], sorted(i), i.get("data")) for i in
                                     storage.records(NS, "web")]),
        "release exists": _outcome(lambda: (storage.release_exists("web"), storage.release_exists("gone"),
                                            storage.release_exists("web", [TEAM_NAMESPACE]))),
        "team release exists": _outcome(lambda: team.release_exists("web")),
        "namespace exists": _outcome(lambda: (storage.namespace_exists(NS), storage.namespace_exists("nowhere"),
                                              team.namespace_exists(NS))),
        # (without the namespace test_namespace_create_and_delete_answer_alike leaves Terminating on realkube)
        "namespaces": _outcome(lambda: [n for n in storage.list_namespaces() if n != "doomed"]),
        "get": _outcome(lambda: object_shape(storage.get(NS, "sh.helm.release.v1.web.v3"))),
        "get missing": _outcome(lambda: storage.get(NS, "sh.helm.release.v1.web.v9")),
    }
    record = storage.get(NS, "sh.helm.release.v1.api.v1")
    stale = json.loads(json.dumps(record))
    record["metadata"]["labels"]["status"] = "failed"
    out["replace"] = _outcome(lambda: object_shape(storage.replace(record)))
    out["replace stale"] = _outcome(lambda: storage.replace(stale))
    out["reader replace"] = _outcome(lambda: reader.replace(stale))
    out["requests"] = api.requests
    return out


def test_the_modules_client_gets_the_same_results(servers):
    real, local = (module_session(s) for s in servers)
    assert differences(real, local) == []
    assert real["replace stale"][:3] == ("error", 409, "Conflict")
    assert real["team scan"][0] == "error" and real["team scan"][1] == 403
    assert [ns for ns, _ in real["team scan named"][1]["forbidden"]] == [NS]
    assert [i[1] for i in real["scan"][1]["items"]] == ["sh.helm.release.v1.team.v1", "sh.helm.release.v1.web.v3",
                                                        "sh.helm.release.v1.db.v1"]


def _template(method, path, accept):
    """A request's form: names and values left out (method, path with {ns}/{name}, query keys, Accept)."""
    parts = urllib.parse.urlsplit(path)
    segs = parts.path.strip("/").split("/")
    if len(segs) >= 4 and segs[2] == "namespaces":
        segs[3] = "{ns}" if len(segs) > 4 else "{name}"
    if len(segs) >= 6:
        segs[5] = "{name}"
    return (method, "/".join(segs), tuple(sorted(urllib.parse.parse_qs(parts.query))), accept or "")


def test_the_replayed_requests_cover_what_the_module_sends(servers):
    """Every GET the module sent to localkube above has the form of one replayed in READS or AUTH."""
    local = servers[1]
    local.kube.requests.clear()
    module_session(local)
    sent = {_template(r["method"], r["path"], r["accept"]) for r in local.kube.requests if r["method"] == "GET"}
    replayed = {_template("GET", path, accept) for path, accept in READS.values()}
    replayed |= {_template("GET", path, META_LIST if "metadata" in case else "application/json")
                 for case, (_token, method, path, _body) in AUTH.items() if method == "GET"}
    assert sent and sent <= replayed, sorted(sent - replayed)
    assert any("PartialObjectMetadataList" in t[3] and "labelSelector" in t[2] for t in sent)


KUBECTL = [
    # (context, args, stdin): kubectl get / create / apply / label / delete as users type them
    ("realkube", ["get", "secrets", "-n", NS, "-l", "owner=helm"], None),
    ("realkube", ["get", "secrets", "-n", NS, "-l", "owner=helm,status notin (deployed,superseded)", "-o", "name"],
     None),
    ("realkube", ["get", "configmaps", "-A", "-l", "app"], None),
    ("realkube", ["get", "secret", "plain", "-n", NS, "-o", "jsonpath={.metadata.labels}{.data}{.type}"], None),
    ("realkube", ["get", "secret", "nope", "-n", NS], None),
    ("realkube", ["get", "secrets", "-n", NS, "-l", "bad key"], None),
    ("realkube", ["create", "secret", "generic", "by-kubectl", "-n", NS, "--from-literal=a=b"], None),
    ("realkube", ["create", "secret", "generic", "by-kubectl", "-n", NS, "--from-literal=a=b"], None),
    ("realkube", ["apply", "-f", "-"], json.dumps(configmap("kc-cm", data={"x": "1"}, metadata={"name": "kc-cm",
                                                                                              "namespace": NS}))),
    ("realkube", ["apply", "-f", "-"], json.dumps(configmap("kc-cm", data={"x": "2"}, metadata={"name": "kc-cm",
                                                                                              "namespace": NS}))),
    ("realkube", ["apply", "--server-side", "-f", "-"],
     json.dumps(configmap("kc-cm", data={"x": "3"}, metadata={"name": "kc-cm", "namespace": NS}))),
    ("realkube", ["label", "configmap", "kc-cm", "-n", NS, "k=v"], None),
    ("realkube", ["get", "configmap", "kc-cm", "-n", NS, "-o",
                  "jsonpath={.data}{.metadata.labels}{.metadata.annotations}"], None),
    ("realkube", ["get", "configmap", "kc-cm", "-n", NS, "-o",
                  "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}/{.fieldsV1}; {end}"], None),
    ("realkube", ["delete", "configmap", "kc-cm", "-n", NS], None),
    ("realkube", ["delete", "secret", "by-kubectl", "-n", NS], None),
    ("reader", ["get", "secrets", "-A", "-l", "owner=helm", "-o", "name"], None),
    ("reader", ["create", "secret", "generic", "nope", "-n", NS, "--from-literal=a=b"], None),
    ("team-a", ["get", "secrets", "-o", "name"], None),
    ("team-a", ["get", "secrets", "-n", NS], None),
    ("team-a", ["get", "secrets", "-A"], None),
]


def _kubectl(server, context, args, stdin):
    proc = subprocess.run(["kubectl", "--kubeconfig", server.kubeconfig, "--context", context] + args, input=stdin,
                          capture_output=True, text=True, timeout=60)
    norm = lambda text: re.sub(r"(?m)\b\d+[smhd]\b$|\b\d+[smhd](?=\s)", "<age>", text.replace(server.url, "<server>"))
    return proc.returncode, norm(proc.stdout), norm(proc.stderr)


def test_kubectl_sees_the_same(servers):
    """kubectl's output and exit code, command by command, against both servers."""
    def run(server):
        return [_kubectl(server, *command) for command in KUBECTL]
    real, local = parallel(servers, run)
    diffs = ["kubectl %s: real %r, localkube %r" % (" ".join(c[1]), a, b)
             for c, a, b in zip(KUBECTL, real, local) if a != b]
    assert diffs == [], "\n".join(diffs)
    assert real[4][0] == 1 and "NotFound" in real[4][2]
    assert real[-3][1].startswith("secret/sh.helm.release.v1.team.v1") and "Forbidden" in real[-2][2]


def _client(server, token=ADMIN_TOKEN):
    from kubernetes import client
    cfg = client.Configuration()
    cfg.host, cfg.ssl_ca_cert, cfg.retries = server.url, server.ca_file, False
    cfg.api_key, cfg.api_key_prefix = {"authorization": token}, {"authorization": "Bearer"}
    return client.CoreV1Api(client.ApiClient(cfg))


def python_client_session(server):
    """CoreV1Api as tests and tools use it: create (stringData), list with a selector and a limit, read,
    replace, patch, cluster-wide list, delete; the errors as ApiException status and body."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    api = _client(server)
    plain = api.api_client.sanitize_for_serialization

    def call(fn):
        try:
            result = plain(fn())
        except ApiException as err:
            body = json.loads(err.body) if err.body else None
            return ("error", err.status, err.reason, status_shape(body) if body else None)
        if isinstance(result, dict) and "items" in result:
            return ("ok", list_shape(result))
        if isinstance(result, dict) and result.get("kind") == "Status":
            return ("ok", status_shape(result))
        return ("ok", object_shape(result))
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="by-client", labels={"owner": "helm", "name": "pc"}),
                           string_data={"a": "b"})
    out = [call(lambda: api.create_namespaced_secret(NS, body)),
           call(lambda: api.create_namespaced_secret(NS, body)),
           call(lambda: api.list_namespaced_secret(NS, label_selector="owner=helm", limit=2)),
           call(lambda: api.list_namespaced_secret(NS, label_selector="owner=helm,name=pc")),
           call(lambda: api.read_namespaced_secret("by-client", NS))]
    current = api.read_namespaced_secret("by-client", NS)
    current.metadata.labels["status"] = "deployed"
    out.append(call(lambda: api.replace_namespaced_secret("by-client", NS, current)))
    out.append(call(lambda: api.replace_namespaced_secret("by-client", NS, current)))      # stale now: 409
    out.append(call(lambda: api.patch_namespaced_secret("by-client", NS, {"metadata": {"labels": {"x": "y"}}})))
    out.append(call(lambda: api.list_secret_for_all_namespaces(label_selector="name=pc")))
    out.append(call(lambda: api.read_namespace(NS)))
    out.append(call(lambda: api.list_namespaced_config_map(NS, field_selector="metadata.name=web-config")))
    out.append(call(lambda: api.delete_namespaced_secret("by-client", NS)))
    out.append(call(lambda: api.delete_namespaced_secret("by-client", NS)))
    out.append(call(lambda: _client(server, READER_TOKEN).create_namespaced_secret(NS, body)))
    out.append(call(lambda: _client(server, "wrong").list_namespaced_secret(NS)))
    return out


def test_the_python_client_gets_the_same(servers):
    real, local = (python_client_session(s) for s in servers)
    assert differences(real, local) == []
    assert [r[1] for r in real if r[0] == "error"] == [409, 409, 404, 403, 401]


HELM_NS = "helm-wire"


def _helm_norm(server, text):
    text = text.replace(server.url, "<server>")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "<time>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} UTC", "<time>", text)
    return re.sub(r"(LAST DEPLOYED|DEPLOYED|UPDATED): [^\n]*", r"\1: <time>", text)


def helm_session(server):
    """Real helm 4 (.tools) on a release of its own: install, upgrade, history, list, rollback, status,
    a refused install over it, uninstall -- exit codes and outputs (json where helm has it)."""
    import tools
    from helmfix import CHART
    from realhelm import RealHelm
    server.send("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": HELM_NS}})
    helm = RealHelm(server.kubeconfig, tools.HELM4)
    steps = [("install", "shop", str(CHART)), ("upgrade", "shop", str(CHART), "--set", "message=two"),
             ("history", "shop", "-o", "json"), ("list", "-o", "json"), ("rollback", "shop", "1"),
             ("status", "shop", "-o", "json"), ("install", "shop", str(CHART)),
             ("get", "values", "shop", "--all", "-o", "json"), ("uninstall", "shop"), ("history", "shop")]
    out = []
    for step in steps:
        proc = helm.run(*step, namespace=HELM_NS, check=False, timeout=60)
        stdout = _helm_norm(server, proc.stdout)
        if "-o" in step and proc.returncode == 0:
            doc = json.loads(stdout)
            if step[0] == "status":
                doc = {"name": doc["name"], "version": doc["version"], "status": doc["info"]["status"],
                       "description": doc["info"]["description"], "manifest": doc["manifest"]}
            stdout = doc
        out.append((step[0], proc.returncode, stdout, _helm_norm(server, proc.stderr)))
    out.append(("configmap", object_shape(server.send("GET", "/api/v1/namespaces/%s/configmaps/shop-config" % HELM_NS)
                                          .json or {})))
    return out


def test_helm4_sees_the_same(servers):
    real, local = parallel(servers, helm_session)
    diffs = ["%s: %s" % (step[0], d) for step, other in zip(real, local) for d in differences(list(step), list(other))]
    assert diffs == [], "\n".join(diffs)
    assert [(s[0], s[1]) for s in real[:-1]] == [("install", 0), ("upgrade", 0), ("history", 0), ("list", 0),
                                                 ("rollback", 0), ("status", 0), ("install", 1), ("get", 0),
                                                 ("uninstall", 0), ("history", 1)]
    assert [(r["revision"], r["status"]) for r in real[2][2]] == [(1, "superseded"), (2, "deployed")]


# --- core/v1 Events (what helm_unstick writes for every remediation) --------------------------------------------
EVENTS = "/api/v1/namespaces/%s/events" % NS


def test_events_answer_alike(servers):
    """helm_unstick's Event (k8s/events.py) created, read, and listed as kubectl get events lists it (a Table):
    the same answers on both servers, whatever the server fills in."""
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.events import event_object
    event = event_object(NS, {"metadata": {"name": "sh.helm.release.v1.web.v2"}}, "Secret", "RolledBack",
                         "ops@ctl (run r1) remediated release web", "ops@ctl", time.time(), "rollback", "ab12cd34")
    flow = Flow(servers)
    flow("POST", EVENTS, event, expect=201)
    flow("POST", EVENTS, event, expect=409)
    flow("GET", EVENTS + "/" + event["metadata"]["name"], expect=200)
    flow("GET", EVENTS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
         expect=200)
    flow.check()
