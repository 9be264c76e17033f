# SPDX-License-Identifier: GPL-3.0-or-later
"""Object validation as kube-apiserver's (pkg/apis/core/validation and apimachinery's validation), for
the kinds localkube serves: the same checks in the same order, worded the same, so a 422 Invalid
carries the same message and the same causes (reason, field, message).

Each check returns field errors ``(type, field, value, detail)``; ``invalid(kind, name, errors)`` turns
them into the Status kube-apiserver sends.
"""
from __future__ import annotations

import json
import re

from .selectors import _key_errors, _value_errors

REASONS = {"Invalid": "FieldValueInvalid", "Required": "FieldValueRequired", "Forbidden": "FieldValueForbidden",
           "TooLong": "FieldValueTooLong", "NotSupported": "FieldValueNotSupported"}
MAX_SECRET_SIZE = 1024 * 1024
MAX_ANNOTATIONS_SIZE = 256 * 1024

_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile("^" + _DNS_LABEL_FMT + "$")
_DNS_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                  "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                  "validation is '%s')" % _DNS_LABEL_FMT)
_DNS_SUB_FMT = _DNS_LABEL_FMT + r"(\." + _DNS_LABEL_FMT + ")*"
_DNS_SUB_RE = re.compile("^" + _DNS_SUB_FMT + "$")
_DNS_SUB_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
                "is '%s')" % _DNS_SUB_FMT)
_KEY_FMT = "[-._a-zA-Z0-9]+"
_KEY_RE = re.compile("^" + _KEY_FMT + "$")
_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
            "'KEY_NAME',  or 'key-name', regex used for validation is '%s')" % _KEY_FMT)


def dns_subdomain(value):
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS_SUB_RE.match(value):
        errs.append(_DNS_SUB_MSG)
    return errs


def dns_label(value):
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS_LABEL_RE.match(value):
        errs.append(_DNS_LABEL_MSG)
    return errs


def config_key(value):
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _KEY_RE.match(value):
        errs.append(_KEY_MSG)
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _show(value):
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def body(error) -> str:
    """field.Error.ErrorBody()."""
    typ, _field, value, detail = error
    if typ == "Invalid":
        text = "Invalid value: " + _show(value)
    elif typ == "Required":
        text = "Required value"
    elif typ == "Forbidden":
        text = "Forbidden"
    elif typ == "TooLong":
        return "Too long: may not be more than %d bytes" % value
    elif typ == "NotSupported":
        text = "Unsupported value: " + _show(value)
    else:
        text = typ
    return text + (": " + detail if detail else "")


def invalid_status_parts(kind, name, errors, group=""):
    """(message, causes) of kube-apiserver's 422 for ``errors``."""
    texts = ["%s: %s" % (e[1], body(e)) if e[1] else body(e) for e in errors]
    seen = []
    for t in texts:
        if t not in seen:
            seen.append(t)
    agg = seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"
    qualified = "%s.%s" % (kind, group) if group else kind
    message = '%s "%s" is invalid: %s' % (qualified, name, agg)
    causes = [{"reason": REASONS.get(e[0], "FieldValueInvalid"), "message": body(e), "field": e[1]}
              for e in errors]
    return message, causes


# --- ObjectMeta and kinds ----------------------------------------------------------------------------------
def object_meta(meta, namespaced, name_fn):
    errs = []
    if meta.get("generateName"):
        errs += [("Invalid", "metadata.generateName", meta["generateName"], m)
                 for m in name_fn(_mask_trailing_dash(meta["generateName"]))]
    name = meta.get("name") or ""
    if not name:
        errs.append(("Required", "metadata.name", None, "name or generateName is required"))
    else:
        errs += [("Invalid", "metadata.name", name, m) for m in name_fn(name)]
    if namespaced:
        ns = meta.get("namespace") or ""
        if not ns:
            errs.append(("Required", "metadata.namespace", None, ""))
        else:
            errs += [("Invalid", "metadata.namespace", ns, m) for m in dns_label(ns)]
    for key in sorted(meta.get("labels") or {}):
        errs += [("Invalid", "metadata.labels", key, m) for m in _key_errors(key)]
        value = meta["labels"][key]
        errs += [("Invalid", "metadata.labels", value, m) for m in _value_errors(value)]
    annotations = meta.get("annotations") or {}
    size = 0
    for key in sorted(annotations):
        errs += [("Invalid", "metadata.annotations", key, m) for m in _key_errors(key.lower())]
        size += len(key) + len(annotations[key] or "")
    if size > MAX_ANNOTATIONS_SIZE:
        errs.append(("TooLong", "metadata.annotations", MAX_ANNOTATIONS_SIZE, ""))
    return errs


