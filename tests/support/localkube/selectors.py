"""Label and field selectors, parsed the way the API server does.

Label selector grammar: comma-separated requirements (AND), each one of
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``.
Field selectors support ``metadata.name``, ``metadata.namespace`` (and
``type`` for Secrets) with ``=``, ``==``, ``!=``.
"""
from __future__ import annotations

import re


class SelectorError(ValueError):
    pass


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*([^=!,\s]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise SelectorError(f"unbalanced parentheses in {s!r}")
    parts.append("".join(cur))
    return parts


def parse_labels(selector: str | None):
    """Return a predicate ``labels_dict -> bool``."""
    if not selector or not selector.strip():
        return None
    reqs = []
    for part in _split_top(selector):
        if m := _SET_RE.match(part):
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), values))
        elif m := _EQ_RE.match(part):
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, m.group(3)))
        elif m := _EXISTS_RE.match(part):
            reqs.append((m.group(2), "!" if m.group(1) else "exists", None))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")

    def match(labels: dict | None) -> bool:
        labels = labels or {}
        for key, op, val in reqs:
            present = key in labels
            if op == "=" and labels.get(key) != val:
                return False
            if op == "!=" and present and labels[key] == val:
                return False
            if op == "in" and (not present or labels[key] not in val):
                return False
            if op == "notin" and present and labels[key] in val:
                return False
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
        return True

    return match


_FIELDS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
_KIND_FIELDS = {"Secret": {"type": lambda o: o.get("type") or "Opaque"}}


def parse_fields(selector: str | None, kind: str):
    """Return a predicate ``obj -> bool``; raises SelectorError (-> 400)."""
    if not selector or not selector.strip():
        return None
    known = dict(_FIELDS, **_KIND_FIELDS.get(kind, {}))
    reqs = []
    for part in selector.split(","):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: {part!r}; can't understand {part!r}")
        field, op, value = m.groups()
        if field not in known:
            raise SelectorError(f"field label not supported: {field}")
        reqs.append((known[field], op != "!=", value))

    def match(obj: dict) -> bool:
        return all((get(obj) == value) == want for get, want, value in reqs)

    return match
