# SPDX-License-Identifier: GPL-3.0-or-later
"""Scan cost follows the number of stuck releases, not the size of the history
(issue: "list metadata first, filter on the server, fetch full records only for
the releases you act on, page through big lists").

Real Helm records (one release installed by the real Helm SDK, re-labelled for
every release and revision by bench/common.py, the benchmarks' seeding code) are
loaded into a local API server; the module's own client scans them over HTTP and
the server's counters say what it cost. Counts, not seconds: speed figures live
in bench/ (scripts/bench)."""

import importlib.util
from pathlib import Path

import pytest

from localkube import LocalKube
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
from module_client import module_client
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_common", str(ROOT / "bench" / "common.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


class Module:
    def __init__(self, **params):
        self.params = dict((k, None) for k in AUTH_ARG_SPEC)
        self.params.update(params)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return bench.template_record(tmp_path_factory.mktemp("template"))


def scan(tmp_path, template, releases, revisions, stuck, namespaces=4):
    """Seed, run the module's report-only run once, return (result, server stats, total record bytes, log)."""
    objects, nss = bench.seed_objects(template, releases, revisions, stuck, namespaces)
    state = tmp_path / ("state-%d-%d-%d.json" % (releases, revisions, stuck))
    bench.write_state(state, objects, nss)
    with LocalKube(state_file=str(state)) as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
        api = KubeApi(module_client(Module(kubeconfig=kubeconfig).params))
        params = dict((name, spec.get("default")) for name, spec in argument_spec().items())
        params.update(remediate=False)
        kube.reset_stats()
        kube.requests.clear()
        result = runner.run(params, ReleaseStorage(api), "bench", "test@host")
        stats = kube.stats()
        log = list(kube.requests)
    total = sum(len(o["data"]["release"]) for o in objects)
    return result, stats, total, log


def test_history_size_does_not_change_the_scan(tmp_path, template):
    short, s_stats, s_total, _ = scan(tmp_path, template, releases=40, revisions=5, stuck=3)
    deep, d_stats, d_total, d_log = scan(tmp_path, template, releases=40, revisions=50, stuck=3)
    assert [e["name"] for e in short["stuck"]] == [e["name"] for e in deep["stuck"]] == [
        "app-00000", "app-00001", "app-00002"]
    assert d_stats["requests"] == s_stats["requests"]               # 10x the history, same requests
    # full records: only the stuck ones; then the liveness checks (a stuck release may be live: report-only
    # runs look too), one GET per hook or object of the release
    assert d_stats["by_verb"]["get"]["requests"] == 3 + deep["liveness_requests"]
    assert deep["liveness_requests"] == 3 * liveness_targets(template)
    assert d_stats["bytes"] < 0.02 * d_total                        # a sliver of what the records weigh
    # everything listed is metadata only, and the first list is filtered on the server
    lists = [r for r in d_log if r["method"] == "GET" and "/secrets" in r["path"] and "sh.helm" not in r["path"]]
    assert lists and all("PartialObjectMetadataList" in (r["accept"] or "") for r in lists)
    assert "labelSelector=" in lists[0]["path"] and "status" in lists[0]["path"]


def liveness_targets(template):
    """The liveness checks' GETs for one stuck release of the bench's chart (liveness.targets)."""
    from ansible_collections.helmops.unstick.plugins.module_utils.release import liveness
    assert bench.decode(template["data"]["release"])["manifest"]
    return len(liveness.targets(bench.decode(template["data"]["release"]), "ns"))


def expected_requests(stuck, namespaces):
    """The scan's design: two filtered metadata lists (odd statuses; our unfinished claims); per namespace holding odd releases, one metadata
    list of their histories per 50 of them (``name in (...)``); one GET per odd release's newest record.
    bench.seed_objects spreads release i over namespace i % namespaces, the first ``stuck`` are stuck."""
    per_ns = [len(range(n, stuck, namespaces)) for n in range(namespaces)]
    return 2 + sum(-(-k // 50) for k in per_ns if k) + stuck


def test_cost_grows_with_the_stuck_count(tmp_path, template):
    for stuck in (1, 4, 16, 120):
        result, stats, _, _ = scan(tmp_path, template, releases=150, revisions=5, stuck=stuck)
        assert result["summary"]["stuck"] == stuck
        checks = stuck * liveness_targets(template)
        assert result["liveness_requests"] == checks
        assert stats["requests"] == expected_requests(stuck, 4) + checks, (stuck, stats)
        assert stats["by_verb"]["get"]["requests"] == stuck + checks


def test_big_lists_are_paged(tmp_path, template):
    result, stats, _, log = scan(tmp_path, template, releases=620, revisions=1, stuck=620, namespaces=2)
    assert result["summary"]["stuck"] == 620 and result["errors"] == []
    first = [r for r in log if "labelSelector=" in r["path"] and "status" in r["path"]]
    assert len(first) >= 2 and any("continue=" in r["path"] for r in first), [r["path"] for r in first]
    assert all("limit=" in r["path"] for r in first)
