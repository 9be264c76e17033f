# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubeconfig generation (works for kubectl, the kubernetes client and Helm)."""
from __future__ import annotations

import base64
import os

import yaml


def build(server: str, *, ca_file: str | None, token: str | None, context: str = "localkube",
          namespace: str | None = None, extra_contexts: dict | None = None) -> dict:
    """``extra_contexts``: ``{name: {"token": ..., "namespace": ...}}``; each gets its own
    user entry on the same cluster."""
    cluster: dict = {"server": server}
    if ca_file:
        with open(ca_file, "rb") as f:
            cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    clusters = [{"name": "localkube", "cluster": cluster}]
    users, contexts = [], []

    def add(name, tok, ns):
        user: dict = {"token": tok} if tok else {}
        users.append({"name": f"{name}-user", "user": user})
        ctx = {"cluster": "localkube", "user": f"{name}-user"}
        if ns:
            ctx["namespace"] = ns
        contexts.append({"name": name, "context": ctx})

    add(context, token, namespace)
    for name, spec in (extra_contexts or {}).items():
        add(name, spec.get("token"), spec.get("namespace"))
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": clusters,
            "users": users, "contexts": contexts, "current-context": context}


def write(path: str | os.PathLike, server: str, **kw) -> str:
    path = os.fspath(path)
    data = yaml.safe_dump(build(server, **kw), sort_keys=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data)
    return path
