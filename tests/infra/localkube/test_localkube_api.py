# SPDX-License-Identifier: GPL-3.0-or-later
"""CRUD, errors, patches, validation, discovery, clock -- via the real kubernetes client."""
from __future__ import annotations

import base64
import email.utils
import json
import time

import pytest
from kubernetes.client.exceptions import ApiException

from localkube.testing import raw, secret
from localkube import LocalKube


def status_of(exc: ApiException) -> dict:
    import json
    return json.loads(exc.body)


def test_create_get_update_delete_roundtrip(api, kube):
    created = api.create_namespaced_secret("default", secret("s1", data={"k": "v"}))
    meta = created.metadata
    assert meta.uid and meta.resource_version and meta.creation_timestamp
    got = api.read_namespaced_secret("s1", "default")
    assert base64.b64decode(got.data["k"]) == b"v" and got.type == "Opaque"
    got.metadata.labels = {"a": "b"}
    updated = api.replace_namespaced_secret("s1", "default", got)
    assert int(updated.metadata.resource_version) > int(meta.resource_version)
    assert updated.metadata.uid == meta.uid
    api.delete_namespaced_secret("s1", "default")
    assert kube.store.get("secrets", "default", "s1") is None


def test_resource_version_is_global_and_monotonic(api, kube):
    rvs = [int(api.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"},
                                                             "data": {"x": "1"}})
               .metadata.resource_version) for i in range(3)]
    rvs.append(int(api.create_namespaced_secret("other", secret("s", ns="other"))
                   .metadata.resource_version))
    assert rvs == sorted(set(rvs))
    assert kube.store.resource_version >= rvs[-1]


def test_not_found_and_already_exists_are_status_objects(api):
    with pytest.raises(ApiException) as e:
        api.read_namespaced_secret("nope", "default")
    st = status_of(e.value)
    assert e.value.status == 404
    assert st["kind"] == "Status" and st["status"] == "Failure" and st["reason"] == "NotFound"
    assert st["message"] == 'secrets "nope" not found'
    assert st["details"] == {"name": "nope", "kind": "secrets"}
    api.create_namespaced_secret("default", secret("dup"))
    with pytest.raises(ApiException) as e:
        api.create_namespaced_secret("default", secret("dup"))
    assert e.value.status == 409 and status_of(e.value)["reason"] == "AlreadyExists"


def test_stale_resource_version_conflicts(api):
    first = api.create_namespaced_secret("default", secret("c"))
    stale = first.metadata.resource_version
    fresh = api.patch_namespaced_secret("c", "default", {"metadata": {"labels": {"x": "1"}}})
    assert fresh.metadata.resource_version != stale
    body = secret("c", labels={"y": "2"})
    body["metadata"]["resourceVersion"] = stale
    with pytest.raises(ApiException) as e:
        api.replace_namespaced_secret("c", "default", body)
    st = status_of(e.value)
    assert e.value.status == 409 and st["reason"] == "Conflict"
    assert st["message"] == ('Operation cannot be fulfilled on secrets "c": the object has been '
                             'modified; please apply your changes to the latest version and '
                             'try again')
    # merge patch carrying a stale resourceVersion is a conflict too
    with pytest.raises(ApiException) as e:
        api.patch_namespaced_secret("c", "default", {"metadata": {"resourceVersion": stale}})
    assert e.value.status == 409
    # without resourceVersion an update is unconditional
    body["metadata"].pop("resourceVersion")
    assert api.replace_namespaced_secret("c", "default", body).metadata.labels == {"y": "2"}


def test_noop_update_keeps_resource_version(api):
    s = api.create_namespaced_secret("default", secret("n", data={"a": "b"}))
    again = api.replace_namespaced_secret("n", "default", s)
    assert again.metadata.resource_version == s.metadata.resource_version


