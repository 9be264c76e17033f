# SPDX-License-Identifier: GPL-3.0-or-later
"""List semantics: selectors, pagination, metadata-only and Table responses."""
from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from localkube.testing import raw, secret

LABELS = {
    "a": {"env": "prod", "tier": "web"},
    "b": {"env": "dev", "tier": "web"},
    "c": {"env": "prod"},
    "d": {},
}


@pytest.fixture
def labelled(kube):
    for name, labels in LABELS.items():
        kube.store.put(secret(name, labels=labels))
    kube.store.put(secret("e", ns="other", labels={"env": "prod"}))
    return kube


@pytest.mark.parametrize("selector,expected", [
    ("env=prod", ["a", "c"]),
    ("env==prod", ["a", "c"]),
    ("env!=prod", ["b", "d"]),
    ("env in (prod, dev)", ["a", "b", "c"]),
    ("env notin (prod)", ["b", "d"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c", "d"]),
    ("env=prod,tier", ["a"]),
    ("env in (dev,prod),!tier", ["c"]),
    ("env=prod,tier=web,env notin (dev)", ["a"]),
])
def test_label_selector_operators(labelled, api, selector, expected):
    items = api.list_namespaced_secret("default", label_selector=selector).items
    assert [s.metadata.name for s in items] == expected


def test_bad_label_selector_is_400(labelled):
    code, _, st = raw(labelled, "GET", "/api/v1/secrets?labelSelector=env%20in%20(a")
    assert code == 400 and st["kind"] == "Status"


@pytest.mark.parametrize("selector,expected", [
    ("metadata.name=a", ["default/a"]),
    ("metadata.name==c", ["default/c"]),
    ("metadata.name!=a", ["default/b", "default/c", "default/d", "other/e"]),
    ("metadata.namespace=other", ["other/e"]),
    ("metadata.namespace!=other,metadata.name!=b", ["default/a", "default/c", "default/d"]),
    ("type=Opaque,metadata.name=e", ["other/e"]),
])
def test_field_selectors(labelled, api, selector, expected):
    items = api.list_secret_for_all_namespaces(field_selector=selector).items
    assert [f"{s.metadata.namespace}/{s.metadata.name}" for s in items] == expected


def test_unknown_field_selector_is_400(labelled, api):
    with pytest.raises(ApiException) as e:
        api.list_secret_for_all_namespaces(field_selector="spec.foo=bar")
    assert e.value.status == 400


def test_all_namespaces_list_sorted_like_etcd(labelled, api):
    items = api.list_secret_for_all_namespaces().items
    assert [(s.metadata.namespace, s.metadata.name) for s in items] == [
        ("default", n) for n in "abcd"] + [("other", "e")]


def test_pagination_with_continue(kube, api):
    for i in range(25):
        kube.store.put(secret(f"p{i:02d}", ns="ns%d" % (i % 3), labels={"page": "yes"}))
    kube.store.put(secret("skip", labels={"page": "no"}))
    seen, token, pages = [], None, 0
    while True:
        resp = api.list_secret_for_all_namespaces(limit=7, _continue=token,
                                                  label_selector="page=yes")
        pages += 1
        seen += [(s.metadata.namespace, s.metadata.name) for s in resp.items]
        token = resp.metadata._continue
        # with a selector kube-apiserver does not count what is left
        assert resp.metadata.remaining_item_count is None
        if not token:
            break
    assert pages == 4 and len(seen) == 25 and seen == sorted(seen)
    # without one it does
    page = api.list_secret_for_all_namespaces(limit=7)
    assert page.metadata.remaining_item_count == 26 - 7
    # continue token keeps the first page's resourceVersion
    first = api.list_namespaced_secret("ns0", limit=2)
    kube.store.put(secret("zzz", ns="ns0"))
    second = api.list_namespaced_secret("ns0", limit=100, _continue=first.metadata._continue)
    assert second.metadata.resource_version == first.metadata.resource_version
    assert [s.metadata.name for s in second.items][-1] == "zzz"
    code, _, st = raw(kube, "GET", "/api/v1/secrets?limit=1&continue=garbage")
    assert code == 400


def test_list_resource_version_tracks_writes(kube, api):
    rv1 = int(api.list_namespaced_config_map("default").metadata.resource_version)
    api.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    rv2 = int(api.list_namespaced_config_map("default").metadata.resource_version)
    assert rv2 > rv1
    assert raw(kube, "GET", "/api/v1/configmaps?resourceVersion=0")[0] == 200


META = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


def test_metadata_only_list_and_get(labelled):
    code, _, body = raw(labelled, "GET", "/api/v1/namespaces/default/secrets?labelSelector=env",
                        headers={"Accept": META})
    assert code == 200
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert [i["metadata"]["name"] for i in body["items"]] == ["a", "b", "c"]
    for item in body["items"]:
        assert set(item) == {"apiVersion", "kind", "metadata"}
        assert item["kind"] == "PartialObjectMetadata"
        assert item["apiVersion"] == "meta.k8s.io/v1"
    code, _, one = raw(labelled, "GET", "/api/v1/namespaces/default/secrets/a", headers={
        "Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"})
    assert one["kind"] == "PartialObjectMetadata" and "data" not in one
    assert one["metadata"]["labels"] == LABELS["a"]


def test_table_list(labelled):
    code, _, table = raw(labelled, "GET", "/api/v1/secrets?labelSelector=env%3Dprod", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    assert [r["cells"][0] for r in table["rows"]] == ["a", "c", "e"]
    assert table["rows"][2]["object"]["metadata"]["namespace"] == "other"
