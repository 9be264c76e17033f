# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection (Python API and HTTP admin API) and request counters."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from localkube.testing import make_api, raw, secret


def test_latency_is_measurable(kube, api):
    api.list_namespaced_secret("default")
    kube.faults.latency(0.3, verb="list")
    t0 = time.monotonic()
    api.list_namespaced_secret("default")
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    api.read_namespace("default")           # verb "get" is not delayed
    assert time.monotonic() - t0 < 0.25


@pytest.mark.parametrize("code,reason", [(500, "InternalError"), (503, "ServiceUnavailable")])
def test_error_codes_with_count(kube, api, code, reason):
    kube.faults.error(code, verb="list", path=r"/secrets", count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as e:
            api.list_namespaced_secret("default")
        assert e.value.status == code and json.loads(e.value.body)["reason"] == reason
    api.list_namespaced_secret("default")   # count exhausted
    assert kube.faults.list() == []
    assert kube.stats()["faults_fired"] == 2


def test_429_with_retry_after(kube):
    kube.faults.error(429, retry_after=7, method="POST", count=1)
    code, headers, st = raw(kube, "POST", "/api/v1/namespaces/default/secrets", secret("x"))
    assert code == 429 and headers["Retry-After"] == "7"
    assert st["reason"] == "TooManyRequests" and st["details"]["retryAfterSeconds"] == 7
    assert raw(kube, "POST", "/api/v1/namespaces/default/secrets", secret("x"))[0] == 201


def test_path_regex_targets_named_object(kube):
    kube.store.put(secret("victim"))
    kube.store.put(secret("bystander"))
    kube.faults.error(500, path=r"/secrets/victim$")
    assert raw(kube, "GET", "/api/v1/namespaces/default/secrets/victim")[0] == 500
    assert raw(kube, "GET", "/api/v1/namespaces/default/secrets/bystander")[0] == 200


def test_hang_until_released(kube, api):
    kube.store.put(secret("stuck"))
    fault = kube.faults.hang(path=r"/secrets/stuck$")
    result = {}

    def call():
        result["obj"] = api.read_namespaced_secret("stuck", "default")

    t = threading.Thread(target=call)
    t.start()
    assert kube.faults.wait_hanging(1, timeout=5)
    assert kube.faults.hanging == 1 and "obj" not in result
    assert raw(kube, "GET", "/api/v1/namespaces/default/secrets")[0] == 200   # others pass
    kube.faults.release(fault.id)
    t.join(5)
    assert result["obj"].metadata.name == "stuck"
    assert kube.faults.hanging == 0
    assert raw(kube, "GET", "/api/v1/namespaces/default/secrets/stuck")[0] == 200


def test_hang_ends_when_client_disconnects(kube):
    kube.faults.hang(verb="list")
    sock = socket.create_connection(("127.0.0.1", kube.port))
    sock.sendall(b"GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\n\r\n")
    assert kube.faults.wait_hanging(1, timeout=5)
    sock.close()
    deadline = time.monotonic() + 5
    while kube.faults.hanging and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kube.faults.hanging == 0 and kube.faults.hung_total == 1
    assert kube.stats()["dropped"] == 1


def test_client_timeout_on_hang(kube, api):
    kube.faults.hang(verb="get", count=1)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api.read_namespace("default", _request_timeout=0.3)
    kube.faults.release()


def test_dropped_connection_raises_in_client(kube, api):
    kube.faults.drop(verb="list", count=1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.list_namespaced_secret("default")
    assert api.list_namespaced_secret("default").items == []
    assert kube.stats()["dropped"] == 1


def test_counters_per_verb_and_reset(kube, api):
    kube.store.put(secret("a", data={"k": "v" * 1000}))
    kube.reset_stats()
    api.list_namespaced_secret("default")
    api.read_namespaced_secret("a", "default")
    api.read_namespaced_secret("a", "default")
    api.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    s = kube.stats()
    assert s["requests"] == 4
    assert s["by_verb"]["get"]["requests"] == 2 and s["by_verb"]["list"]["requests"] == 1
    assert s["by_verb"]["create"]["requests"] == 1
    assert s["by_verb"]["get"]["bytes"] > 2000
    assert s["bytes"] == sum(v["bytes"] for v in s["by_verb"].values())
    assert s["by_code"] == {"200": 3, "201": 1}
    kube.reset_stats()
    assert kube.stats()["requests"] == 0


def test_admin_http_api(kube):
    def admin(method, path, body=None):
        req = urllib.request.Request(kube.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    f = admin("POST", "/_localkube/faults", {"kind": "error", "code": 503, "verb": "get",
                                             "count": 1})
    assert f["id"] and admin("GET", "/_localkube/faults")["faults"][0]["code"] == 503
    assert raw(kube, "GET", "/api/v1/namespaces/default")[0] == 503
    assert raw(kube, "GET", "/api/v1/namespaces/default")[0] == 200
    h = admin("POST", "/_localkube/faults", {"kind": "hang", "path": "/namespaces/default$"})
    t = threading.Thread(target=raw, args=(kube, "GET", "/api/v1/namespaces/default"))
    t.start()
    assert admin("GET", "/_localkube/hanging?wait=1")["hanging"] == 1
    admin("POST", "/_localkube/release", {"id": h["id"]})
    t.join(5)
    assert not t.is_alive()
    admin("POST", "/_localkube/faults", {"kind": "latency", "seconds": 0.01})
    assert admin("DELETE", "/_localkube/faults")["faults"] == []
    stats = admin("GET", "/_localkube/stats")
    assert stats["requests"] == 3 and stats["by_code"] == {"503": 1, "200": 2}
    assert admin("DELETE", "/_localkube/stats")["requests"] == 0
    req = urllib.request.Request(kube.url + "/_localkube/faults", method="POST",
                                 data=b'{"kind": "bogus"}')
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 400