def test_merge_and_strategic_merge_patch(kube):
    kube.store.put(secret("m", labels={"a": "1", "b": "2"}, data={"k": "v"}))
    code, _, obj = raw(kube, "PATCH", "/api/v1/namespaces/default/secrets/m",
                       {"metadata": {"labels": {"a": None, "c": "3"}}},
                       {"Content-Type": "application/merge-patch+json"})
    assert code == 200 and obj["metadata"]["labels"] == {"b": "2", "c": "3"}
    code, _, obj = raw(kube, "PATCH", "/api/v1/namespaces/default/secrets/m",
                       {"stringData": {"s": "plain"}},
                       {"Content-Type": "application/strategic-merge-patch+json"})
    assert code == 200 and base64.b64decode(obj["data"]["s"]) == b"plain"
    assert "stringData" not in obj


def test_json_patch_ops_and_test_failure(kube):
    kube.store.put(secret("j", labels={"a": "1"}))
    url = "/api/v1/namespaces/default/secrets/j"
    hdr = {"Content-Type": "application/json-patch+json"}
    ops = [{"op": "test", "path": "/metadata/labels/a", "value": "1"},
           {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
           {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/d"},
           {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/e"},
           {"op": "replace", "path": "/metadata/labels/e", "value": "5"},
           {"op": "remove", "path": "/metadata/labels/d"}]
    code, _, obj = raw(kube, "PATCH", url, ops, hdr)
    assert code == 200, obj
    assert obj["metadata"]["labels"] == {"b/c": "2", "e": "5"}
    before = kube.store.get("secrets", "default", "j")
    code, _, st = raw(kube, "PATCH", url, [{"op": "test", "path": "/metadata/labels/e",
                                            "value": "wrong"},
                                           {"op": "remove", "path": "/metadata/labels"}], hdr)
    assert code == 422 and st["kind"] == "Status" and st["reason"] == "Invalid"
    assert kube.store.get("secrets", "default", "j") == before
    code, _, st = raw(kube, "PATCH", url, [{"op": "remove", "path": "/nope/x"}], hdr)
    assert code == 422 and st["message"] == "the server rejected our request due to an error in our request"
    code, _, st = raw(kube, "PATCH", url, {"op": "remove"}, hdr)        # not a list: kube-apiserver's 400
    assert code == 400 and st["message"].startswith("error decoding patch: json: cannot unmarshal object")
    code, _, st = raw(kube, "PATCH", url, {"x": 1}, {"Content-Type": "text/plain"})
    assert code == 415


def test_server_side_apply_creates_then_merges(kube):
    url = "/api/v1/namespaces/apps/configmaps/cfg?fieldManager=helm&force=true"
    hdr = {"Content-Type": "application/apply-patch+yaml"}
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n"
    code, _, obj = raw(kube, "PATCH", url, body, hdr)
    assert code == 201 and obj["data"] == {"a": "1"}
    assert obj["metadata"]["managedFields"][0]["manager"] == "helm"
    assert obj["metadata"]["managedFields"][0]["operation"] == "Apply"
    assert kube.store.get("namespaces", None, "apps") is not None  # auto-created
    # another manager's apply merges with it
    code, _, obj = raw(kube, "PATCH", url.replace("helm", "other"), b'{"apiVersion":"v1","kind":"ConfigMap",'
                       b'"metadata":{"name":"cfg"},"data":{"b":"2"}}', hdr)
    assert code == 200 and obj["data"] == {"a": "1", "b": "2"}
    # the same manager applying without "a" removes it, as kube-apiserver does (nobody else owns it)
    code, _, obj = raw(kube, "PATCH", url, b'{"apiVersion":"v1","kind":"ConfigMap",'
                                          b'"metadata":{"name":"cfg"},"data":{"c":"3"}}', hdr)
    assert code == 200 and obj["data"] == {"b": "2", "c": "3"}
    assert sorted((m["manager"], m["fieldsV1"]) for m in obj["metadata"]["managedFields"]) == [
        ("helm", {"f:data": {"f:c": {}}}), ("other", {"f:data": {"f:b": {}}})]
    code, _, st = raw(kube, "PATCH", url.split("?")[0], body, hdr)
    assert code == 422 and "fieldManager" in st["message"]


def test_dry_run_validates_but_does_not_store(kube):
    rv = kube.store.resource_version
    code, _, obj = raw(kube, "POST", "/api/v1/namespaces/default/secrets?dryRun=All",
                       secret("dry", data={"a": "b"}))
    assert code == 201 and obj["metadata"]["name"] == "dry"
    assert kube.store.get("secrets", "default", "dry") is None
    assert kube.store.resource_version == rv
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets?dryRun=All",
                      secret("Bad_Name"))
    assert code == 422 and st["reason"] == "Invalid"


def test_field_validation_strict_warn_ignore(kube):
    body = dict(secret("fv"), bogus=1)
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets?fieldValidation=Strict",
                      body)
    assert code == 400 and 'unknown field "bogus"' in st["message"]
    code, headers, obj = raw(kube, "POST",
                             "/api/v1/namespaces/default/secrets?fieldValidation=Warn", body)
    assert code == 201 and "bogus" not in obj
    assert 'unknown field \\"bogus\\"' in headers["Warning"]
    code, headers, _ = raw(kube, "POST",
                           "/api/v1/namespaces/default/secrets?fieldValidation=Ignore",
                           dict(secret("fv2"), bogus=1))
    assert code == 201 and headers.get("Warning") is None


def test_validation_errors(kube):
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets",
                      {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"},
                       "data": {"k": "!!notbase64"}})
    assert code == 400
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/other/secrets", secret("x"))
    assert code == 400 and "namespace" in st["message"]
    big = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"},
           "stringData": {"k": "x" * (1024 * 1024 + 1)}}
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets", big)
    assert code == 422
    kube.store.put(secret("imm", data={"a": "b"}, immutable=True))
    code, _, st = raw(kube, "PATCH", "/api/v1/namespaces/default/secrets/imm",
                      {"data": {"a": "Yw=="}}, {"Content-Type": "application/merge-patch+json"})
    assert code == 422 and "immutable" in st["message"]


