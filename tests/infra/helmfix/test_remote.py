# SPDX-License-Identifier: GPL-3.0-or-later
"""helmfix.remote: the stuck-release makers and age_record against a localkube
running as its own process (``python -m localkube``), through RemoteKube."""

import json
import time

import pytest

import helmfix
from helmfix.remote import RemoteError, RemoteKube, free_port, spawn, stop

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path):
    """Start localkube processes; each is stopped (SIGTERM) after the test."""
    procs = []

    def start(name="kubeconfig", **kw):
        proc, url = spawn(tmp_path / name, log=tmp_path / (name + ".log"), **kw)
        procs.append(proc)
        return proc, RemoteKube(url, tmp_path / name)

    yield start
    for proc in procs:
        stop(proc)


def helm_labels(kube, ns, resource="secrets"):
    return sorted((o["metadata"]["labels"]["name"], int(o["metadata"]["labels"]["version"]),
                   o["metadata"]["labels"]["status"])
                  for o in kube.store.list(resource, ns, label_selector="owner=helm"))


def test_stuck_upgrade_install_rollback_on_a_tls_token_server_in_another_process(served):
    proc, kube = served(tls=True, token="s3cret")
    assert kube.url.startswith("https://127.0.0.1:") and kube.token == "s3cret"
    env = helmfix.HelmEnv(kube.kubeconfig)
    env.install("web", "shop")
    env.install("api", "billing")
    env.upgrade("api", "billing")

    rev = helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    assert rev == 2 and helmfix.newest(kube, "shop", "web") == (2, "pending-upgrade")
    new = helmfix.make_stuck_install(env, kube, "new", "shop", at="record")
    back = helmfix.make_stuck_rollback(env, kube, "api", "billing", 1)
    assert helm_labels(kube, "shop") == [("new", new, "pending-install"), ("web", 1, "deployed"),
                                         ("web", 2, "pending-upgrade")]
    assert helm_labels(kube, "billing")[-1] == ("api", back, "pending-rollback")
    for name, ns in (("web", "shop"), ("new", "shop"), ("api", "billing")):
        assert helmfix.LOCKED in helmfix.assert_locked(env, name, ns)     # real Helm refuses
    assert kube.faults.list() == [] and kube.faults.hanging == 0          # every fault lifted
    assert proc.poll() is None


