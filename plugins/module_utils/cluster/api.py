# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Raw Kubernetes REST calls over a ``kubernetes.client.ApiClient``.

We talk REST directly (not the typed or dynamic clients) because the scan
needs what those hide: metadata-only lists (``as=PartialObjectMetadataList``),
the server's ``Date`` header (stuck-ness is measured on the API server's
clock), and exact control over ``resourceVersion`` preconditions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError

META_LIST_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
JSON = "application/json"
RETRYABLE = (429, 500, 502, 503, 504)


def _date_header(headers):
    return headers.get("Date") or headers.get("date")


class ApiError(StorageError):
    """A failed API call: ``status`` is the HTTP code (0 = no answer); ``date``: the answer's Date header (a 403
    carries one too: the server's clock is known even when RBAC refuses)."""

    date = None

    def describe(self, server=None):
        """A connection problem says so (naming ``server``, the cause in plain words); an HTTP answer gives
        its code. The deadline's own words are kept when the message is shortened."""
        gave_up = _GAVE_UP.search(self.message or "")
        tail = "; %s" % gave_up.group(0) if gave_up else ""
        if self.status == 0:
            cause = unreachable_cause(self)
            if cause and server:
                return "cannot reach %s: %s (%s)%s" % (server, cause, self.message.split(":")[0], tail)
            return "no answer from the API server: %s" % self.message
        return "API error %s: %s" % (self.status, self.message)


#: what the client's exception says → the cause in plain words (first match wins)
_UNREACHABLE = (
    ("Connection refused", "connection refused"),
    ("timed out", "no answer in time (request_timeout)"),
    ("Name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("Temporary failure in name resolution", "host name not found"),
    ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate is not trusted (ca_cert, validate_certs)"),
    ("Connection reset", "connection reset"),
    ("No route to host", "no route to host"),
)

#: the deadline's own words in an ApiError (see KubeApi): kept when the message is shortened
_GAVE_UP = re.compile(r"(no retry|not sent): cluster_timeout \([^)]*\) reached( after \d+ attempt\(s\))?")


def unreachable_cause(err):
    """For an ApiError without an HTTP answer, the cause in plain words (None if not recognised)."""
    if err.status != 0:
        return None
    for needle, cause in _UNREACHABLE:
        if needle in (err.message or ""):
            return cause
    return None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def date(self):
        """The server's ``Date`` header (a string) or None."""
        return _date_header(self.headers)


def _status_message(status, raw, path):
    try:
        doc = json.loads(raw)
        return doc.get("reason") or "", doc.get("message") or raw.decode("utf-8", "replace")
    except Exception:
        text = raw.decode("utf-8", "replace").strip() if raw else ""
        return "", text or "HTTP %s on %s" % (status, path)


class KubeApi:
    """GET/PUT/DELETE JSON against the API with bounded retries on overload.

    Reads are retried on 429/5xx and on dropped connections, honouring
    ``Retry-After`` up to ``max_backoff`` seconds, at most ``retries`` times.
    Writes are never retried: a write carries a resourceVersion precondition,
    and the caller decides what a failure means.
    """

    def __init__(self, api_client, retries=4, max_backoff=10.0, timeout=60, sleep=time.sleep, deadline=None):
        self.client = api_client
        self.retries = retries
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.sleep = sleep
        #: the cluster's Deadline (cluster_timeout): requests, retries and back-offs end by it
        self.deadline = deadline
        self.requests = 0
        self.bytes_received = 0

    def _once(self, method, path, query=None, body=None, accept=JSON, content_type=None):
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        request = self.client.param_serialize(
            method, path, query_params=list(query or []), header_params=headers,
            body=body, auth_settings=["BearerToken"],
        )
        timeout = self.timeout
        if self.deadline is not None:
            if self.deadline.expired():
                raise ApiError(0, "cluster_timeout", "%s %s: not sent: %s" % (method, path, self.deadline.describe()),
                               path)
            timeout = self.deadline.cap(timeout)
        self.requests += 1
        try:
            resp = self.client.call_api(*request, _request_timeout=timeout)
            raw = resp.read()
        except Exception as exc:  # connection refused/reset, TLS, timeouts
            status = getattr(exc, "status", 0) or 0
            reason = getattr(exc, "reason", "") or exc.__class__.__name__
            err = ApiError(status, str(reason), "%s %s: %s" % (method, path, reason or exc), path)
            err.date = _date_header(dict(getattr(exc, "headers", None) or {}))
            raise err
        self.bytes_received += len(raw or b"")
        headers = dict(resp.headers or {})
        if not 200 <= resp.status <= 299:
            reason, message = _status_message(resp.status, raw, path)
            err = ApiError(resp.status, reason, message, path)
            err.retry_after = headers.get("Retry-After")
            err.date = _date_header(headers)
            raise err
        return Response(resp.status, headers, json.loads(raw) if raw else None)

    def _backoff(self, attempt, err):
        delay = min(self.max_backoff, 0.5 * (2 ** attempt))
        hint = getattr(err, "retry_after", None)
        if hint:
            try:
                delay = min(self.max_backoff, max(float(hint), 0.0))
            except ValueError:
                pass
        if self.deadline is not None and not self.deadline.allows(delay):
            # no retry can end in time: say why the last answer is the final one
            raise ApiError(err.status, err.reason, "%s; no retry: %s after %d attempt(s)"
                           % (err.message, self.deadline.describe(), attempt + 1), err.path)
        self.sleep(delay)

    def get(self, path, query=None, accept=JSON):
        attempt = 0
        while True:
            try:
                return self._once("GET", path, query, accept=accept)
            except ApiError as err:
                if (err.status not in RETRYABLE and err.status != 0) or attempt >= self.retries:
                    raise
                self._backoff(attempt, err)
                attempt += 1

    def list_pages(self, path, query=None, accept=JSON, limit=500):
        """Yield each page of a list, following ``continue`` tokens."""
        token = None
        while True:
            params = list(query or []) + [("limit", str(limit))]
            if token:
                params.append(("continue", token))
            page = self.get(path, params, accept=accept)
            yield page
            token = ((page.body or {}).get("metadata") or {}).get("continue")
            if not token:
                return

    def post(self, path, body):
        return self._once("POST", path, body=body, content_type=JSON)

    def put(self, path, body):
        return self._once("PUT", path, body=body, content_type=JSON)

    def delete(self, path, precondition_rv=None):
        body = None
        if precondition_rv:
            body = {"kind": "DeleteOptions", "apiVersion": "v1",
                    "preconditions": {"resourceVersion": precondition_rv}}
        return self._once("DELETE", path, body=body, content_type=JSON)
