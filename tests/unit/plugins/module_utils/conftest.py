# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Builders for Helm storage records exactly as Helm writes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import gzip
import io
import json

import pytest

SECRET_PASSWORD = "s3cr3t-Hunter2-PASSWORD"


def helm_release(name="web", namespace="apps", version=1, status="deployed",
                 last_deployed="2026-11-24T10:52:33.123456789Z", description="Install complete"):
    """A release dict shaped like Helm's ``release.Release`` JSON."""
    return {
        "name": name,
        "info": {
            "first_deployed": "2026-11-20T08:00:00.000000001Z",
            "last_deployed": last_deployed,
            "deleted": "",
            "description": description,
            "status": status,
            "notes": "Visit http://example with password %s" % SECRET_PASSWORD,
        },
        "chart": {
            "metadata": {
                "name": "nginx",
                "version": "15.4.2",
                "description": "NGINX chart",
                "apiVersion": "v2",
                "appVersion": "1.25.3",
                "type": "application",
            },
            "lock": None,
            "templates": [{"name": "templates/secret.yaml",
                           "data": base64.b64encode(b"password: {{ .Values.password }}").decode()}],
            "values": {"password": SECRET_PASSWORD, "replicaCount": 1},
            "schema": None,
            "files": [],
        },
        "config": {"password": SECRET_PASSWORD, "db": {"password": SECRET_PASSWORD}},
        "manifest": "---\napiVersion: v1\nkind: Secret\nstringData:\n  password: %s\n" % SECRET_PASSWORD,
        "hooks": [{"name": "pre-install-job", "manifest": "env: %s" % SECRET_PASSWORD}],
        "version": version,
        "namespace": namespace,
    }


def helm_encode(release, gzipped=True):
    """Helm's ``encodeRelease``: json.Marshal -> gzip (best) -> base64 (std)."""
    raw = json.dumps(release, separators=(",", ":")).encode("utf-8")
    if gzipped:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as handle:
            handle.write(raw)
        raw = buf.getvalue()
    return base64.b64encode(raw).decode("ascii")


def storage_object(release, driver="secret", labels_extra=None, drop_labels=(), with_data=True,
                   creation="2026-11-24T10:52:33Z", resource_version="12345"):
    """A Secret/ConfigMap dict exactly as the Kubernetes API returns it."""
    inner = helm_encode(release)
    labels = {
        "name": release["name"],
        "owner": "helm",
        "status": release["info"]["status"],
        "version": str(release["version"]),
    }
    labels.update(labels_extra or {})
    for key in drop_labels:
        labels.pop(key, None)
    obj = {
        "apiVersion": "v1",
        "kind": "Secret" if driver == "secret" else "ConfigMap",
        "metadata": {
            "name": "sh.helm.release.v1.%s.v%d" % (release["name"], release["version"]),
            "namespace": release["namespace"],
            "labels": labels,
            "resourceVersion": resource_version,
            "uid": "0b9c2f0e-1111-2222-3333-444455556666",
            "creationTimestamp": creation,
        },
    }
    if driver == "secret":
        obj["type"] = "helm.sh/release.v1"
        if with_data:
            # Secret data is binary, so the API adds one more base64 layer.
            obj["data"] = {"release": base64.b64encode(inner.encode("ascii")).decode("ascii")}
    elif with_data:
        obj["data"] = {"release": inner}
    return obj


@pytest.fixture
def make_release():
    return helm_release


@pytest.fixture
def make_object():
    return storage_object


@pytest.fixture
def encode_like_helm():
    return helm_encode


@pytest.fixture
def secret_password():
    return SECRET_PASSWORD