def test_generate_name_and_yaml_body(kube):
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gen-\ndata:\n  a: b\n"
    code, _, obj = raw(kube, "POST", "/api/v1/namespaces/default/configmaps", body,
                       {"Content-Type": "application/yaml"})
    assert code == 201 and obj["metadata"]["name"].startswith("gen-")
    assert len(obj["metadata"]["name"]) == 9


def test_namespaces_cluster_scoped_and_cascade(api, kube):
    names = {n.metadata.name for n in api.list_namespace().items}
    assert {"default", "kube-system"} <= names
    api.create_namespace({"metadata": {"name": "team"}})
    api.create_namespaced_secret("team", secret("s", ns="team"))
    api.delete_namespace("team")
    assert kube.store.list("secrets", "team") == []
    strict = LocalKube(auto_create_namespaces=False).start()
    try:
        code, _, st = raw(strict, "POST", "/api/v1/namespaces/ghost/secrets",
                          secret("s", ns="ghost"))
        assert code == 404 and st["message"] == 'namespaces "ghost" not found'
    finally:
        strict.stop()


def test_delete_preconditions_and_deletecollection(kube):
    s = kube.store.put(secret("p"))
    code, _, st = raw(kube, "DELETE", "/api/v1/namespaces/default/secrets/p",
                      {"preconditions": {"resourceVersion": "1"}})
    assert code == 409
    code, _, st = raw(kube, "DELETE", "/api/v1/namespaces/default/secrets/p",
                      {"preconditions": {"uid": s["metadata"]["uid"]}})
    assert code == 200 and st["status"] == "Success" and st["details"]["name"] == "p"
    for i in range(4):
        kube.store.put(secret(f"d{i}", labels={"grp": "a" if i % 2 else "b"}))
    code, _, lst = raw(kube, "DELETE", "/api/v1/namespaces/default/secrets?labelSelector=grp=a")
    assert code == 200 and [i["metadata"]["name"] for i in lst["items"]] == ["d1", "d3"]
    assert [s["metadata"]["name"] for s in kube.store.list("secrets")] == ["d0", "d2"]


