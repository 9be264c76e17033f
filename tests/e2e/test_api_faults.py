# SPDX-License-Identifier: GPL-3.0-or-later
"""The REST layer under API faults (localkube fault injection, real HTTP)."""

import time

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError, KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
from module_client import module_client
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage


class Module:
    """What a session needs of an AnsibleModule: its params."""

    def __init__(self, **params):
        self.params = dict((k, None) for k in AUTH_ARG_SPEC)
        self.params.update(params)


@pytest.fixture
def api(kube):
    client = module_client(Module(kubeconfig=kube.kubeconfig).params)   # the module's own client set-up
    return KubeApi(client, retries=3, max_backoff=0.5, timeout=5)


def test_reads_retry_overload_then_succeed(kube, api):
    kube.faults.error(503, verb="list", count=2)
    kube.faults.error(429, retry_after=1, verb="list", count=1)
    start = time.monotonic()
    result = ReleaseStorage(api).scan()
    assert result.items == [] and result.server_date
    assert api.requests == 5      # the odd-status list (3 refused, then answered), then the claims list
    assert time.monotonic() - start >= 0.5      # Retry-After honoured, capped at max_backoff


def test_reads_give_up_after_the_cap(kube, api):
    kube.faults.error(500, verb="list", count=10)
    with pytest.raises(ApiError) as err:
        ReleaseStorage(api).scan()
    assert err.value.status == 500 and api.requests == 4


def test_dropped_connection_on_read_is_retried(kube, api):
    kube.faults.drop(verb="list", count=1)
    assert ReleaseStorage(api).scan().items == []
    # the odd-status list (dropped, then again), then the claims list
    assert api.requests == 3 and kube.stats()["by_verb"]["list"]["requests"] == 3


def test_dropped_write_is_not_resent(kube, api):
    kube.store.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                    "data": {}}, "secrets")
    obj = ReleaseStorage(api).get("default", "s")
    kube.faults.drop(verb="update", count=1)
    with pytest.raises(ApiError) as err:
        ReleaseStorage(api).replace(obj)
    assert err.value.status == 0
    assert kube.stats()["by_verb"]["update"]["requests"] == 1     # nothing re-sent behind our back


def test_writes_are_never_retried(kube, api):
    kube.store.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                    "data": {}}, "secrets")
    obj = ReleaseStorage(api).get("default", "s")
    kube.faults.error(503, verb="update", count=1)
    with pytest.raises(ApiError) as err:
        ReleaseStorage(api).replace(obj)
    assert err.value.status == 503 and api.requests == 2
    assert kube.store.get("secrets", "default", "s")["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_stale_resource_version_is_a_conflict(kube, api):
    kube.store.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                    "data": {}}, "secrets")
    storage = ReleaseStorage(api)
    obj = storage.get("default", "s")
    fresh = dict(obj, metadata=dict(obj["metadata"], labels={"touched": "yes"}))
    storage.replace(fresh)
    with pytest.raises(ApiError) as err:
        storage.replace(obj)        # still carries the old resourceVersion
    assert err.value.conflict


def test_forbidden_cluster_wide_list_falls_back_per_namespace(tmp_path):
    from localkube import LocalKube
    with LocalKube(tokens={"t": {"namespaces": ["a", "b"]}}) as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "k", token="t"))
        api = KubeApi(module_client(Module(kubeconfig=kubeconfig).params))
        with pytest.raises(ApiError) as err:     # cannot list secrets cluster-wide nor namespaces
            ReleaseStorage(api).scan()
        assert "name the namespaces" in err.value.message
        result = ReleaseStorage(api).scan(["a", "b", "c"])
        assert [ns for ns, _ in result.forbidden] == ["c"]
