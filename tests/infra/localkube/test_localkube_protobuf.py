# SPDX-License-Identifier: GPL-3.0-or-later
"""Protobuf request bodies (what client-go/Helm send for Secrets)."""
from __future__ import annotations

import base64

import pytest

from localkube.testing import raw, secret
from localkube import protobuf

PB = {"Content-Type": "application/vnd.kubernetes.protobuf",
      "Accept": "application/vnd.kubernetes.protobuf, application/json"}


def _hand_built_secret() -> bytes:
    """Bytes laid out by hand (no encoder): Secret{metadata{name:"hb", namespace:"",
    labels{owner:helm}}, data{k: "\\x00\\xff"}, type:"helm.sh/release.v1"}."""
    def ld(num, payload):
        return bytes([num << 3 | 2, len(payload)]) + payload
    meta = ld(1, b"hb") + ld(3, b"") + ld(11, ld(1, b"owner") + ld(2, b"helm"))
    meta += ld(8, b"")                      # zero Time, as gogo-protobuf writes it
    raw_secret = ld(1, meta) + ld(2, ld(1, b"k") + ld(2, b"\x00\xff")) + \
        ld(3, b"helm.sh/release.v1") + b"\xa0\x06\x01"   # unknown varint field 100
    unknown = ld(1, ld(1, b"v1") + ld(2, b"Secret")) + ld(2, raw_secret) + ld(3, b"") + ld(4, b"")
    return b"k8s\x00" + unknown


def test_hand_built_protobuf_secret_create(kube):
    code, headers, obj = raw(kube, "POST", "/api/v1/namespaces/default/secrets",
                             _hand_built_secret(), PB)
    assert code == 201, obj
    assert headers["Content-Type"] == "application/json"
    assert obj["metadata"]["name"] == "hb" and obj["metadata"]["namespace"] == "default"
    assert obj["metadata"]["labels"] == {"owner": "helm"}
    assert obj["type"] == "helm.sh/release.v1"
    assert base64.b64decode(obj["data"]["k"]) == b"\x00\xff"
    assert obj["metadata"]["creationTimestamp"].startswith("20")


def test_encoder_roundtrip_update_with_protobuf(kube):
    created = kube.store.put(secret("enc", labels={"a": "b"}, data={"x": "1"}))
    body = secret("enc", labels={"a": "c"}, data={"x": "2"}, type="Opaque")
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    encoded = protobuf.encode(body)
    assert protobuf.decode(encoded)["metadata"]["labels"] == {"a": "c"}
    code, _, obj = raw(kube, "PUT", "/api/v1/namespaces/default/secrets/enc", encoded, PB)
    assert code == 200 and obj["metadata"]["labels"] == {"a": "c"}
    code, _, st = raw(kube, "PUT", "/api/v1/namespaces/default/secrets/enc", encoded, PB)
    assert code == 409 and st["reason"] == "Conflict"     # stale rv carried in protobuf


@pytest.mark.parametrize("kind", ["ConfigMap", "Namespace"])
def test_protobuf_other_kinds(kube, kind):
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "pb1"}, "data": {"k": "v"}}
    path = "/api/v1/namespaces/default/configmaps" if kind == "ConfigMap" else "/api/v1/namespaces"
    code, _, out = raw(kube, "POST", path, protobuf.encode(obj), PB)
    assert code == 201 and out["kind"] == kind and out["metadata"]["name"] == "pb1"


def test_undecodable_protobuf_kind_is_415(kube):
    def ld(num, payload):
        return bytes([num << 3 | 2, len(payload)]) + payload
    body = b"k8s\x00" + ld(1, ld(1, b"v1") + ld(2, b"Pod")) + ld(2, b"")
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets", body, PB)
    assert code == 415 and st["kind"] == "Status" and st["reason"] == "UnsupportedMediaType"
    code, _, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets", b"garbage", PB)
    assert code == 400
