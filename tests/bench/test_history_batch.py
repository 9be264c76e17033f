# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan reads the histories of a namespace's odd releases in one list
(ReleaseStorage.histories) instead of one list per release: same answer,
fewer requests, and a failed batch falls back to the per-release reads."""

import copy
import sys
from pathlib import Path

import kubernetes
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from common import encode, seed_objects  # noqa: E402

from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.storage import kube as releases_mod
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.storage.interface import ReleaseStore
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage

RELEASE = {"name": "x", "namespace": "x", "version": 1, "manifest": "", "config": {},
           "info": {"status": "deployed", "description": "Install complete",
                    "last_deployed": "2026-11-24T10:00:00Z"},
           "chart": {"metadata": {"name": "demo", "version": "0.1.0", "appVersion": "1.0"}}}
TEMPLATE = {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "x", "namespace": "x", "labels": {"owner": "helm"}},
            "data": {"release": encode(RELEASE)}}


@pytest.fixture
def seeded(kube):
    # 12 releases x 3 revisions over 2 namespaces; 7 stuck: 4 in ns-00, 3 in ns-01
    objects, _ = seed_objects(TEMPLATE, 12, 3, 7, 2)
    for obj in objects:
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("resourceVersion")
        kube.store.write("secrets", obj)
    return kube


def storage(kube, retries=4):
    client = kubernetes.config.new_client_from_config(config_file=kube.kubeconfig)
    return ReleaseStorage(KubeApi(client, retries=retries, sleep=lambda s: None))


class OneByOne(ReleaseStorage):
    """The scan as it was: no batched histories (the storage interface's one list per release)."""
    histories = ReleaseStore.histories


def params():
    return dict(namespaces=[], exclude_namespaces=[], releases=[], exclude_releases=[], min_age="15m",
                remediate=False, strategy="unlock", pending_install="unlock", wait=True, timeout="5m",
                backup_dir=None, max_remediations=None)


def test_histories_equal_revisions(seeded, monkeypatch):
    monkeypatch.setattr(releases_mod, "HISTORY_BATCH", 2)      # several batches, one of a single name
    store = storage(seeded)
    names = ["app-00000", "app-00002", "app-00004", "app-00006", "app-00008", "absent"]
    got = store.histories("ns-00", names)
    assert sorted(got) == sorted(names)
    for name in names:
        assert got[name] == store.revisions("ns-00", name)
    assert got["absent"] == [] and len(got["app-00000"]) == 3


def test_failed_batch_is_left_out(seeded):
    seeded.faults.error(500, verb="list", count=1)
    got = storage(seeded, retries=0).histories("ns-00", ["app-00000", "app-00002"])
    assert got == {}


def test_scan_same_answer_fewer_requests(seeded):
    seeded.reset_stats()
    batched = runner.run(params(), storage(seeded), "c", "me")
    batched_requests = seeded.stats()["requests"]
    seeded.reset_stats()
    client = kubernetes.config.new_client_from_config(config_file=seeded.kubeconfig)
    single = runner.run(params(), OneByOne(KubeApi(client)), "c", "me")
    single_requests = seeded.stats()["requests"]
    assert batched["summary"]["stuck"] == 7
    # every run has its own id (backups and Events name it); everything else is the same answer
    assert batched.pop("run_id") != single.pop("run_id")
    assert batched == single
    assert (batched_requests, single_requests) == (2 + 2 + 7, 2 + 7 + 7)   # 2 scan lists: odd, claims


def test_scan_falls_back_when_a_batch_fails(seeded):
    # the first history batch fails (after the scan's list): its releases are read one by one
    seeded.faults.error(500, verb="list", path="name\\+in|name%20in|name in", count=1)
    seeded.reset_stats()
    out = runner.run(params(), storage(seeded, retries=0), "c", "me")
    assert seeded.stats()["faults_fired"] == 1
    assert out["summary"]["stuck"] == 7 and out["errors"] == []
    # 2 scan lists, 2 batches (one failed), the failed batch's 4 releases alone, 7 GETs
    assert seeded.stats()["requests"] == 2 + 2 + 4 + 7
