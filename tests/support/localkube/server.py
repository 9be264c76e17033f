# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP(S) front end: routing, request decoding, verbs, Status errors."""
from __future__ import annotations

import base64
import calendar
import datetime
import binascii
import email.utils
import http.server
import json
import secrets as _secrets
import select
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

import yaml

from . import discovery, protobuf, validation
from .decode import DecodeError, go_json_error
from .decode import decode as decode_body
from .decode import _json_type as _json_kind
from .auth import AuthError
from .discovery import KIND_TO_RESOURCE, META_FIELDS, RESOURCES
from .patch import PatchError, PatchTestFailed, json_patch, merge_patch
from .selectors import SelectorError, parse_fields, parse_labels
from .store import Rec, dumps

JSON = "application/json"
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
# like system:public-info-viewer: anonymous requests may read these
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")


class ApiError(Exception):
    def __init__(self, code, message, reason=None, name=None, kind=None, headers=None,
                 causes=None, group=None, empty_details=False, retry_after_seconds=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = REASONS.get(code, "Unknown") if reason is None else reason
        self.name, self.kind, self.headers, self.causes = name, kind, headers or {}, causes
        self.group, self.empty_details = group, empty_details
        self.retry_after_seconds = retry_after_seconds


def _invalid_options(kind, field, message, reason="FieldValueNotSupported"):
    """422 for a bad query parameter, as kube-apiserver validates ListOptions / CreateOptions / ..."""
    return ApiError(422, f'{kind}.meta.k8s.io "" is invalid: {field}: {message}', "Invalid", kind=kind,
                    group="meta.k8s.io", causes=[{"reason": reason, "message": message, "field": field}])


NOT_FOUND_PAGE = b"404 page not found\n"


def status_obj(code, message, reason, name=None, kind=None, causes=None, success=False, group=None,
               empty_details=False, retry_after_seconds=None):
    """A metav1.Status as kube-apiserver writes it (``details`` only when it says something, or
    ``empty_details`` for the errors kube-apiserver sends with ``"details": {}``)."""
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Success" if success else "Failure", "message": message,
          "reason": reason, "code": code}
    if success:
        del st["message"], st["reason"]
    if not reason:
        st.pop("reason", None)
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", kind)) if v}
    if causes:
        details["causes"] = causes
    if code == 429 or code == 503:
        details.setdefault("retryAfterSeconds", 1)
    if retry_after_seconds is not None:
        details["retryAfterSeconds"] = retry_after_seconds
    if details or empty_details:
        st["details"] = details
    return st


