# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal Kubernetes protobuf decoding (and an encoder for tests).

Wire format (``application/vnd.kubernetes.protobuf``): the 4-byte magic
``k8s\\x00`` followed by a ``runtime.Unknown`` message
``{1: TypeMeta{1 apiVersion, 2 kind}, 2: raw, 3: contentEncoding, 4: contentType}``
where ``raw`` is the protobuf-encoded v1 object.  Only the kinds this server
stores are understood; anything else raises :class:`UnsupportedKind` (the
server answers 415).  Unknown fields are skipped.
"""
from __future__ import annotations

import base64
import datetime as _dt

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


class UnsupportedKind(ProtobufError):
    pass


# --- wire level -----------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(buf: bytes):
    """Yield ``(field_number, wire_type, value)``; value is int or bytes."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            if pos + ln > n:
                raise ProtobufError("truncated length-delimited field")
            val, pos = buf[pos:pos + ln], pos + ln
        elif wt == 1:
            val, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wt == 5:
            val, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wt}")
        yield num, wt, val


def _s(v: bytes) -> str:
    return v.decode("utf-8")


def _map_entry(v: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for num, _, x in fields(v):
        if num == 1:
            key = _s(x)
        elif num == 2:
            val = x
    return key, val


def _time(v: bytes) -> str:
    secs = nanos = 0
    for num, _, x in fields(v):
        if num == 1:
            secs = x
        elif num == 2:
            nanos = x
    t = _dt.datetime.fromtimestamp(secs, _dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- message level --------------------------------------------------------

def _owner_ref(v: bytes) -> dict:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    out: dict = {}
    for num, _, x in fields(v):
        if num in names:
            out[names[num]] = _s(x)
        elif num == 6:
            out["controller"] = bool(x)
        elif num == 7:
            out["blockOwnerDeletion"] = bool(x)
    return out


def _managed_field(v: bytes) -> dict:
    names = {1: "manager", 2: "operation", 3: "apiVersion", 6: "fieldsType", 8: "subresource"}
    out: dict = {}
    for num, _, x in fields(v):
        if num in names:
            out[names[num]] = _s(x)
        elif num == 4:
            out["time"] = _time(x)
    return out


def object_meta(buf: bytes) -> dict:
    strs = {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid",
            6: "resourceVersion"}
    meta: dict = {}
    for num, _, v in fields(buf):
        # gogo-protobuf writes empty strings and zero Times; treat them as unset
        if num in strs:
            if v:
                meta[strs[num]] = _s(v)
        elif num == 7:
            if v:
                meta["generation"] = v
        elif num == 8:
            if v:
                meta["creationTimestamp"] = _time(v)
        elif num == 9:
            meta["deletionTimestamp"] = _time(v)
        elif num in (11, 12):
            k, val = _map_entry(v)
            meta.setdefault("labels" if num == 11 else "annotations", {})[k] = _s(val)
        elif num == 13:
            meta.setdefault("ownerReferences", []).append(_owner_ref(v))
        elif num == 14:
            meta.setdefault("finalizers", []).append(_s(v))
        elif num == 17:
            meta.setdefault("managedFields", []).append(_managed_field(v))
    return meta


def _secret(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "Secret"}
    for num, _, v in fields(buf):
        if num == 1:
            obj["metadata"] = object_meta(v)
        elif num == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = base64.b64encode(val).decode()
        elif num == 3:
            if v:
                obj["type"] = _s(v)
        elif num == 4:
            k, val = _map_entry(v)
            obj.setdefault("stringData", {})[k] = _s(val)
        elif num == 5:
            obj["immutable"] = bool(v)
    return obj


def _configmap(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "ConfigMap"}
    for num, _, v in fields(buf):
        if num == 1:
            obj["metadata"] = object_meta(v)
        elif num == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = _s(val)
        elif num == 3:
            k, val = _map_entry(v)
            obj.setdefault("binaryData", {})[k] = base64.b64encode(val).decode()
        elif num == 4:
            obj["immutable"] = bool(v)
    return obj


def _namespace(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "Namespace"}
    for num, _, v in fields(buf):
        if num == 1:
            obj["metadata"] = object_meta(v)
        elif num == 2:
            fin = [_s(x) for n, _, x in fields(v) if n == 1]
            obj["spec"] = {"finalizers": fin} if fin else {}
        elif num == 3:
            phase = [_s(x) for n, _, x in fields(v) if n == 1]
            obj["status"] = {"phase": phase[0]} if phase else {}
    return obj


DECODERS = {"Secret": _secret, "ConfigMap": _configmap, "Namespace": _namespace}


def decode(body: bytes) -> dict:
    """Decode a ``k8s\\x00``-framed protobuf body into a JSON-style dict."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            for n, _, x in fields(v):
                if n == 1:
                    api_version = _s(x)
                elif n == 2:
                    kind = _s(x)
        elif num == 2:
            raw = v
    if api_version != "v1" or kind not in DECODERS:
        raise UnsupportedKind(f"cannot decode protobuf for {api_version}/{kind}")
    return DECODERS[kind](raw)


# --- encoder (used by tests to produce realistic request bodies) ----------

def _enc_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(num: int, payload: bytes) -> bytes:
    return _enc_varint(num << 3 | 2) + _enc_varint(len(payload)) + payload


def _enc_map(num: int, mapping: dict, as_bytes: bool = False) -> bytes:
    out = b""
    for k, v in mapping.items():
        v = v if as_bytes else v.encode()
        out += _ld(num, _ld(1, k.encode()) + _ld(2, v))
    return out


def encode(obj: dict) -> bytes:
    """Encode a Secret/ConfigMap/Namespace dict (name, namespace, labels,
    annotations, data, type) the way client-go would."""
    meta = obj.get("metadata", {})
    m = b""
    for num, key in ((1, "name"), (2, "generateName"), (3, "namespace"),
                     (6, "resourceVersion")):
        if meta.get(key):
            m += _ld(num, meta[key].encode())
    m += _enc_map(11, meta.get("labels") or {}) + _enc_map(12, meta.get("annotations") or {})
    kind = obj["kind"]
    raw = _ld(1, m)
    if kind == "Secret":
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        raw += _enc_map(2, data, as_bytes=True)
        if obj.get("type"):
            raw += _ld(3, obj["type"].encode())
        raw += _enc_map(4, obj.get("stringData") or {})
    elif kind == "ConfigMap":
        raw += _enc_map(2, obj.get("data") or {})
    elif kind != "Namespace":
        raise UnsupportedKind(kind)
    type_meta = _ld(1, obj.get("apiVersion", "v1").encode()) + _ld(2, kind.encode())
    return MAGIC + _ld(1, type_meta) + _ld(2, raw)