def test_discovery_and_openapi(kube):
    code, _, v = raw(kube, "GET", "/version")
    assert code == 200 and v["major"] == "1" and v["gitVersion"].startswith("v1.")
    _, _, res = raw(kube, "GET", "/api/v1")
    by_name = {r["name"]: r for r in res["resources"]}
    assert by_name["secrets"]["namespaced"] and not by_name["namespaces"]["namespaced"]
    assert "patch" in by_name["configmaps"]["verbs"] and by_name["configmaps"]["shortNames"]
    _, headers, groups = raw(kube, "GET", "/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json"})
    assert groups["kind"] == "APIGroupList" and headers["Content-Type"] == "application/json"
    _, headers, index = raw(kube, "GET", "/openapi/v3")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"     # as kube-apiserver serves it
    index = json.loads(index)
    _, _, doc = raw(kube, "GET", index["paths"]["api/v1"]["serverRelativeURL"])
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/secrets/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert "io.k8s.api.core.v1.Secret" in doc["components"]["schemas"]
    assert raw(kube, "GET", "/api/v1/widgets")[0] == 404


def test_date_header_and_clock_offset(kube):
    _, headers, _ = raw(kube, "GET", "/version")
    served = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    assert abs(served - time.time()) < 5
    with LocalKube(clock_offset_seconds=-7200) as skewed:
        _, headers, obj = raw(skewed, "POST", "/api/v1/namespaces/default/secrets", secret("t"))
        served = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
        assert abs(served - (time.time() - 7200)) < 5
        created = email.utils.parsedate_to_datetime(
            time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                          time.strptime(obj["metadata"]["creationTimestamp"],
                                        "%Y-%m-%dT%H:%M:%SZ"))).timestamp()
        assert abs(created - (time.time() - 7200)) < 5
        skewed.clock_offset_seconds = 0
        _, headers, _ = raw(skewed, "GET", "/version")
        assert abs(email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
                   - time.time()) < 5


def test_store_direct_access(kube):
    put = kube.store.put(secret("raw", labels={"owner": "helm"}))
    assert put["metadata"]["resourceVersion"] == str(kube.store.resource_version)
    got = kube.store.get("secrets", "default", "raw")
    got["metadata"]["labels"]["owner"] = "mutated"      # copies: store unaffected
    assert kube.store.get("secrets", "default", "raw")["metadata"]["labels"] == {"owner": "helm"}
    corrupt = dict(got, data={"release": "!!!"})
    kube.store.put(corrupt)                              # no validation on direct put
    code, _, obj = raw(kube, "GET", "/api/v1/namespaces/default/secrets/raw")
    assert obj["data"]["release"] == "!!!"
    assert kube.store.delete("secrets", "default", "raw")
    assert not kube.store.delete("secrets", "default", "raw")


def test_state_file_persistence(tmp_path):
    state = str(tmp_path / "state.json")
    with LocalKube(state_file=state) as k1:
        k1.store.put(secret("keep"))
        rv = k1.store.resource_version
    with LocalKube(state_file=state) as k2:
        assert k2.store.get("secrets", "default", "keep") is not None
        assert k2.store.resource_version >= rv


def test_data_that_is_not_a_map_is_a_400_not_a_dropped_connection(kube):
    from localkube.testing import raw
    for kind, res, go_type in (("ConfigMap", "configmaps", "map[string]string"),
                               ("Secret", "secrets", "map[string][]uint8")):
        code, _, body = raw(kube, "POST", "/api/v1/namespaces/default/%s" % res,
                            {"apiVersion": "v1", "kind": kind, "metadata": {"name": "bad"}, "data": "str"})
        assert code == 400 and body["reason"] == "BadRequest"
        assert body["message"] == ('%s in version "v1" cannot be handled as a %s: json: cannot unmarshal string '
                                   'into Go struct field %s.data of type %s' % (kind, kind, kind, go_type))
        assert kube.store.get(res, "default", "bad") is None
