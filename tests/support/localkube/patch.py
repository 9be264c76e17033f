# SPDX-License-Identifier: GPL-3.0-or-later
"""Patch algorithms: JSON merge patch (RFC 7386), JSON patch (RFC 6902).

Strategic merge patch is treated as a merge patch (good enough for the
core/v1 kinds served here: they have no merge-keyed lists that matter).
"""
from __future__ import annotations

import copy


class PatchError(ValueError):
    """Malformed patch -> 400."""


class PatchTestFailed(PatchError):
    """A JSON-patch ``test`` operation failed -> 422."""


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc, pointer: str):
    """Return (parent, last_token) for a JSON pointer."""
    if pointer == "":
        return None, None
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    tokens = [_unescape(t) for t in pointer[1:].split("/")]
    cur = doc
    for tok in tokens[:-1]:
        cur = _child(cur, tok, pointer)
    return cur, tokens[-1]


def _child(cur, tok, pointer):
    try:
        if isinstance(cur, list):
            return cur[int(tok)]
        return cur[tok]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"path {pointer!r} not found") from None


def _get(doc, pointer):
    parent, tok = _walk(doc, pointer)
    return doc if parent is None else _child(parent, tok, pointer)


def _add(doc, pointer, value):
    parent, tok = _walk(doc, pointer)
    if parent is None:
        return value
    if isinstance(parent, list):
        idx = len(parent) if tok == "-" else int(tok)
        if idx > len(parent):
            raise PatchError(f"index out of range in {pointer!r}")
        parent.insert(idx, value)
    elif isinstance(parent, dict):
        parent[tok] = value
    else:
        raise PatchError(f"cannot add at {pointer!r}")
    return doc


def _remove(doc, pointer):
    parent, tok = _walk(doc, pointer)
    if parent is None:
        raise PatchError("cannot remove the root")
    try:
        if isinstance(parent, list):
            return parent.pop(int(tok))
        return parent.pop(tok)
    except (KeyError, IndexError, ValueError):
        raise PatchError(f"unable to remove nonexistent key {pointer!r}") from None


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            if path == "":
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, path)
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            try:
                actual = _get(doc, path)
            except PatchError:
                raise PatchTestFailed(f"testing value {path} failed: path not found") from None
            if actual != op.get("value"):
                raise PatchTestFailed(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"unexpected kind of operation {kind!r}")
    return doc