def _age(created: str, now: float) -> str:
    """kubectl-style age: 45s, 5m, 3h, 2d."""
    try:
        secs = int(now - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")))
    except (ValueError, TypeError):
        return "<unknown>"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= 2 * size:
            return f"{secs // size}{unit}"
    return f"{max(secs, 0)}s"


#: the fields managedFields track for these kinds: maps (owned as a whole with ".") and scalars
_FIELD_MAPS = (("metadata", "labels"), ("metadata", "annotations"), ("data",), ("binaryData",))
_FIELD_SCALARS = (("metadata", "generateName"), ("type",), ("immutable",), ("automountServiceAccountToken",),
                  # an Event's fields (involvedObject and related are atomic: owned whole)
                  ("action",), ("count",), ("firstTimestamp",), ("lastTimestamp",), ("message",), ("reason",),
                  ("reportingComponent",), ("reportingInstance",), ("involvedObject",), ("related",),
                  ("source", "component"), ("source", "host"))


def _field_set(obj, markers=True) -> dict:
    """{path: value} of the tracked fields of ``obj``; a map's own path ends with "." (value None)."""
    out = {}
    for path in _FIELD_MAPS:
        val = obj
        for part in path:
            val = val.get(part) if isinstance(val, dict) else None
        if isinstance(val, dict) and val:
            if markers:
                out[path + (".",)] = None
            for k, v in val.items():
                out[path + (k,)] = v
    for path in _FIELD_SCALARS:
        val = obj
        for part in path:
            val = val.get(part) if isinstance(val, dict) else None
        if val is not None:
            out[path] = val
    return out


def _paths(fields: dict, prefix=()) -> set:
    out = set()
    for key, sub in fields.items():
        if key == ".":
            out.add(prefix + (".",))
        elif isinstance(sub, dict) and sub:
            out |= _paths(sub, prefix + (key[2:],))
        else:
            out.add(prefix + (key[2:],))
    return out


def _fields_v1(paths) -> dict:
    out = {}
    for path in sorted(paths):
        node = out
        for part in path[:-1]:
            node = node.setdefault("f:" + part, {})
        node["." if path[-1] == "." else "f:" + path[-1]] = {}
    return out


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _rfc3339(stamp) -> str:
    """A metav1.Time as kube-apiserver writes it back (clients may send 2024-01-02T03:04:05+00:00)."""
    text = str(stamp)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_json(obj) -> str:
    """json.Marshal of a map: keys sorted, compact, <, > and & escaped."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _apply_conflict(conflicts) -> "ApiError":
    """409 for server-side apply conflicts, worded as kube-apiserver words them."""
    def who(e):
        name = json.dumps(e.get("manager", ""))
        return f"{name} using {e.get('apiVersion', 'v1')}" if e.get("operation") == "Update" else name

    def where(path):
        return "".join("." + part for part in path)

    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {who(e)}", "field": where(p)}
              for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {who(e)}: {where(p)}"
    else:
        by = {}
        for e, p in conflicts:
            by.setdefault(who(e), []).append(where(p))
        lines = []
        for name in sorted(by):
            lines.append(f"conflicts with {name}:")
            lines += [f"- {p}" for p in by[name]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, message, "Conflict", causes=causes)



def read_body(rfile, headers) -> bytes:
    """A request's body, chunked or by Content-Length (also read by realkube's front)."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline()
    n = int(headers.get("Content-Length") or 0)
    return rfile.read(n) if n else b""

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; without TCP_NODELAY every
    # keep-alive response waits ~40 ms for the client's delayed ACK (Nagle)
    disable_nagle_algorithm = True
    server_version = "localkube"
    sys_version = ""
    kube = None  # set per server class

    # --- plumbing -------------------------------------------------------
    def log_message(self, *args):
        pass

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.kube.now(), usegmt=True)

    def setup(self):
        super().setup()
        self.kube._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.kube._track(self.connection, False)

    def _read_body(self) -> bytes:
        return read_body(self.rfile, self.headers)

    def _send(self, code: int, body: bytes, ctype: str = JSON, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self._audit)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        for w in self._warnings:
            esc = w.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{esc}"')
        self.send_header("Content-Length", str(len(body)))
        if self._verb != "admin":  # account before answering: a client that has its
            # answer must find it counted (tests read the stats right after)
            self.kube._count(self._verb, len(body), code)
            self.kube.requests.append({"method": self.command, "path": self.path, "code": code,
                                       "content_type": self.headers.get("Content-Type"),
                                       "accept": self.headers.get("Accept"),
                                       "user_agent": self.headers.get("User-Agent")})
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_obj(self, code, obj, headers=None):
        self._send(code, obj if isinstance(obj, bytes) else dumps(obj), headers=headers)

    def _send_error(self, e: ApiError):
        self._send_obj(e.code, status_obj(e.code, e.message, e.reason, e.name, e.kind, e.causes,
                                          group=e.group, empty_details=e.empty_details,
                                          retry_after_seconds=e.retry_after_seconds), e.headers)

    # --- entry ------------------------------------------------------------
    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _handle(self):
        self._audit, self._warnings, self._verb = str(uuid.uuid4()), [], "discovery"
        self._applied = self._last_applied = None
        body = self._read_body()
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/_localkube/"):
            self._verb = "admin"
            return self._admin(url.path, body)
        route = self._route(url.path)
        self._verb = self._k8s_verb(route, q)
        delay, fault = self.kube.faults.select(self._verb, self.command, self.path)
        if delay:
            time.sleep(delay)
        if fault is not None:
            self.kube._fault_fired(fault)
            if fault.kind == "drop" or (fault.kind == "hang" and
                                         not self.kube.faults.block(fault, self.connection)):
                self.kube._count(self._verb, 0, 0)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.kind == "error":
                hdrs = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                st = status_obj(fault.code, fault.message or f"localkube injected {fault.code}",
                                REASONS.get(fault.code, "InternalError"))
                if fault.retry_after is not None:
                    st.setdefault("details", {})["retryAfterSeconds"] = fault.retry_after
                return self._send_obj(fault.code, st, hdrs)
        try:
            authz = self.headers.get("Authorization")
            public = route and route[0] == "nonresource" and route[1] in PUBLIC_PATHS
            rule = None if public and not authz else self.kube.auth.authenticate(authz, self._cert_user())
            if route is None or route[0] == "nonresource":
                # an authenticated user may read every non-resource path (system:discovery);
                # anonymous requests only the public ones (system:public-info-viewer)
                self.kube.auth.authorize_path(rule, self.command.lower(), url.path, public)
            if route is None:
                raise ApiError(404, "the server could not find the requested resource", empty_details=True)
            if route[0] == "nonresource":
                return self._nonresource(route[1], q)
            _, resource, ns, name = route
            self.kube.auth.authorize(rule, self._verb, resource, ns, name)
            self._resource(resource, ns, name, q, body)
        except AuthError as e:
            self._send_obj(e.code, status_obj(e.code, e.message, REASONS[e.code], e.name, e.kind,
                                              empty_details=e.code == 403 and not e.kind),
                           {"X-Content-Type-Options": "nosniff"} if e.code == 403 else None)
        except ApiError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here must look like a kube-apiserver 500, not a dropped socket
            self._send_obj(500, status_obj(500, f"localkube internal error: {e!r}", "InternalError"))

    def _cert_user(self):
        """The CN of the client certificate verified in the TLS handshake, or None."""
        getpeercert = getattr(self.connection, "getpeercert", None)
        cert = getpeercert() if getpeercert else None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    # --- routing ----------------------------------------------------------
    @staticmethod
    def _route(path: str):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path != "/" else []
        if len(parts) >= 4 and parts[0] == "apis" and "/".join(parts[1:3]) in discovery.GROUP_VERSIONS:
            served, rest = "/".join(parts[1:3]), parts[3:]
        elif len(parts) < 3 or parts[:2] != ["api", "v1"]:
            return ("nonresource", path.rstrip("/") or "/")
        else:
            served, rest = "v1", parts[2:]

        def known(resource):
            return resource in RESOURCES and discovery.group_version(resource) == served
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
            if len(rest) > 2 or not known(rest[0]) or rest[0] == "namespaces":
                return None
            return ("resource", rest[0], ns, rest[1] if len(rest) == 2 else None)
        if len(rest) > 2 or not known(rest[0]):
            return None
        if len(rest) == 2 and RESOURCES[rest[0]]["namespaced"]:
            return None
        return ("resource", rest[0], None, rest[1] if len(rest) == 2 else None)

    def _k8s_verb(self, route, q) -> str:
        if not route or route[0] == "nonresource":
            return "discovery"
        named = route[3] is not None
        m = self.command
        if m in ("GET", "HEAD"):
            if q.get("watch") in ("true", "1"):
                return "watch"
            return "get" if named else "list"
        if m == "DELETE":
            return "delete" if named else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(m, m.lower())

    def _nonresource(self, path, q):
        if self.command != "GET":
            raise ApiError(405, "the server does not allow this method on the requested resource",
                           empty_details=True)
        if path == "/version":
            return self._send_obj(200, discovery.VERSION)
        if path == "/api":
            host = f"{self.kube.host}:{self.kube.port}"
            return self._send_obj(200, discovery.api_versions(host))
        if path == "/api/v1":
            return self._send_obj(200, discovery.api_v1())
        if path == "/apis":
            return self._send_obj(200, discovery.API_GROUPS)
        if path.startswith("/apis/") and path[len("/apis/"):] in discovery.GROUP_VERSIONS:
            return self._send_obj(200, discovery.api_v1(path[len("/apis/"):]))
        if path == "/openapi/v3":   # kube-apiserver serves the index as text/plain (clients parse it as JSON)
            return self._send(200, dumps(discovery.OPENAPI_INDEX), "text/plain; charset=utf-8")
        if path == "/openapi/v3/api/v1":
            return self._send(200, discovery.OPENAPI_V1,
                              headers={"Etag": f'"{discovery.OPENAPI_HASH}"'})
        if path in ("/healthz", "/readyz", "/livez"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if path == "/api" or path.startswith("/api/"):
            raise ApiError(404, "the server could not find the requested resource", empty_details=True)
        # outside /api the Go mux answers, in plain text
        return self._send(404, NOT_FOUND_PAGE, "text/plain; charset=utf-8",
                          headers={"X-Content-Type-Options": "nosniff"})

    # --- admin --------------------------------------------------------------
    def _admin(self, path, body):
        kube, m = self.kube, self.command
        try:
            data = json.loads(body) if body else {}
            if path == "/_localkube/stats":
                if m == "DELETE":
                    kube.reset_stats()
                return self._send_obj(200, kube.stats())
            if path == "/_localkube/faults":
                if m == "POST":
                    return self._send_obj(201, kube.faults.add(**data).to_dict())
                if m == "DELETE":
                    kube.faults.clear()
                return self._send_obj(200, {"faults": kube.faults.list(),
                                            "hanging": kube.faults.hanging})
            if path.startswith("/_localkube/faults/") and m == "DELETE":
                return self._send_obj(200, {"removed": kube.faults.remove(int(path[19:]))})
            if path == "/_localkube/creation" and m == "POST":
                # test hook: backdate an object's creationTimestamp (no API request can: the server keeps it),
                # so a record looks as old as the operation it stands for (helmfix.age_record)
                obj = kube.store.get(data["resource"], data.get("namespace"), data["name"])
                if obj is None:
                    raise ApiError(404, "%s %s/%s not found" % (data["resource"], data.get("namespace"), data["name"]))
                obj["metadata"]["creationTimestamp"] = data["creationTimestamp"]
                return self._send_obj(200, kube.store.put(obj, data["resource"]))
            if path == "/_localkube/release" and m == "POST":
                kube.faults.release(data.get("id"))
                return self._send_obj(200, {"hanging": kube.faults.hanging})
            if path == "/_localkube/hanging":
                n = int(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                        .get("wait", ["0"])[0])
                if n:
                    kube.faults.wait_hanging(n, 30)
                return self._send_obj(200, {"hanging": kube.faults.hanging,
                                            "total": kube.faults.hung_total})
            raise ApiError(404, f"unknown admin path {path}")
        except ApiError as e:
            self._send_error(e)
        except (TypeError, ValueError) as e:
            self._send_obj(400, status_obj(400, str(e), "BadRequest"))

    # --- resources ----------------------------------------------------------
    def _resource(self, resource, ns, name, q, body):
        verb = self._verb
        if verb == "watch":
            return self._watch(resource, ns, name, q)
        if verb == "list":
            return self._list(resource, ns, q)
        if verb == "get":
            rv = q.get("resourceVersion") or ""
            if rv and not rv.isdigit():
                raise ApiError(500, f"resourceVersion: Invalid value: {json.dumps(rv)}: strconv.ParseUint: "
                                    f"parsing {json.dumps(rv)}: invalid syntax", "")
            self._wait_for(rv)
            rec = self.kube.store.rec(resource, ns, name)
            if rec is None:
                raise self._not_found(resource, name)
            accept = self.headers.get("Accept", "")
            if "as=Table" in accept:    # helm 4's status, kubectl get NAME
                meta = {"resourceVersion": rec.obj["metadata"].get("resourceVersion", "")}
                return self._send_obj(200, self._table(RESOURCES[resource]["kind"], [rec], meta,
                                                       full=q.get("includeObject") == "Object"))
            if "as=PartialObjectMetadata" in accept:
                return self._send(200, rec.meta_raw)
            return self._send(200, rec.raw)
        if verb == "deletecollection":
            return self._delete_collection(resource, ns, q)
        if verb == "create" and name is not None or verb == "update" and name is None:
            raise ApiError(405, "the server does not allow this method on the requested resource",
                           empty_details=True)
        if verb not in ("create", "update", "patch", "delete"):
            raise ApiError(405, "the server does not allow this method on the requested resource",
                           empty_details=True)
        self._options(q, {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions",
                          "delete": "DeleteOptions"}[verb])
        with self.kube.store.lock:
            if verb == "create":
                code, rec = self._create(resource, ns, self._decode(body, resource, q), q)
            elif verb == "update":
                code, rec = self._update(resource, ns, name, self._decode(body, resource, q), q)
            elif verb == "patch":
                code, rec = self._patch(resource, ns, name, body, q)
            else:
                return self._delete(resource, ns, name, body, q)
        self._send(code, rec.raw)

    @staticmethod
    def _not_found(resource, name):
        group = discovery.group_version(resource).rpartition("/")[0]
        shown = "%s.%s" % (resource, group) if group else resource
        return ApiError(404, f'{shown} "{name}" not found', name=name, kind=resource, group=group or None)

    def _decode(self, body: bytes, resource: str, q) -> dict:
        """The request's object, decoded as kube-apiserver decodes it (see localkube.decode); Warning
        headers for unknown fields (fieldValidation=Warn, the default)."""
        kind = RESOURCES[resource]["kind"]
        ctype = (self.headers.get("Content-Type") or JSON).split(";")[0].strip().lower()
        parsed = None
        try:
            if ctype == "application/vnd.kubernetes.protobuf":
                parsed = protobuf.decode(body)
            elif ctype in ("application/yaml", "application/apply-patch+yaml"):
                try:
                    parsed = yaml.safe_load(body) if body.strip() else None
                except yaml.YAMLError as e:
                    raise ApiError(400, f"the object provided is unrecognized (must be of type {kind}): yaml: "
                                        f"{str(e).splitlines()[0]} ({body[:30].hex()})") from None
                if body.strip() and not isinstance(parsed, dict):
                    raise ApiError(400, f"the object provided is unrecognized (must be of type {kind}): "
                                        f"couldn't get version/kind ({body[:30].hex()})")
            elif ctype not in (JSON, "", "*/*"):
                raise ApiError(415, "the body of the request was in an unknown format - accepted media types "
                                    "include: application/json, application/yaml, "
                                    "application/vnd.kubernetes.protobuf")
            obj, warnings = decode_body(body if parsed is None else b"", kind,
                                        q.get("fieldValidation") or "Warn", parsed)
        except protobuf.UnsupportedKind as e:
            raise ApiError(415, str(e)) from None
        except protobuf.ProtobufError as e:
            raise ApiError(400, f"the object provided is unrecognized (must be of type {kind}): {e}") from None
        except DecodeError as e:
            raise ApiError(e.code, e.message) from None
        self._warnings += warnings
        return obj

    def _options(self, q, kind):
        """CreateOptions / UpdateOptions / PatchOptions / DeleteOptions as kube-apiserver validates them."""
        errs = []
        if kind == "PatchOptions":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/apply-patch+yaml":
                if not q.get("fieldManager"):
                    errs.append(("FieldValueRequired", "fieldManager", "Required value: is required for apply patch"))
            elif "force" in q:
                errs.append(("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch"))
        dry = q.get("dryRun")
        if dry not in (None, "All"):
            errs.append(("FieldValueNotSupported", "dryRun",
                         f'Unsupported value: [{json.dumps(dry)}]: supported values: "All"'))
        mode = q.get("fieldValidation")
        if kind != "DeleteOptions" and mode not in (None, "", "Ignore", "Strict", "Warn"):
            errs.append(("FieldValueNotSupported", "fieldValidation",
                         f'Unsupported value: {json.dumps(mode)}: supported values: "", "Ignore", "Strict", "Warn"'))
        if errs:
            msgs = [f"{f}: {m}" for _, f, m in errs]
            text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
            raise ApiError(422, f'{kind}.meta.k8s.io "" is invalid: {text}', "Invalid", kind=kind,
                           group="meta.k8s.io", causes=[{"reason": r, "message": m, "field": f} for r, f, m in errs])

    # --- list ---------------------------------------------------------------
    @staticmethod
    def _selectors(q, kind):
        try:
            return parse_labels(q.get("labelSelector")), parse_fields(q.get("fieldSelector"), kind)
        except SelectorError as e:
            raise ApiError(400, str(e)) from None

    def _list_options(self, q):
        """(limit, resourceVersion) after the checks kube-apiserver makes on ListOptions."""
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise ApiError(400, f'strconv.ParseInt: parsing {json.dumps(q["limit"])}: invalid syntax') from None
        rv, match, cont = q.get("resourceVersion") or "", q.get("resourceVersionMatch") or "", q.get("continue")
        errs = []
        if match:
            if not rv:
                errs.append(("FieldValueForbidden", "resourceVersionMatch",
                             "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"))
            if cont:
                errs.append(("FieldValueForbidden", "resourceVersionMatch",
                             "Forbidden: resourceVersionMatch is forbidden when continue is provided"))
            if match not in ("Exact", "NotOlderThan"):
                errs.append(("FieldValueNotSupported", "resourceVersionMatch",
                             f'Unsupported value: {json.dumps(match)}: supported values: "Exact", '
                             f'"NotOlderThan", ""'))
            if match == "Exact" and rv == "0":
                errs.append(("FieldValueForbidden", "resourceVersionMatch",
                             'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
        if q.get("sendInitialEvents"):
            errs.append(("FieldValueForbidden", "sendInitialEvents",
                         "Forbidden: sendInitialEvents is forbidden for list"))
        if errs:
            msgs = [f"{field}: {msg}" for _, field, msg in errs]
            text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
            raise ApiError(422, f'ListOptions.meta.k8s.io "" is invalid: {text}', "Invalid", kind="ListOptions",
                           group="meta.k8s.io",
                           causes=[{"reason": r, "message": m, "field": f} for r, f, m in errs])
        if rv and not rv.isdigit():
            raise ApiError(400, f"invalid resource version: resourceVersion: Invalid value: {json.dumps(rv)}: "
                                f"strconv.ParseUint: parsing {json.dumps(rv)}: invalid syntax")
        if cont and rv not in ("", "0"):
            raise ApiError(400, "specifying resource version is not allowed when using continue")
        if rv == "0":
            limit = 0     # served from the watch cache: kube-apiserver does not page it (continue still counts)
        return max(limit, 0), rv

    @staticmethod
    def _continue_key(resource, token):
        """Decode a continue token (kube-apiserver's format: base64url of
        ``{"v": "meta.k8s.io/v1", "rv": N, "start": "<key>\\u0000"}``) -> (rv, key)."""
        def bad(why):
            return ApiError(400, "invalid continue token: continue key is not valid: " + why)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            pos = next((i for i, c in enumerate(token) if not (c.isalnum() or c in "-_")), len(token))
            raise bad(f"illegal base64 data at input byte {pos}") from None
        try:
            tok = json.loads(raw)
        except ValueError:
            first = raw.lstrip()[:1]
            char = first.decode("latin-1") if first else ""
            shown = char if " " <= char < "\x7f" else "\\u%04x" % ord(char or "\0")
            raise bad(f"invalid character '{shown}' looking for beginning of value") from None
        if not isinstance(tok, dict):
            raise bad("json: cannot unmarshal value into Go value of type storage.continueToken")
        if tok.get("v") != "meta.k8s.io/v1":
            raise bad(f"server does not recognize this encoded version {tok.get('v') or ''}")
        if not isinstance(tok.get("rv"), int) or tok["rv"] <= 0:
            raise bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        start = str(tok.get("start") or "").rstrip("\0")
        if not start:
            raise bad("encoded start key empty (version meta.k8s.io/v1)")
        if RESOURCES[resource]["namespaced"]:
            ns_part, _, name = start.partition("/")
            return tok["rv"], (ns_part, name)
        return tok["rv"], ("", start.lstrip("/"))

    def _wait_for(self, rv):
        """A read at a resourceVersion the store has not reached: kube-apiserver's cache waits up to 3 s for
        it, then answers 504 Timeout (Retry-After: 1)."""
        if not rv or not rv.isdigit() or int(rv) <= self.kube.store.resource_version:
            return
        store, deadline = self.kube.store, time.monotonic() + 3
        with store.changed:
            while store.resource_version < int(rv) and time.monotonic() < deadline:
                store.changed.wait(max(0.0, deadline - time.monotonic()))
            current = store.resource_version
        if current < int(rv):
            raise ApiError(504, f"Timeout: Too large resource version: {rv}, current: {current}", "Timeout",
                           headers={"Retry-After": 1}, retry_after_seconds=1,
                           causes=[{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}])

    def _list(self, resource, ns, q):
        store, kind = self.kube.store, RESOURCES[resource]["kind"]
        lsel, fsel = self._selectors(q, kind)
        # Accept: ...;as=PartialObjectMetadata;g=meta.k8s.io;v=v1 (client-go's metadata informers): every object
        # of the stream, bookmarks included, is the object's metadata only
        partial = "as=PartialObjectMetadata" in (self.headers.get("Accept") or "")
        bookmark_kind = ('"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1"' if partial
                         else '"kind":"%s","apiVersion":"%s"' % (kind, discovery.group_version(resource)))
        limit, rv = self._list_options(q)
        if not q.get("continue"):
            self._wait_for(rv)
        after, list_rv = None, store.resource_version
        if q.get("continue"):
            list_rv, after = self._continue_key(resource, q["continue"])
            if rv == "0":
                list_rv = store.resource_version
        accept = self.headers.get("Accept", "")
        table = "as=Table" in accept
        meta_only = "as=PartialObjectMetadataList" in accept
        items, last, more, remaining = [], None, False, 0
        for key, rec in store.scan(resource, ns, after):
            obj = rec.obj
            if lsel and not lsel(obj["metadata"].get("labels")):
                continue
            if fsel and not fsel(obj):
                continue
            if limit and len(items) >= limit:
                more = True
                remaining += 1
                if lsel or fsel:
                    break     # with a selector kube-apiserver does not count what is left
                continue
            items.append(rec)
            last = key
        meta = {"resourceVersion": str(list_rv)}
        if more:
            start = (f"{last[0]}/{last[1]}" if RESOURCES[resource]["namespaced"] else last[1]) + "\0"
            tok = json.dumps({"v": "meta.k8s.io/v1", "rv": list_rv, "start": start},
                             separators=(",", ":")).encode()
            meta["continue"] = base64.urlsafe_b64encode(tok).decode().rstrip("=")
            if not (lsel or fsel):
                meta["remainingItemCount"] = remaining
        if table:
            return self._send_obj(200, self._table(kind, items, meta))
        if meta_only:
            head = b'{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1"'
            parts = [r.meta_raw for r in items]
        else:   # the items of a typed list carry no kind / apiVersion
            head = b'{"kind":"' + kind.encode() + b'List","apiVersion":"' + discovery.group_version(resource).encode() + b'"'
            parts = [r.item_raw for r in items]
        body = b"".join((head, b',"metadata":', dumps(meta), b',"items":[',
                         b",".join(parts), b"]}"))
        self._send(200, body)

    # --- watch --------------------------------------------------------------
    def _watch(self, resource, ns, name, q):
        """A watch as kube-apiserver serves it: 200 with a chunked stream of JSON events, one a line
        (``{"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": {...}}``).

        - resourceVersion unset or "0": synthetic ADDED events for what exists, then changes;
          a number: only changes after it (410 Gone as an ERROR event when no longer remembered);
        - sendInitialEvents=true (needs resourceVersionMatch=NotOlderThan): the ADDED events, then a
          BOOKMARK annotated ``k8s.io/initial-events-end: "true"``;
        - labelSelector / fieldSelector (and a named path) filter the events, on the object each carries;
        - ends after timeoutSeconds (default 1800, kube-apiserver's --min-request-timeout), when the
          client goes away, or when the server stops."""
        store, kind = self.kube.store, RESOURCES[resource]["kind"]
        lsel, fsel = self._selectors(q, kind)
        # Accept: ...;as=PartialObjectMetadata;g=meta.k8s.io;v=v1 (client-go's metadata informers): every object
        # of the stream, bookmarks included, is the object's metadata only
        partial = "as=PartialObjectMetadata" in (self.headers.get("Accept") or "")
        bookmark_kind = ('"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1"' if partial
                         else '"kind":"%s","apiVersion":"%s"' % (kind, discovery.group_version(resource)))
        initial = q.get("sendInitialEvents") == "true"
        if initial and q.get("resourceVersionMatch") != "NotOlderThan":
            message = "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            raise ApiError(422, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: ' + message, "Invalid",
                           kind="ListOptions", group="meta.k8s.io",
                           causes=[{"reason": "FieldValueForbidden", "message": message,
                                    "field": "resourceVersionMatch"}])
        rv_param = q.get("resourceVersion") or ""
        if rv_param and not rv_param.isdigit():
            raise ApiError(500, f"resourceVersion: Invalid value: {json.dumps(rv_param)}: strconv.ParseUint: "
                                f"parsing {json.dumps(rv_param)}: invalid syntax", "")
        try:
            timeout = float(q.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, f'strconv.ParseInt: parsing {json.dumps(q["timeoutSeconds"])}: '
                                'invalid syntax') from None
        since = None if initial or rv_param in ("", "0") else int(rv_param)

        def wanted(res, obj):
            meta = obj["metadata"]
            return (res == resource and (ns is None or meta.get("namespace") == ns)
                    and (name is None or meta.get("name") == name)   # a named watch: that object only
                    and (not lsel or lsel(meta.get("labels"))) and (not fsel or fsel(obj)))

        with store.lock:
            last = store.resource_version
            first = [] if since is not None else [("ADDED", rec) for _, rec in store.scan(resource, ns)
                                                   if wanted(resource, rec.obj)]
        expired = since is not None and store.events_after(since) is None
        if since is not None:
            last = since
        self.send_response(200)
        self.send_header("Content-Type", JSON)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self._audit)
        self.send_header("Transfer-Encoding", "chunked")
        self.kube._count("watch", 0, 200)
        self.kube.requests.append({"method": self.command, "path": self.path, "code": 200,
                                   "content_type": self.headers.get("Content-Type"),
                                   "accept": self.headers.get("Accept"),
                                   "user_agent": self.headers.get("User-Agent")})
        self.end_headers()
        self.close_connection = True    # a watch ends the connection's use, as an HTTP/1.1 stream does

        def emit(kind_, obj_raw):
            line = b'{"type":"' + kind_.encode() + b'","object":' + obj_raw + b"}\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
            self.kube._count_bytes("watch", len(line))

        def bookmark(rv, annotations=""):
            # as kube-apiserver encodes an empty object of the watched type carrying only a resourceVersion
            return ('{%s,"metadata":{"resourceVersion":"%d"%s}}' % (bookmark_kind, rv, annotations)).encode()

        def item(rec):
            return rec.meta_raw if partial else rec.raw

        try:
            if expired:
                emit("ERROR", dumps(status_obj(410, "too old resource version: %d (%d)"
                                               % (since, store.resource_version), "Expired")))
                return self._end_chunks()
            for kind_, rec in first:
                emit(kind_, item(rec))
            if initial:
                emit("BOOKMARK", bookmark(last, ',"annotations":{"k8s.io/initial-events-end":"true"}'))
            deadline = time.monotonic() + timeout
            while self.kube._srv is not None and time.monotonic() < deadline:
                with store.changed:
                    if store.resource_version <= last:
                        store.changed.wait(min(0.25, max(0.0, deadline - time.monotonic())))
                    events = store.events_after(last)
                if events is None:
                    # the changes this watch has still to send were compacted away (Store.compact): kube-apiserver
                    # ends such a watch with 410 Gone too, and the client relists
                    emit("ERROR", dumps(status_obj(410, "too old resource version: %d (%d)"
                                                   % (last, store.resource_version), "Expired")))
                    return self._end_chunks()
                for rv, res, kind_, rec in events:
                    last = rv
                    if wanted(res, rec.obj):
                        emit(kind_, item(rec))
                if not events and self._peer_gone():
                    return
            if self.kube._srv is not None and q.get("allowWatchBookmarks") == "true":
                # kube-apiserver's watch cache sends a bookmark before the watch times out, so the client
                # may resume from the newest resourceVersion
                emit("BOOKMARK", bookmark(max(last, store.resource_version)))
            self._end_chunks()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _peer_gone(self):
        """An HTTP/1.1 client sends nothing while it reads a stream: readability means EOF or reset."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _table(self, kind, recs, meta, full=False):
        """A meta.k8s.io/v1 Table; rows carry PartialObjectMetadata, or the whole object when asked
        (``includeObject=Object``)."""
        if kind == "Event":
            return self._event_table(recs, meta, full)
        cols = {"Secret": ["Type", "Data"], "ConfigMap": ["Data"], "Namespace": ["Status"],
                "ServiceAccount": ["Secrets"]}[kind]
        defs = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                 "description": "Name must be unique within a namespace."}]
        defs += [{"name": c, "type": "string", "format": "", "priority": 0, "description": c}
                 for c in cols] + [{"name": "Age", "type": "string", "format": "",
                                    "priority": 0, "description": "CreationTimestamp"}]
        now, rows = self.kube.now(), []
        for rec in recs:
            o = rec.obj
            extra = {"Type": o.get("type", ""),
                     "Data": len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                     "Status": (o.get("status") or {}).get("phase", "Active"),
                     "Secrets": len(o.get("secrets") or [])}
            cells = [o["metadata"]["name"]] + [extra[c] for c in cols]
            cells.append(_age(o["metadata"].get("creationTimestamp", ""), now))
            rows.append({"cells": cells, "object": json.loads(rec.raw if full else rec.meta_raw)})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "columnDefinitions": defs, "rows": rows}

    def _event_table(self, recs, meta, full):
        """Events as kube-apiserver tabulates them (its columns, priority 1 ones included)."""
        cols = [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
                ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
        defs = [{"name": c, "type": "string", "format": "name" if c == "Name" else "", "priority": p,
                 "description": c} for c, p in cols]
        now, rows = self.kube.now(), []
        for rec in recs:
            o = rec.obj
            inv = o.get("involvedObject") or {}
            src = o.get("source") or {}
            seen = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp", "")
            first = o.get("firstTimestamp") or o.get("eventTime") or seen
            component = src.get("component") or o.get("reportingComponent") or ""
            instance = src.get("host") or o.get("reportingInstance") or ""
            source = "<unknown>" if not component else component + (", " + instance if instance else "")
            cells = [_age(seen, now), o.get("type", ""), o.get("reason", ""),
                     "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), inv.get("fieldPath", ""),
                     source, o.get("message", ""), _age(first, now), o.get("count", 0), o["metadata"]["name"]]
            rows.append({"cells": cells, "object": json.loads(rec.raw if full else rec.meta_raw)})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "columnDefinitions": defs, "rows": rows}

    # --- writes -------------------------------------------------------------
    def _prepare(self, resource, ns, obj, q, old: Rec | None):
        """Normalise a decoded object as kube-apiserver's strategy does (namespace, generateName,
        stringData, defaults); 400 for a namespace that is not the URL's."""
        spec = RESOURCES[resource]
        kind = spec["kind"]
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if spec["namespaced"]:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and old is None and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                _secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if kind == "Secret":
            string_data = obj.pop("stringData", None) or {}
            if string_data:
                data = obj.get("data") or {}
                for k, v in string_data.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                obj["data"] = data
            obj["type"] = obj.get("type") or "Opaque"
        elif kind == "Event":
            # the fields kube-apiserver always writes out (no omitempty), as it does
            for key, empty in (("involvedObject", {}), ("source", {}), ("firstTimestamp", None),
                               ("lastTimestamp", None), ("eventTime", None), ("reportingComponent", ""),
                               ("reportingInstance", "")):
                obj.setdefault(key, empty)
        elif kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = (old.obj.get("status") if old is not None else None) or {"phase": "Active"}
        for key in ("data", "binaryData", "stringData"):
            if key in obj and not obj[key]:
                del obj[key]         # an empty map is not kept (omitempty)
        for key in ("labels", "annotations"):
            if key in meta and not meta[key]:
                del meta[key]
        return meta.get("name") or ""

    def _validate(self, resource, obj, old: Rec | None):
        """422 Invalid, worded as kube-apiserver words it (localkube.validation)."""
        kind = RESOURCES[resource]["kind"]
        errors = validation.validate(kind, obj, old.obj if old is not None else None)
        if errors:
            name = obj["metadata"].get("name") or ""
            message, causes = validation.invalid_status_parts(kind, name, errors)
            raise ApiError(422, message, "Invalid", name=name or None, kind=kind, causes=causes)

    def _manager(self, q, operation, obj, old: Rec | None):
        """managedFields as kube-apiserver's field manager keeps them (structured-merge-diff, for the
        fields these kinds have): an Update owns the fields it set or changed (a map it created also
        as ``"."``) and takes them from the other managers; an Apply owns exactly the fields of its
        applied configuration (no ``"."``); a manager left with no field disappears; entries are
        sorted by operation, time, manager. No ownership conflicts (see WIRE_NOTES.md)."""
        manager = q.get("fieldManager") or (self.headers.get("User-Agent") or "unknown").split("/")[0]
        now = self.kube.timestamp()
        new = _field_set(obj)
        before = _field_set(old.obj) if old is not None else {}
        changed = {p for p, v in new.items() if p not in before or before[p] != v}
        entries = []
        mine = None
        live = (old.obj["metadata"].get("managedFields") if old else None) or []
        supplied = obj["metadata"].get("managedFields")
        # an update may set managedFields itself (kubectl's client-side to server-side apply upgrade does):
        # those are the base then; an absent or empty list keeps the live ones
        base = ([dict(e, time=_rfc3339(e["time"])) if e.get("time") else e for e in supplied]
                if operation == "Update" and old is not None and supplied else live)
        for e in base:
            paths = _paths(e.get("fieldsV1") or {})
            if e.get("manager") == manager and e.get("operation") == operation:
                mine = (e, paths)
                continue
            kept = {p for p in paths if p in new and p not in changed}
            if kept:
                entries.append(dict(e, fieldsV1=_fields_v1(kept)) if kept != paths else e)
        if operation == "Apply":
            owned = set(self._applied or ())
        else:
            owned = (({p for p in mine[1] if p in new}) if mine else set()) | changed
        if owned:
            if mine is not None and owned == mine[1] and not changed:
                entries.append(mine[0])
            else:
                entry = {"manager": manager, "operation": operation, "apiVersion": obj.get("apiVersion") or "v1",
                         "time": now,
                         "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(owned)}
                if not changed:     # an apply that changes nothing stamps no time (keeps the one it had)
                    if mine is not None and mine[0].get("time"):
                        entry["time"] = mine[0]["time"]
                    else:
                        del entry["time"]
                entries.append(entry)
        entries.sort(key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", "")))
        if entries:
            obj["metadata"]["managedFields"] = entries
        else:
            obj["metadata"].pop("managedFields", None)

    @staticmethod
    def _dry(q):
        return q.get("dryRun") == "All"

    def _commit(self, resource, obj, q) -> Rec:
        if self._dry(q):
            meta = obj["metadata"]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", self.kube.timestamp())
            return Rec(obj)
        return self.kube.store.write(resource, obj)

    def _ensure_namespace(self, resource, ns, q):
        if not RESOURCES[resource]["namespaced"] or self.kube.store.rec("namespaces", None, ns):
            return
        if not self.kube.auto_create_namespaces:
            raise ApiError(404, f'namespaces "{ns}" not found', name=ns, kind="namespaces")
        if not self._dry(q):
            self.kube.store.write("namespaces", {
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def _create(self, resource, ns, obj, q, operation="Update"):
        name = self._prepare(resource, ns, obj, q, None)
        self._ensure_namespace(resource, ns, q)       # admission (NamespaceLifecycle) before validation
        self._validate(resource, obj, None)
        if self.kube.store.rec(resource, ns, name) is not None:
            group = discovery.group_version(resource).rpartition("/")[0]
            raise ApiError(409, f'{resource}{"." + group if group else ""} "{name}" already exists', "AlreadyExists",
                           name=name, kind=resource, group=group or None)
        meta = obj["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                  "selfLink", "managedFields"):
            meta.pop(k, None)
        if resource == "namespaces":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        self._manager(q, operation, obj, None)
        return 201, self._commit(resource, obj, q)

    def _conflict(self, resource, name):
        group = discovery.group_version(resource).rpartition("/")[0]
        shown = "%s.%s" % (resource, group) if group else resource
        return ApiError(409, f'Operation cannot be fulfilled on {shown} "{name}": the object '
                        f'has been modified; please apply your changes to the latest '
                        f'version and try again', "Conflict", name=name, kind=resource, group=group or None)

    def _replace(self, resource, ns, name, obj, q, old: Rec, operation="Update"):
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        meta = obj["metadata"]
        if meta.get("name", name) != name:
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match "
                                f"the name on the URL ({name})")
        meta["name"] = name
        current = old.obj["metadata"]
        rv = meta.get("resourceVersion")
        if rv and not rv.isdigit():
            raise ApiError(500, f"strconv.ParseUint: parsing {json.dumps(rv)}: invalid syntax", "")
        if rv and rv != current["resourceVersion"]:
            raise self._conflict(resource, name)
        if meta.get("uid") and meta["uid"] != current["uid"]:
            path = f"/registry/{resource}/{ns + '/' if ns else ''}{name}"
            raise ApiError(409, f'Operation cannot be fulfilled on {resource} "{name}": StorageError: invalid '
                                f'object, Code: 4, Key: {path}, ResourceVersion: 0, AdditionalErrorMsg: '
                                f'Precondition failed: UID in precondition: {meta["uid"]}, UID in object meta: '
                                f'{current["uid"]}', "Conflict", name=name, kind=resource)
        self._prepare(resource, ns, obj, q, old)
        if resource == "namespaces":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        self._validate(resource, obj, old)
        for k in ("uid", "creationTimestamp"):
            meta[k] = current[k]
        if "deletionTimestamp" in current:
            meta["deletionTimestamp"] = current["deletionTimestamp"]
        meta.pop("resourceVersion", None)
        if operation == "Update" and "managedFields" not in meta:
            meta["managedFields"] = current.get("managedFields") or []
        self._manager(q, operation, obj, old)
        if self._last_applied is not None:
            meta.setdefault("annotations", {})[LAST_APPLIED] = self._last_applied
        if not self._dry(q):
            stripped = dict(meta)       # managedFields count: a change of owners alone is a write
            old_meta = {k: v for k, v in current.items() if k != "resourceVersion"}
            if (stripped == old_meta and
                    {k: v for k, v in obj.items() if k != "metadata"} ==
                    {k: v for k, v in old.obj.items() if k != "metadata"}):
                return 200, old   # no-op write: like the real server, rv does not change
        else:
            meta["resourceVersion"] = current["resourceVersion"]
        return 200, self._commit(resource, obj, q)

    def _update(self, resource, ns, name, obj, q):
        if obj["metadata"].get("name", name) != name:
            raise ApiError(400, f"the name of the object ({obj['metadata'].get('name')}) does not match "
                                f"the name on the URL ({name})")
        if RESOURCES[resource]["namespaced"] and obj["metadata"].get("namespace") not in (None, "", ns):
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on "
                                "the request")
        old = self.kube.store.rec(resource, ns, name)
        if old is None:
            raise self._not_found(resource, name)
        return self._replace(resource, ns, name, obj, q, old)

    def _patch(self, resource, ns, name, body, q):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("application/apply-patch+yaml", "application/json-patch+json",
                         "application/merge-patch+json", "application/strategic-merge-patch+json"):
            raise ApiError(415, "415: Unsupported Media Type", empty_details=True)
        old = self.kube.store.rec(resource, ns, name)
        kind = RESOURCES[resource]["kind"]
        if ctype == "application/apply-patch+yaml":
            try:
                applied = yaml.safe_load(body) if body.strip() else {}
            except yaml.YAMLError as e:
                raise ApiError(400, "error decoding YAML: error converting YAML to JSON: yaml: "
                                    + str(e).splitlines()[0]) from None
            if not isinstance(applied, dict) or not applied.get("kind") or not applied.get("apiVersion"):
                got = applied if isinstance(applied, dict) else {}
                group_version = got.get("apiVersion") or ""
                raise ApiError(400, f"invalid object type: {'/' if '/' not in group_version else ''}"
                                    f"{group_version}, Kind={got.get('kind') or ''}")
            self._typed_apply_check(applied, kind, name, q)
            applied, warnings = self._decode_parsed(applied, kind, q)
            if applied.get("metadata", {}).get("name", name) != name:
                raise ApiError(400, f"the name of the object ({applied['metadata']['name']}) does not match "
                                    f"the name on the URL ({name})")
            self._warnings += warnings
            applied.setdefault("metadata", {})["name"] = name
            self._applied = _field_set(applied, markers=False)
            if old is None:
                return self._create(resource, ns, applied, q, operation="Apply")
            obj = merge_patch(old.copy(), applied)
            # what this manager applied before and applies no more is removed, unless another owns it
            manager = q["fieldManager"]
            before, others = set(), set()
            live = _field_set(old.obj)
            conflicts = []
            for e in old.obj["metadata"].get("managedFields") or []:
                paths = _paths(e.get("fieldsV1") or {})
                if e.get("manager") == manager and e.get("operation") == "Apply":
                    before |= paths
                    continue
                others |= paths
                if q.get("force") != "true":   # a field another manager owns may not change value
                    conflicts += [(e, path) for path in sorted(paths & set(self._applied))
                                  if live.get(path) != self._applied[path]]
            last_applied = (old.obj["metadata"].get("annotations") or {}).get(LAST_APPLIED)
            if conflicts and manager == "kubectl" and last_applied:
                # kube-apiserver's lastAppliedManager: kubectl's first server-side apply over client-side
                # apply may take the fields its last-applied configuration names
                try:
                    allowed = set(_field_set(json.loads(last_applied), markers=False))
                except ValueError:
                    allowed = set()
                if all(path in allowed for _, path in conflicts):
                    conflicts = []
            if conflicts:
                raise _apply_conflict(conflicts)
            if manager == "kubectl" and last_applied is not None:
                # ... and its lastAppliedUpdater keeps the annotation in step with what kubectl applied
                config = json.loads(json.dumps(applied))
                config_meta = config.get("metadata") or {}
                config_annotations = {k: v for k, v in (config_meta.get("annotations") or {}).items()
                                      if k != LAST_APPLIED}
                if config_annotations:
                    config_meta["annotations"] = config_annotations
                else:
                    config_meta.pop("annotations", None)
                # set after managedFields are worked out: the annotation's owner does not change
                self._last_applied = _go_json(config) + "\n"
            for path in before - set(self._applied) - others:
                parent = obj
                for part in path[:-1]:
                    parent = parent.get(part) if isinstance(parent, dict) else None
                if isinstance(parent, dict) and path[-1] != ".":
                    parent.pop(path[-1], None)
            return self._replace(resource, ns, name, obj, q, old, operation="Apply")
        if old is None:
            raise self._not_found(resource, name)
        syntax = go_json_error(body)
        if ctype == "application/json-patch+json":
            if syntax:
                raise ApiError(400, "error decoding patch: " + syntax)
            patch = json.loads(body)
            if not isinstance(patch, list):
                raise ApiError(400, f"error decoding patch: json: cannot unmarshal {_json_kind(patch)} into Go "
                                    f"value of type []handlers.jsonPatchOp")
            try:
                obj = json_patch(old.copy(), patch)
            except (PatchTestFailed, PatchError, ValueError, TypeError, KeyError, IndexError):
                raise ApiError(422, "the server rejected our request due to an error in our request", "Invalid",
                               empty_details=True) from None
        else:
            strategic = ctype == "application/strategic-merge-patch+json"
            if syntax:
                raise ApiError(400, syntax if strategic else "error decoding patch: " + syntax)
            patch = json.loads(body)
            if not isinstance(patch, dict):
                message = (f"json: cannot unmarshal {_json_kind(patch)} into Go value of type "
                           f"map[string]interface {{}}")
                raise ApiError(400, message if strategic else "error decoding patch: " + message)
            obj = merge_patch(old.copy(), patch)
        if not isinstance(obj, dict):
            raise ApiError(422, "the server rejected our request due to an error in our request", "Invalid",
                           empty_details=True)
        patched, warnings = self._decode_parsed(obj, kind, q, patch_error=True)
        self._warnings += warnings
        return self._replace(resource, ns, name, patched, q, old)

    @staticmethod
    def _typed_apply_check(applied, kind, name, q):
        """Server-side apply builds a typed object of the applied configuration: a field the schema does not
        declare is a 500 (whatever fieldValidation says); unknown metadata fields count only when
        fieldValidation is Ignore or Warn, as kube-apiserver does."""
        fields = RESOURCES[KIND_TO_RESOURCE[kind]]["fields"] | {"apiVersion", "kind", "metadata"}
        bad = [f".{k}" for k in applied if k not in fields]
        meta = applied.get("metadata") if isinstance(applied.get("metadata"), dict) else {}
        if q.get("fieldValidation") in ("Ignore", "Warn"):
            bad = [f".metadata.{k}" for k in meta if k not in META_FIELDS] + bad
        if bad:
            errors = (f"{bad[0]}: field not declared in schema" if len(bad) == 1 else
                      "errors:\n" + "\n".join(f"  {b}: field not declared in schema" for b in bad))
            group_version = str(applied.get("apiVersion") or "")
            raise ApiError(500, f"failed to create typed patch object ({meta.get('namespace') or ''}/"
                                f"{meta.get('name') or name}; {'' if '/' in group_version else '/'}{group_version}, "
                                f"Kind={kind}): {errors}", "")

    def _decode_parsed(self, obj, kind, q, patch_error=False):
        """A patched or applied object through kube-apiserver's decoder (types, unknown fields)."""
        try:
            return decode_body(b"", kind, q.get("fieldValidation") or "Warn", obj)
        except DecodeError as e:
            if not patch_error:
                raise ApiError(e.code, e.message) from None
            shown = json.dumps(json.dumps(obj, sort_keys=True, separators=(",", ":")))
            raise ApiError(422, f' "" is invalid: patch: Invalid value: {shown}: {e.message}', "Invalid",
                           causes=[{"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {e.message}",
                                    "field": "patch"}]) from None

    def _delete(self, resource, ns, name, body, q):
        store = self.kube.store
        opts = {}
        ctype = (self.headers.get("Content-Type") or JSON).split(";")[0].strip().lower()
        if body and ctype == "application/vnd.kubernetes.protobuf":
            body = b""          # helm's DeleteOptions: nothing localkube acts on (no preconditions)
        if body:
            syntax = go_json_error(body)
            if syntax:
                raise ApiError(400, "couldn't get version/kind; json parse error: " + syntax)
            opts = json.loads(body)
            if not isinstance(opts, dict):
                opts = {}
        old = store.rec(resource, ns, name)
        if old is None:
            raise self._not_found(resource, name)
        pre = opts.get("preconditions") or {}
        meta = old.obj["metadata"]
        kind = RESOURCES[resource]["kind"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise ApiError(409, f'Operation cannot be fulfilled on {kind} "{name}": the UID in the precondition '
                                f'({pre["uid"]}) does not match the UID in record ({meta["uid"]}). The object '
                                f'might have been deleted and then recreated', "Conflict", name, kind)
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise ApiError(409, f'Operation cannot be fulfilled on {kind} "{name}": the ResourceVersion in the '
                                f'precondition ({pre["resourceVersion"]}) does not match the ResourceVersion in '
                                f'record ({meta["resourceVersion"]}). The object might have been modified',
                           "Conflict", name, kind)
        if resource == "namespaces":
            # kube-apiserver answers with the namespace, now Terminating; its namespace controller then
            # empties and removes it -- localkube does that at once
            gone = old.copy()
            gone["metadata"]["deletionTimestamp"] = self.kube.timestamp()
            gone["status"] = {"phase": "Terminating"}
            if not self._dry(q):
                store.remove(resource, ns, name)
                for res, spec in RESOURCES.items():
                    if spec["namespaced"]:
                        for key, _ in list(store.scan(res, name)):
                            store.remove(res, *key)
            return self._send_obj(200, gone)
        if not self._dry(q):
            store.remove(resource, ns, name)
        st = status_obj(200, "", "", name=name, kind=resource, success=True)
        del st["code"]
        st["details"]["uid"] = meta["uid"]
        self._send_obj(200, st)

    def _delete_collection(self, resource, ns, q):
        store = self.kube.store
        if resource == "namespaces":
            raise ApiError(405, "the server does not allow this method on the requested resource",
                           empty_details=True)
        try:
            lsel = parse_labels(q.get("labelSelector"))
            fsel = parse_fields(q.get("fieldSelector"), RESOURCES[resource]["kind"])
        except SelectorError as e:
            raise ApiError(400, str(e)) from None
        dry = self._dry(q)
        with store.lock:
            gone = [(k, r) for k, r in store.scan(resource, ns)
                    if (not lsel or lsel(r.obj["metadata"].get("labels")))
                    and (not fsel or fsel(r.obj))]
            if not dry:
                for key, _ in gone:
                    store.remove(resource, *key)
            rv = store.resource_version
        kind = RESOURCES[resource]["kind"]
        body = b"".join((b'{"kind":"', kind.encode(), b'List","apiVersion":"',
                         discovery.group_version(resource).encode(), b'","metadata":',
                         dumps({"resourceVersion": str(rv)}), b',"items":[',
                         b",".join(r.item_raw for _, r in gone), b"]}"))
        self._send(200, body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # client went away / TLS handshake failed: nothing useful to report


def make_server(kube, host: str, port: int, ssl_ctx: ssl.SSLContext | None) -> Server:
    handler = type("BoundHandler", (Handler,), {"kube": kube})
    srv = Server((host, port), handler)
    if ssl_ctx is not None:
        srv.socket = ssl_ctx.wrap_socket(srv.socket, server_side=True,
                                         do_handshake_on_connect=False)
    return srv


def serve_thread(srv: Server) -> threading.Thread:
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                         name="localkube", daemon=True)
    t.start()
    return t