def test_age_record_uses_the_servers_clock_and_replaces_over_rest(served):
    _, kube = served(clock_offset=-7200)                  # server 2 h behind
    assert abs(kube.now() - (time.time() - 7200)) < 3
    env = helmfix.HelmEnv(kube.kubeconfig)
    env.install("web", "shop")
    rev = helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    before = kube.store.get("secrets", "shop", helmfix.record_name("web", rev))
    aged = helmfix.age_record(kube, "shop", "web", rev, 3600)
    stored = kube.store.get("secrets", "shop", helmfix.record_name("web", rev))
    server_now = kube.now()
    # the creation time the server reports, through localkube's test hook (a PUT cannot change it)
    assert abs(helmfix._epoch(stored["metadata"]["creationTimestamp"]) - (server_now - 3600)) < 5
    for label in ("createdAt", "modifiedAt"):
        assert abs(int(stored["metadata"]["labels"][label]) - (server_now - 3600)) < 5
    release = json.loads(helmfix.decode_record(stored))
    assert release["info"]["status"] == "pending-upgrade"
    assert release["info"]["last_deployed"] == aged["metadata"]["creationTimestamp"]
    assert int(stored["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert helmfix.LOCKED in helmfix.assert_locked(env, "web", "shop")


def test_records_made_while_the_clock_was_behind_are_old_after_a_restart(served, tmp_path):
    """A REST client cannot backdate creationTimestamp (the age of a record without a
    modifiedAt label, e.g. pending-install): make it while the server's clock is an
    hour behind, then restart the server on the same port with its state."""
    state = tmp_path / "state.json"
    proc, kube = served(clock_offset=-3600, state_file=state)
    env = helmfix.HelmEnv(kube.kubeconfig)
    rev = helmfix.make_stuck_install(env, kube, "new", "shop")
    stop(proc)
    port = int(kube.url.rsplit(":", 1)[1])
    _, kube = served(state_file=state, port=port)
    assert kube.url.endswith(":%d" % port)
    record = kube.store.get("secrets", "shop", helmfix.record_name("new", rev))
    assert "modifiedAt" not in record["metadata"]["labels"]
    created = helmfix._epoch(record["metadata"]["creationTimestamp"])
    assert 3590 < kube.now() - created < 3700
    assert helmfix.LOCKED in helmfix.assert_locked(helmfix.HelmEnv(kube.kubeconfig), "new", "shop")


def test_configmap_driver_over_plain_http(served):
    _, kube = served()
    env = helmfix.HelmEnv(kube.kubeconfig, driver="configmap")
    env.install("cm", "apps")
    rev = helmfix.make_stuck_upgrade(env, kube, "cm", "apps", at="record")
    helmfix.age_record(kube, "apps", "cm", rev, 600)          # finds the ConfigMap by itself
    assert helm_labels(kube, "apps", "configmaps")[-1] == ("cm", rev, "pending-upgrade")
    assert kube.store.list("secrets", "apps", label_selector="owner=helm") == []
    assert helmfix.LOCKED in helmfix.assert_locked(env, "cm", "apps")


def test_store_and_faults_surface(served):
    _, kube = served(tls=True, token="t")
    store = kube.store
    assert store.get("secrets", "default", "nope") is None
    created = store.put({"kind": "Secret", "metadata": {"name": "x", "namespace": "default"},
                         "data": {"k": "dg=="}})
    stale = dict(created, data={"k": "dzI="})
    store.put(dict(created, data={"k": "dzE="}))
    store.put(stale)                                # stale resourceVersion: dropped, the put wins
    assert store.get("secrets", "default", "x")["data"] == {"k": "dzI="}
    assert [o["metadata"]["name"] for o in store.list("secrets", "default")] == ["x"]
    assert store.list("secrets", "default")[0]["kind"] == "Secret"
    assert store.delete("secrets", "default", "x") and not store.delete("secrets", "default", "x")
    assert "default" in [o["metadata"]["name"] for o in store.list("namespaces")]

    started = time.monotonic()
    assert kube.faults.wait_hanging(1, timeout=0.1) is False              # a short timeout stays short
    assert time.monotonic() - started < 2
    fault = kube.faults.error(503, verb="get", count=1)
    assert fault.id and not fault.fired
    with pytest.raises(RemoteError) as err:
        store.get("secrets", "default", "x")
    assert err.value.status == 503 and fault.fired                          # used up: gone, fired
    hang = kube.faults.hang(path="/never")
    assert [f["id"] for f in kube.faults.list()] == [hang.id]
    assert kube.faults.remove(hang.id) and not hang.fired and kube.faults.list() == []

    anonymous = RemoteKube(kube.url, kube.kubeconfig, token="")             # auth really is on
    status, _, body = anonymous.request("GET", "/api/v1/namespaces/default/secrets")
    assert status == 403 and 'User "system:anonymous"' in str(body)        # as kube-apiserver: RBAC says no


def test_spawn_stop_and_an_unreachable_port(tmp_path):
    port = free_port()
    proc, url = spawn(tmp_path / "kc", log=tmp_path / "log", detach=True)
    kube = RemoteKube(url, tmp_path / "kc")
    assert kube.store.get("namespaces", None, "default")["metadata"]["name"] == "default"
    assert stop(proc.pid)
    assert not stop(proc.pid)
    with pytest.raises(OSError):
        RemoteKube("http://127.0.0.1:%d" % port, tmp_path / "kc").now()
