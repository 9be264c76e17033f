# SPDX-License-Identifier: GPL-3.0-or-later
"""Label and field selectors, parsed the way the API server parses them.

Label selectors follow k8s.io/apimachinery/pkg/labels (selector.go): the same lexer (identifiers end
at whitespace or one of ``=!(),<>``; ``in``/``notin`` are keywords only where an operator is expected),
the same parser and the same validation of keys (qualified names) and values (label values), so the
same selectors are accepted, match the same objects and are refused with the same messages:
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``;
``k in ()`` means the value "" and ``k=`` the empty value.

Field selectors follow k8s.io/apimachinery/pkg/fields (selector.go): terms split on unescaped commas,
sorted, no whitespace trimming, ``\\``/``\\,``/``\\=`` escapes in values, ``=``, ``==``, ``!=``; then
the per-kind field labels of kube-apiserver (Secret: ``type``; Namespace: ``status.phase`` and no
``metadata.namespace``; ConfigMap, ServiceAccount: only ``metadata.name`` and ``metadata.namespace``),
with the messages each kind's conversion function gives.
"""
from __future__ import annotations

import json
import re


class SelectorError(ValueError):
    pass


# --- label selectors ------------------------------------------------------------------------------------
_SPECIAL = set("=!(),<>")
_SPACE = set(" \t\r\n")
_TOKENS = {")": "CLOSE", ",": "COMMA", "!": "NOT", "==": "DEQ", "=": "EQ", ">": "GT", "in": "IN",
           "<": "LT", "!=": "NEQ", "notin": "NOTIN", "(": "OPEN"}
_BINARY = "in, notin, =, ==, !=, gt, lt"

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile("^" + _QNAME_FMT + "$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
              "is '%s')" % _QNAME_FMT)
_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_VALUE_RE = re.compile("^" + _VALUE_FMT + "$")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
              "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
              "'12345', regex used for validation is '%s')" % _VALUE_FMT)
_DNS_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS_RE = re.compile("^" + _DNS_FMT + "$")
_DNS_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
            "validation is '%s')" % _DNS_FMT)


def _quote(value: str) -> str:
    """Go's %q, for the ASCII strings selectors hold."""
    return json.dumps(value, ensure_ascii=False)


def _invalid(path: str, value: str, detail: str) -> str:
    return "%s: Invalid value: %s: %s" % (path, _quote(value), detail)


