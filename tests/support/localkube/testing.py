# SPDX-License-Identifier: GPL-3.0-or-later
"""Small helpers for tests that talk to a LocalKube (kubernetes client, raw HTTP)."""
from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request

from kubernetes import client

from . import LocalKube

__all__ = ["make_api", "raw", "secret"]


def make_api(kube: LocalKube, token: str | None = None, retries=False) -> client.CoreV1Api:
    """A CoreV1Api pointed at ``kube`` without touching global kubernetes config."""
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.retries = retries
    if kube.ca_file:
        cfg.ssl_ca_cert = kube.ca_file
    if token:
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
    return client.CoreV1Api(client.ApiClient(cfg))


def raw(kube: LocalKube, method: str, path: str, body=None, headers=None, token=None):
    """Plain HTTP request; returns (status, headers, decoded JSON or bytes)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(kube.url + path, data=data, method=method,
                                 headers=dict(headers or {}))
    if data is not None and not req.has_header("Content-type"):
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        ctx = ssl.create_default_context(cafile=kube.ca_file) if kube.ca_file else None
        resp = urllib.request.urlopen(req, timeout=10, context=ctx)
    except urllib.error.HTTPError as e:
        resp = e
    payload = resp.read()
    ctype = resp.headers.get("Content-Type", "")
    return resp.status, resp.headers, json.loads(payload) if "json" in ctype else payload


def secret(name, ns="default", labels=None, data=None, **extra):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in (data or {}).items()},
            **extra}
