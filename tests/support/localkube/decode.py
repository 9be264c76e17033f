# SPDX-License-Identifier: GPL-3.0-or-later
"""Request bodies decoded as kube-apiserver decodes them, with its error messages.

kube-apiserver reads a JSON body with Go's encoding/json (sigs.k8s.io/json): a syntax error is reported
as Go words it (``invalid character '}' looking for beginning of value``), a value of the wrong type as
``json: cannot unmarshal number into Go struct field ConfigMap.data of type string`` (the first one in
the document), Secret data as Go's base64 decoder reads it (``illegal base64 data at input byte 3``),
unknown and duplicate fields as ``strict decoding error: unknown field "foo"`` (a 400 with
``fieldValidation=Strict``, ``Warning`` headers with ``Warn``, silently dropped with ``Ignore``).
The handler then wraps the error: ``Secret in version "v1" cannot be handled as a Secret: ...`` when the
body named its kind, else ``the object provided is unrecognized (must be of type Secret): ... (<summary>)``.
"""
from __future__ import annotations

import json

#: Go types of the fields of the kinds localkube serves: name -> type, where a type is a Go type name
#: (a str), a struct (a dict, with its Go name under ""), or ("map"|"list", element type)
_TIME = "v1.Time"
OBJECT_META = {
    "": "ObjectMeta", "name": "string", "generateName": "string", "namespace": "string",
    "selfLink": "string", "uid": "types.UID", "resourceVersion": "string", "generation": "int64",
    "creationTimestamp": _TIME, "deletionTimestamp": _TIME, "deletionGracePeriodSeconds": "int64",
    "labels": ("map", "string"), "annotations": ("map", "string"), "ownerReferences": ("list", "any"),
    "finalizers": ("list", "string"), "managedFields": ("list", "any"),
}
KINDS = {
    "Secret": {"": "Secret", "metadata": OBJECT_META, "data": ("map", "[]uint8"),
               "stringData": ("map", "string"), "type": "v1.SecretType", "immutable": "bool"},
    "ConfigMap": {"": "ConfigMap", "metadata": OBJECT_META, "data": ("map", "string"),
                  "binaryData": ("map", "[]uint8"), "immutable": "bool"},
    "Namespace": {"": "Namespace", "metadata": OBJECT_META,
                  "spec": {"": "NamespaceSpec", "finalizers": ("list", "v1.FinalizerName")},
                  "status": {"": "NamespaceStatus", "phase": "v1.NamespacePhase",
                             "conditions": ("list", "any")}},
    "ServiceAccount": {"": "ServiceAccount", "metadata": OBJECT_META, "secrets": ("list", "any"),
                       "imagePullSecrets": ("list", "any"), "automountServiceAccountToken": "bool"},
    "Event": {"": "Event", "metadata": OBJECT_META, "involvedObject": ("map", "any"), "reason": "string",
              "message": "string", "source": ("map", "any"), "firstTimestamp": _TIME, "lastTimestamp": _TIME,
              "count": "int32", "type": "string", "eventTime": "v1.MicroTime", "series": ("map", "any"),
              "action": "string", "related": ("map", "any"), "reportingComponent": "string",
              "reportingInstance": "string"},
    "Lease": {"": "Lease", "metadata": OBJECT_META,
              "spec": {"": "LeaseSpec", "holderIdentity": "string", "leaseDurationSeconds": "int32",
                       "acquireTime": "v1.MicroTime", "renewTime": "v1.MicroTime", "leaseTransitions": "int32",
                       "strategy": "string", "preferredHolder": "string"}},
}
#: the apiVersion of each kind's objects (core: "v1")
GROUP_VERSIONS = {"Lease": "coordination.k8s.io/v1"}
_GVK_STRUCT = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
               'Kind string "json:\\"kind,omitempty\\"" }')


class DecodeError(Exception):
    """A body kube-apiserver would refuse: ``code`` (400 or 415) and its message."""

    def __init__(self, message, code=400):
        super().__init__(message)
        self.code, self.message = code, message


# --- Go's JSON syntax errors -----------------------------------------------------------------------------
def _quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    if " " <= c < "\x7f":
        return "'%s'" % c
    special = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\a": "\\a", "\v": "\\v"}
    if c in special:
        return "'%s'" % special[c]
    return "'\\x%02x'" % ord(c) if ord(c) < 0x80 else "'\\u%04x'" % ord(c)