def _key_errors(key: str) -> list:
    """validation.IsQualifiedName."""
    errs = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 bytes")
            if not _DNS_RE.match(prefix):
                errs.append("prefix part " + _DNS_MSG)
    else:
        return ["a valid label key " + _QNAME_MSG + " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _QNAME_RE.match(name):
        errs.append("name part " + _QNAME_MSG)
    return errs


def _value_errors(value: str) -> list:
    """validation.IsValidLabelValue."""
    errs = []
    if len(value.encode()) > 63:
        errs.append("must be no more than 63 bytes")
    if not _VALUE_RE.match(value):
        errs.append(_VALUE_MSG)
    return errs


def _aggregate(errs: list) -> str:
    seen = []
    for e in errs:
        if e not in seen:
            seen.append(e)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def _lex(s: str) -> list:
    """[(token, literal)] ending with ("END", "")."""
    out, i, n = [], 0, len(s)
    while True:
        while i < n and s[i] in _SPACE:
            i += 1
        if i >= n or s[i] == "\0":
            out.append(("END", ""))
            return out
        if s[i] in _SPECIAL:
            buf, last = "", None
            while i < n and s[i] in _SPECIAL:
                if buf + s[i] in _TOKENS:
                    buf += s[i]
                    last = (_TOKENS[buf], buf)
                    i += 1
                elif last is not None:
                    break
                else:
                    buf += s[i]
                    i += 1
            out.append(last or ("ERROR", "error expected: keyword found '%s'" % buf))
        else:
            j = i
            while j < n and s[j] not in _SPECIAL and s[j] not in _SPACE and s[j] != "\0":
                j += 1
            word = s[i:j]
            out.append((_TOKENS.get(word, "ID") if word in ("in", "notin") else "ID", word))
            i = j


class _Parser:
    def __init__(self, selector):
        self.items, self.pos = _lex(selector), 0

    def _item(self, index, values):
        tok, lit = self.items[min(index, len(self.items) - 1)]
        if values and tok in ("IN", "NOTIN"):
            tok = "ID"
        return tok, lit

    def lookahead(self, values=True):
        return self._item(self.pos, values)

    def consume(self, values=True):
        self.pos += 1
        return self._item(self.pos - 1, values)

    def parse(self):
        reqs = []
        while True:
            tok, lit = self.lookahead()
            if tok in ("ID", "NOT"):
                try:
                    reqs.append(self.requirement())
                except SelectorError as e:
                    raise SelectorError("unable to parse requirement: %s" % e) from None
                tok, lit = self.consume()
                if tok == "END":
                    return reqs
                if tok == "COMMA":
                    tok2, lit2 = self.lookahead()
                    if tok2 not in ("ID", "NOT"):
                        raise SelectorError("found '%s', expected: identifier after ','" % lit2)
                else:
                    raise SelectorError("found '%s', expected: ',' or 'end of string'" % lit)
            elif tok == "END":
                return reqs
            else:
                raise SelectorError("found '%s', expected: !, identifier, or 'end of string'" % lit)

    def requirement(self):
        op = None
        tok, lit = self.consume()
        if tok == "NOT":
            op = "!"
            tok, lit = self.consume()
        if tok != "ID":
            raise SelectorError("found '%s', expected: identifier" % lit)
        key = lit
        errs = _key_errors(key)
        if errs:
            raise SelectorError(_invalid("<nil>", key, "; ".join(errs)))
        if op == "!":          # "!k=v": the requirement ends at "!k", the "=" is then unexpected
            return key, "!", []
        if self.lookahead()[0] in ("END", "COMMA"):
            return key, "exists", []
        tok, lit = self.consume(values=False)
        op = {"IN": "in", "NOTIN": "notin", "EQ": "=", "DEQ": "=", "NEQ": "!=", "GT": ">", "LT": "<"}.get(tok)
        if op is None:
            raise SelectorError("found '%s', expected: %s" % (lit, _BINARY))
        values = self.set_values() if op in ("in", "notin") else self.exact_value()
        values = sorted(set(values))
        errs = []
        if op in (">", "<"):
            for i, v in enumerate(values):
                if not re.match(r"^[+-]?\d+$", v) or not -2 ** 63 <= int(v) < 2 ** 63:
                    errs.append(_invalid("values[%d]" % i, v, "for 'Gt', 'Lt' operators, the value must be "
                                                              "an integer"))
        for i, v in enumerate(values):
            verrs = _value_errors(v)
            if verrs:
                errs.append(_invalid("values[%d][%s]" % (i, key), v, "; ".join(verrs)))
        if errs:
            raise SelectorError(_aggregate(errs))
        return key, op, values

    def set_values(self):
        tok, lit = self.consume()
        if tok != "OPEN":
            raise SelectorError("found '%s' expected: '('" % lit)
        tok, lit = self.lookahead()
        if tok in ("ID", "COMMA"):
            values = self.identifiers()
            tok2, _ = self.consume()
            if tok2 != "CLOSE":
                raise SelectorError("found '%s', expected: ')'" % lit)
            return values
        if tok == "CLOSE":
            self.consume()
            return [""]
        raise SelectorError("found '%s', expected: ',', ')' or identifier" % lit)

    def identifiers(self):
        values = set()
        while True:
            tok, lit = self.consume()
            if tok == "ID":
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == "COMMA":
                    continue
                if tok2 == "CLOSE":
                    return values
                raise SelectorError("found '%s', expected: ',' or ')'" % lit2)
            if tok == "COMMA":
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 == "CLOSE":
                    values.add("")
                    return values
                if tok2 == "COMMA":
                    self.consume()
                    values.add("")
            else:
                raise SelectorError("found '%s', expected: ',', or identifier" % lit)

    def exact_value(self):
        tok, _ = self.lookahead()
        if tok in ("END", "COMMA"):
            return [""]
        tok, lit = self.consume()
        if tok == "ID":
            return [lit]
        raise SelectorError("found '%s', expected: identifier" % lit)


def _int(value):
    try:
        return int(value) if re.match(r"^[+-]?\d+$", value) else None
    except ValueError:
        return None


def parse_labels(selector: str | None):
    """A predicate ``labels_dict -> bool``, or None for an empty selector; SelectorError as kube-apiserver's
    400 message."""
    if not selector:
        return None
    reqs = _Parser(selector).parse()
    if not reqs:
        return None

    def match(labels: dict | None) -> bool:
        labels = labels or {}
        for key, op, values in reqs:
            present = key in labels
            if op in ("=", "in"):
                if not present or labels[key] not in values:
                    return False
            elif op in ("!=", "notin"):
                if present and labels[key] in values:
                    return False
            elif op == "exists":
                if not present:
                    return False
            elif op == "!":
                if present:
                    return False
            else:   # > <
                have, want = (_int(labels[key]) if present else None), _int(values[0])
                if have is None or want is None or not (have > want if op == ">" else have < want):
                    return False
        return True

    return match


# --- field selectors ---------------------------------------------------------------------------------------
_FIELDS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
#: the field labels each kind's conversion function accepts (pkg/apis/core/v1/conversion.go)
_KIND_FIELDS = {
    "Secret": dict(_FIELDS, type=lambda o: o.get("type") or "Opaque"),
    "Namespace": {"metadata.name": _FIELDS["metadata.name"],
                  "status.phase": lambda o: (o.get("status") or {}).get("phase", "")},
}


def _split_terms(selector):
    terms, start, slash = [], 0, False
    for i, ch in enumerate(selector):
        if slash:
            slash = False
        elif ch == "\\":
            slash = True
        elif ch == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


def _split_term(term):
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value):
    if not any(c in value for c in "\\,="):
        return value
    out, slash = [], False
    for ch in value:
        if slash:
            if ch not in "\\,=":
                raise SelectorError("invalid field selector: invalid escape sequence: \\" + ch)
            out.append(ch)
            slash = False
        elif ch == "\\":
            slash = True
        elif ch in ",=":
            raise SelectorError("invalid field selector: unescaped character in value: %d" % ord(ch))
        else:
            out.append(ch)
    if slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_fields(selector: str | None, kind: str):
    """A predicate ``obj -> bool`` or None; SelectorError (-> 400) with kube-apiserver's message."""
    if not selector:
        return None
    reqs = []
    for part in sorted(_split_terms(selector)):
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (selector, part))
        field, op, value = split
        reqs.append((field, op != "!=", _unescape(value)))
    known = _KIND_FIELDS.get(kind)
    preds = []
    for field, want, value in reqs:
        if known is None:
            if field not in _FIELDS:
                raise SelectorError('"%s" is not a known field selector: only "metadata.name", '
                                    '"metadata.namespace"' % field)
            get = _FIELDS[field]
        elif field not in known:
            raise SelectorError("field label not supported: %s" % field)
        else:
            get = known[field]
        preds.append((get, want, value))
    if not preds:
        return None

    def match(obj: dict) -> bool:
        return all((get(obj) == value) == want for get, want, value in preds)

    return match