def _mask_trailing_dash(name):
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def _b64len(value):
    import base64
    try:
        return len(base64.b64decode(value or "", validate=False))
    except ValueError:
        return len(value or "")


_SECRET_REQUIRED = {
    "kubernetes.io/dockercfg": [".dockercfg"],
    "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
    "kubernetes.io/ssh-auth": ["ssh-privatekey"],
    "kubernetes.io/tls": ["tls.crt", "tls.key"],
}


def secret(obj):
    errs = object_meta(obj["metadata"], True, dns_subdomain)
    data = obj.get("data") or {}
    size = 0
    for key in sorted(data):
        errs += [("Invalid", "data[%s]" % key, key, m) for m in config_key(key)]
        size += _b64len(data[key])
    typ = obj.get("type") or "Opaque"
    if typ == "kubernetes.io/service-account-token":
        if not (obj["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name"):
            errs.append(("Required", "metadata.annotations[kubernetes.io/service-account.name]", None, ""))
    elif typ == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs += [("Required", "data[username]", None, ""), ("Required", "data[password]", None, "")]
    for key in _SECRET_REQUIRED.get(typ, ()):
        if key not in data:
            errs.append(("Required", "data[%s]" % key, None, ""))
    if size > MAX_SECRET_SIZE:
        errs.append(("TooLong", "data", MAX_SECRET_SIZE, ""))
    return errs


def secret_update(new, old):
    errs = []
    if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
        errs.append(("Invalid", "type", new.get("type") or "Opaque", "field is immutable"))
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(("Forbidden", "immutable", None, "field is immutable when `immutable` is set"))
        if (new.get("data") or {}) != (old.get("data") or {}):
            errs.append(("Forbidden", "data", None, "field is immutable when `immutable` is set"))
    return errs + secret(new)


def configmap(obj):
    errs = object_meta(obj["metadata"], True, dns_subdomain)
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    size = 0
    for key in sorted(data):
        errs += [("Invalid", "data[%s]" % key, key, m) for m in config_key(key)]
        size += len(data[key].encode())
    for key in sorted(binary):
        errs += [("Invalid", "binaryData[%s]" % key, key, m) for m in config_key(key)]
        if key in data:
            errs.append(("Invalid", "data[%s]" % key, key, "duplicate of key present in binaryData"))
        size += _b64len(binary[key])
    if size > MAX_SECRET_SIZE:
        errs.append(("TooLong", "", MAX_SECRET_SIZE, ""))
    return errs


def configmap_update(new, old):
    errs = []
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(("Forbidden", "immutable", None, "field is immutable when `immutable` is set"))
        if (new.get("data") or {}) != (old.get("data") or {}):
            errs.append(("Forbidden", "data", None, "field is immutable when `immutable` is set"))
        if (new.get("binaryData") or {}) != (old.get("binaryData") or {}):
            errs.append(("Forbidden", "binaryData", None, "field is immutable when `immutable` is set"))
    return errs + configmap(new)


def namespace(obj):
    return object_meta(obj["metadata"], False, dns_label)


def serviceaccount(obj):
    return object_meta(obj["metadata"], True, dns_subdomain)


def validate(kind, obj, old=None):
    """The field errors kube-apiserver finds in ``obj`` (a create, or an update of ``old``)."""
    if kind == "Secret":
        return secret_update(obj, old) if old is not None else secret(obj)
    if kind == "ConfigMap":
        return configmap_update(obj, old) if old is not None else configmap(obj)
    if kind == "Namespace":
        return namespace(obj)
    return serviceaccount(obj)