class _Scan:
    """Enough of encoding/json's scanner to word a syntax error as Go does."""

    def __init__(self, text: bytes):
        self.s = text.decode("latin-1")
        self.i = 0

    def error(self, context):
        if self.i >= len(self.s):
            return "unexpected end of JSON input"
        return "invalid character %s %s" % (_quote_char(self.s[self.i]), context)

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def value(self):
        self.ws()
        c = self.peek()
        if c == "{":
            self.i += 1
            self.ws()
            if self.peek() == "}":
                self.i += 1
                return None
            while True:
                self.ws()
                if self.peek() != '"':
                    return self.error("looking for beginning of object key string")
                err = self.string()
                if err:
                    return err
                self.ws()
                if self.peek() != ":":
                    return self.error("after object key")
                self.i += 1
                err = self.value()
                if err:
                    return err
                self.ws()
                if self.peek() == ",":
                    self.i += 1
                    continue
                if self.peek() == "}":
                    self.i += 1
                    return None
                return self.error("after object key:value pair")
        if c == "[":
            self.i += 1
            self.ws()
            if self.peek() == "]":
                self.i += 1
                return None
            while True:
                err = self.value()
                if err:
                    return err
                self.ws()
                if self.peek() == ",":
                    self.i += 1
                    continue
                if self.peek() == "]":
                    self.i += 1
                    return None
                return self.error("after array element")
        if c == '"':
            return self.string()
        if c == "-" or c.isdigit():
            return self.number()
        for word in ("true", "false", "null"):
            if c == word[0]:
                self.i += 1
                for expect in word[1:]:
                    if self.peek() != expect:
                        return self.error("in literal %s (expecting %s)" % (word, _quote_char(expect)))
                    self.i += 1
                return None
        return self.error("looking for beginning of value")

    def string(self):
        self.i += 1
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return None
            if c == "\\":
                self.i += 1
                if self.peek() == "u":
                    self.i += 1
                    for _ in range(4):
                        if not self.peek() or self.peek() not in "0123456789abcdefABCDEF":
                            return self.error("in \\u hexadecimal character escape")
                        self.i += 1
                    continue
                if not self.peek() or self.peek() not in '"\\/bfnrt':
                    return self.error("in string escape code")
            elif c < " ":
                return self.error("in string literal")
            self.i += 1
        return self.error("")

    def number(self):
        if self.peek() == "-":
            self.i += 1
            if not self.peek().isdigit():
                return self.error("in numeric literal")
        if self.peek() == "0":
            self.i += 1
        else:
            while self.peek().isdigit():
                self.i += 1
        if self.peek() == ".":
            self.i += 1
            if not self.peek().isdigit():
                return self.error("after decimal point in numeric literal")
            while self.peek().isdigit():
                self.i += 1
        if self.peek() in ("e", "E"):
            self.i += 1
            if self.peek() in ("+", "-"):
                self.i += 1
            if not self.peek().isdigit():
                return self.error("in exponent of numeric literal")
            while self.peek().isdigit():
                self.i += 1
        return None

    def document(self):
        err = self.value()
        if err:
            return err
        self.ws()
        if self.i < len(self.s):
            return self.error("after top-level value")
        return None


def go_json_error(body: bytes) -> str | None:
    """Go's message for a JSON syntax error in ``body``, or None when it is valid JSON."""
    return _Scan(body).document()


# --- Go's base64 -----------------------------------------------------------------------------------------
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def go_base64_error(s: str) -> str | None:
    """encoding/base64 StdEncoding.Decode's error for ``s`` (``illegal base64 data at input byte N``)."""
    n, si = len(s), 0
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return "illegal base64 data at input byte %d" % (si - j)
            c = s[si]
            si += 1
            if c in _B64:
                j += 1
                continue
            if c in "\r\n":
                continue
            if c != "=" or j < 2:
                return "illegal base64 data at input byte %d" % (si - 1)
            if j == 2:
                while si < n and s[si] in "\r\n":
                    si += 1
                if si == n:
                    return "illegal base64 data at input byte %d" % n
                if s[si] != "=":
                    return "illegal base64 data at input byte %d" % (si - 1)
                si += 1
            while si < n and s[si] in "\r\n":
                si += 1
            if si < n:
                return "illegal base64 data at input byte %d" % si
            return None
    return None


# --- typed decoding ----------------------------------------------------------------------------------------
def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_name(typ) -> str:
    if isinstance(typ, dict):
        return "v1." + typ[""]
    if isinstance(typ, tuple):
        elem = _go_name(typ[1]) if typ[1] != "any" else "interface {}"
        return ("map[string]%s" if typ[0] == "map" else "[]%s") % elem
    return typ


