# SPDX-License-Identifier: GPL-3.0-or-later
"""Watch, as kube-apiserver serves it: what helm 4's --wait=watcher (kstatus over list+watch), the
Python client's Watch and curl read. Added for the real helm CLIs; each case is the real API's."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request

import kubernetes
import pytest

import helmfix
from localkube import LocalKube
from localkube.testing import make_api
from realhelm import RealHelm


def stream(kube, query, ns="shop", timeout=10):
    """The events of one watch request (raw HTTP): [(type, object)]."""
    with urllib.request.urlopen("%s/api/v1/namespaces/%s/configmaps?watch=true&%s" % (kube.url, ns, query),
                                timeout=timeout) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
        assert resp.headers["Transfer-Encoding"] == "chunked"
        return [(e["type"], e["object"]) for e in map(json.loads, resp.read().decode().splitlines())]


def configmap(name, labels=None, data=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


def test_python_client_watch_sees_existing_then_every_change_in_order(kube):
    api = make_api(kube)
    api.create_namespaced_config_map("shop", configmap("old"))

    def change():
        time.sleep(0.3)
        api.create_namespaced_config_map("shop", configmap("new", {"app": "web"}))
        api.patch_namespaced_config_map("new", "shop", {"data": {"k": "v2"}})
        api.delete_namespaced_config_map("new", "shop")
        api.create_namespaced_config_map("other", configmap("elsewhere"))    # another namespace: not seen
    threading.Thread(target=change).start()
    seen = [(e["type"], e["object"].metadata.name, int(e["object"].metadata.resource_version))
            for e in kubernetes.watch.Watch().stream(api.list_namespaced_config_map, "shop", timeout_seconds=2)]
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "old"), ("ADDED", "new"), ("MODIFIED", "new"),
                                            ("DELETED", "new")]
    versions = [rv for _, _, rv in seen[1:]]
    assert versions == sorted(versions) and len(set(versions)) == 3     # the deletion has its own version


def test_label_selector_filters_events(kube):
    api = make_api(kube)

    def change():
        time.sleep(0.3)
        api.create_namespaced_config_map("shop", configmap("a", {"owner": "helm"}))
        api.create_namespaced_config_map("shop", configmap("b", {"owner": "someone"}))
    threading.Thread(target=change).start()
    events = stream(kube, "labelSelector=owner%3Dhelm&timeoutSeconds=2")
    assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "a")]


def test_send_initial_events_ends_with_the_bookmark(kube):
    api = make_api(kube)
    for name in ("a", "b"):
        api.create_namespaced_config_map("shop", configmap(name))
    listed = api.list_namespaced_config_map("shop").metadata.resource_version
    events = stream(kube, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
                          "&timeoutSeconds=1")
    assert [(t, o["metadata"].get("name")) for t, o in events] == [("ADDED", "a"), ("ADDED", "b"),
                                                                   ("BOOKMARK", None), ("BOOKMARK", None)]
    mark = events[2][1]["metadata"]
    assert mark["annotations"] == {"k8s.io/initial-events-end": "true"} and mark["resourceVersion"] == listed
    # as the watch times out, a plain bookmark at the newest resourceVersion (as kube-apiserver's watch cache)
    assert events[3][1]["metadata"] == {"resourceVersion": listed}
    with pytest.raises(urllib.error.HTTPError) as err:      # as kube-apiserver: only with NotOlderThan
        stream(kube, "sendInitialEvents=true&timeoutSeconds=1")
    assert err.value.code == 422


def test_resource_version_starts_after_it_and_a_forgotten_one_is_gone(kube, monkeypatch):
    api = make_api(kube)
    api.create_namespaced_config_map("shop", configmap("a"))
    since = api.list_namespaced_config_map("shop").metadata.resource_version
    api.patch_namespaced_config_map("a", "shop", {"data": {"k": "v2"}})
    events = stream(kube, "resourceVersion=%s&timeoutSeconds=1" % since)
    assert [(t, o["data"]["k"]) for t, o in events] == [("MODIFIED", "v2")]      # no synthetic ADDED
    import collections
    monkeypatch.setattr(kube.store, "events", collections.deque(kube.store.events, maxlen=2))
    for n in range(3):
        api.patch_namespaced_config_map("a", "shop", {"data": {"k": str(n)}})
    [(kind, status)] = stream(kube, "resourceVersion=%s&timeoutSeconds=1" % since)
    assert kind == "ERROR" and (status["code"], status["reason"]) == (410, "Expired")


def test_timeout_and_server_stop_end_a_watch(tmp_path):
    with LocalKube() as kube:
        started = time.monotonic()
        assert stream(kube, "timeoutSeconds=1") == []
        assert 0.9 < time.monotonic() - started < 5
        proc = subprocess.Popen(["curl", "-sN", "%s/api/v1/configmaps?watch=true" % kube.url],
                                stdout=subprocess.PIPE)
        deadline = time.time() + 10
        while kube.stats()["by_verb"].get("watch", {}).get("requests", 0) < 2 and time.time() < deadline:
            time.sleep(0.05)
    # the server stopped (the with block) while curl's watch was open: the stream ends, curl exits
    assert proc.wait(timeout=10) is not None


def test_helm4_wait_watches_and_helm3_wait_polls(kube):
    """Real helm 4's --wait=watcher lists, then watches (no "watch is not supported" fallback any more);
    real helm 3's --wait only GETs. Both finish the release deployed."""
    import tools
    for binary, name in ((tools.HELM4, "four"), (tools.HELM3, "three")):
        helm = RealHelm(kube.kubeconfig, binary)
        kube.requests.clear()
        wait = "--wait=watcher" if binary == tools.HELM4 else "--wait"
        proc = helm.run("install", name, str(helmfix.CHART), wait, "--timeout", "30s", namespace="shop")
        assert "not supported" not in proc.stderr and "error" not in proc.stderr.lower(), proc.stderr
        watches = [r for r in kube.requests if "watch=true" in r["path"]]
        assert bool(watches) == (binary == tools.HELM4), [r["path"] for r in kube.requests]
        assert all(r["code"] == 200 for r in watches)
        assert helm.history(name, "shop") == [(1, "deployed")]
        out = helm.run("uninstall", name, wait, "--timeout", "30s", namespace="shop")
        assert "not supported" not in out.stderr and kube.store.get("configmaps", "shop", name + "-config") is None