def _check(value, typ, struct, path, first):
    """Walk ``value`` as Go type ``typ``: the first type or base64 error (in document order) goes to
    ``first``; unknown fields of structs are collected for strict decoding."""
    if value is None or typ == "any" or first:
        return
    where = "Go struct field %s.%s of type " % (struct, path)
    if isinstance(typ, dict):
        if not isinstance(value, dict):
            first.append("json: cannot unmarshal %s into %s%s" % (_json_type(value), where, _go_name(typ)))
            return
        for key, sub in value.items():
            if key in typ and key:
                _check(sub, typ[key], typ[""], "%s.%s" % (path, key) if path else key, first)
        return
    if isinstance(typ, tuple):
        kind, elem = typ
        if (kind == "map") != isinstance(value, dict) or (kind == "list") != isinstance(value, list):
            first.append("json: cannot unmarshal %s into %s%s" % (_json_type(value), where, _go_name(typ)))
            return
        for item in (value.values() if kind == "map" else value):
            _check(item, elem, struct, path, first)
            if first:
                return
        return
    if typ == "[]uint8":
        if not isinstance(value, str):
            first.append("json: cannot unmarshal %s into %s%s" % (_json_type(value), where, typ))
            return
        err = go_base64_error(value)
        if err:
            first.append(err)
        return
    want = {"bool": bool, "int64": int, "int32": int}.get(typ, str)
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if not ok:
        first.append("json: cannot unmarshal %s into %s%s" % (_json_type(value), where, typ))


def _strict(pairs_doc, typ, prefix, out):
    """Unknown and duplicate fields of ``pairs_doc`` (a document decoded into lists of pairs), in
    document order, as sigs.k8s.io/json reports them."""
    if not isinstance(pairs_doc, list) or not isinstance(typ, dict):
        return
    seen = set()
    for key, sub in pairs_doc:
        name = prefix + key
        if key in seen:
            out.append('duplicate field "%s"' % name)
            continue
        seen.add(key)
        if key in ("apiVersion", "kind") and not prefix:
            continue
        if key not in typ or not key:
            out.append('unknown field "%s"' % name)
            continue
        if isinstance(typ[key], dict):
            _strict(sub, typ[key], name + ".", out)


class _Pairs(list):
    pass


def decode(body: bytes, expected_kind: str, validation: str, parsed=None):
    """The object of a JSON (or already parsed YAML / protobuf: ``parsed``) body for a request to a
    resource of ``expected_kind``; returns (object, warnings). Raises DecodeError."""
    named_kind, named_version = None, None

    def fail(err):
        if named_kind:
            # a group's objects are named by the version alone (``Lease in version "v1"``)
            shown = named_version.rpartition("/")[2] if named_version == GROUP_VERSIONS.get(named_kind) else named_version
            raise DecodeError('%s in version "%s" cannot be handled as a %s: %s'
                              % (named_kind, shown or "", expected_kind, err))
        if not body:
            summary = "<empty>"
        elif body[:1] == b"{":
            summary = body[:30].decode("utf-8", "replace") + (" ..." if len(body) > 30 else "")
        else:
            summary = body[:30].hex() + (" ..." if len(body) > 30 else "")
        raise DecodeError("the object provided is unrecognized (must be of type %s): %s (%s)"
                          % (expected_kind, err, summary))

    pairs = None
    if parsed is None:
        syntax = go_json_error(body)
        if syntax:
            fail("couldn't get version/kind; json parse error: " + syntax)
        obj = json.loads(body)
        pairs = json.loads(body, object_pairs_hook=_Pairs)
    else:
        obj = parsed
    if not isinstance(obj, dict):
        fail("couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value of type %s"
             % (_json_type(obj), _GVK_STRUCT))
    named_kind, named_version = obj.get("kind") or None, obj.get("apiVersion") or None
    if named_kind is not None or named_version is not None:
        named_kind = named_kind or expected_kind
        if named_version != GROUP_VERSIONS.get(named_kind, "v1") or named_kind not in KINDS:
            fail('no kind "%s" is registered for version "%s" in scheme "pkg/runtime/scheme.go:111"'
                 % (named_kind, named_version or ""))
        if named_kind != expected_kind:
            fail("converting (v1.%s) to (%s.%s): unknown conversion" % (
                named_kind, GROUP_VERSIONS.get(expected_kind, "core").split(".")[0], expected_kind))
    typ = KINDS[expected_kind]
    first = []
    _check(obj, typ, expected_kind, "", first)
    if first:
        fail(first[0])
    problems = []
    if pairs is not None:
        _strict(_pairs_tree(pairs), typ, "", problems)
    else:
        _strict(_pairs_tree(obj), typ, "", problems)
    warnings = []
    if problems:
        if validation == "Strict":
            fail("strict decoding error: " + ", ".join(problems))
        if validation == "Warn":
            warnings = problems
    _drop_unknown(obj, typ)
    obj["kind"], obj["apiVersion"] = expected_kind, GROUP_VERSIONS.get(expected_kind, "v1")
    return obj, warnings


def _pairs_tree(doc):
    """A decoded document as nested lists of (key, value) pairs (dicts from YAML or protobuf)."""
    if isinstance(doc, dict):
        return _Pairs((k, _pairs_tree(v)) for k, v in doc.items())
    return doc


def _drop_unknown(obj, typ):
    for key in list(obj):
        if key in ("apiVersion", "kind") and typ.get("") in KINDS:
            continue
        if key not in typ or not key:
            del obj[key]
        elif isinstance(typ[key], dict) and isinstance(obj[key], dict):
            _drop_unknown(obj[key], typ[key])
