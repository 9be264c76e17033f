# SPDX-License-Identifier: GPL-3.0-or-later
"""API faults during the scan and during remediation: 500, 503, 429 with
Retry-After, request timeouts, dropped connections. After each: no record lost
or corrupted, backups equal the originals byte for byte, and a re-run
converges (fixes what is left, then reports changed=false)."""

import time

import pytest

from faultkit import STUCK, unlocked, wait_for
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError

pytestmark = pytest.mark.slow

SCAN_FAULTS = [
    ("API 500 (x2)", "list", dict(kind="error", code=500, verb="list", count=2)),
    ("API 503 (x2)", "list", dict(kind="error", code=503, verb="list", count=2)),
    ("API 429 + Retry-After 1 s (x2)", "list", dict(kind="error", code=429, retry_after=1, verb="list", count=2)),
    ("API 429 + Retry-After 30 s, capped (x2)", "list",
     dict(kind="error", code=429, retry_after=30, verb="list", count=2)),
    ("timeout (3 s latency > 1.5 s request timeout)", "list", dict(kind="latency", seconds=3, verb="list", count=1)),
    ("dropped connection", "list", dict(kind="drop", verb="list", count=1)),
    ("API 503 (x2)", "get", dict(kind="error", code=503, verb="get", count=2)),
    ("API 429 + Retry-After 1 s", "get", dict(kind="error", code=429, retry_after=1, verb="get", count=1)),
    ("timeout (3 s latency > 1.5 s request timeout)", "get", dict(kind="latency", seconds=3, verb="get", count=1)),
    ("dropped connection", "get", dict(kind="drop", verb="get", count=1)),
]

WRITE_FAULTS = [
    ("API 500", dict(kind="error", code=500, verb="update", count=1), False),
    ("API 503", dict(kind="error", code=503, verb="update", count=1), False),
    ("API 429 + Retry-After 1 s", dict(kind="error", code=429, retry_after=1, verb="update", count=1), False),
    ("dropped connection", dict(kind="drop", verb="update", count=1), False),
    # the server applies the write after our client gave up: it lands late
    ("timeout (3 s latency > 1.5 s request timeout)", dict(kind="latency", seconds=3, verb="update", count=1), True),
]


def backups(*results):
    return [e["backup"] for r in results for e in r["remediated"] + r["errors"] if e.get("backup")]


def add_fault(kube, spec):
    spec = dict(spec)
    return kube.faults.add(spec.pop("kind"), **spec)


@pytest.mark.parametrize("fault,verb,spec", SCAN_FAULTS, ids=["%s-%s" % (v, f) for f, v, _ in SCAN_FAULTS])
def test_scan_fault_is_retried_and_run_completes(kube, fleet, ledger, inproc, tally, tmp_path, fault, verb, spec):
    book = ledger()
    add_fault(kube, spec)
    start = time.monotonic()
    first = inproc(strategy="unlock", backup_dir=str(tmp_path / "b"))
    elapsed = time.monotonic() - start
    assert first["errors"] == [], first["errors"]
    assert sorted((e["namespace"], e["name"]) for e in first["remediated"]) == sorted(STUCK)
    assert elapsed < 12, "retries must be capped (max_backoff), took %.1fs" % elapsed
    counts = book.check(changed_releases=STUCK)
    book.check_backups(backups(first))
    second = inproc(strategy="unlock")
    assert second["changed"] is False and second["stuck"] == [] and second["errors"] == []
    assert unlocked(kube)
    tally("%s on %s" % (fault, verb), "scan", "module code in-process", 2, counts, True)


def test_retry_after_is_honoured_on_reads(kube, fleet, ledger, inproc, tally):
    """The server's Retry-After hint, not our exponential guess, sets the pause (under the cap)."""
    book = ledger()
    kube.faults.error(429, retry_after=2, verb="list", count=1)
    kube.faults.error(503, retry_after=2, verb="get", count=1)
    start = time.monotonic()
    first = inproc(strategy="unlock", max_backoff=5)
    assert time.monotonic() - start >= 4
    assert len(first["remediated"]) == len(STUCK) and first["errors"] == []
    counts = book.check(changed_releases=STUCK)
    assert inproc(strategy="unlock")["changed"] is False
    tally("API 429 / 503 + Retry-After 2 s (hint honoured)", "scan", "module code in-process", 2, counts, True)


def test_scan_fault_beyond_retry_cap_changes_nothing(kube, fleet, ledger, inproc, tally, tmp_path):
    book = ledger()
    fault = kube.faults.error(503, verb="list")            # persistent overload
    with pytest.raises(ApiError) as err:
        inproc(strategy="unlock", backup_dir=str(tmp_path / "b"))
    assert err.value.status == 503
    assert kube.stats()["by_verb"]["list"]["requests"] == 4      # 1 + 3 retries, then gave up
    assert kube.stats()["by_verb"].get("update") is None
    book.check(changed_releases=set())
    kube.faults.remove(fault.id)
    again = inproc(strategy="unlock")
    assert len(again["remediated"]) == len(STUCK)
    counts = book.check(changed_releases=STUCK)
    assert inproc(strategy="unlock")["changed"] is False
    tally("API 503 on list, persistent (beyond the retry cap)", "scan", "module code in-process", 3, counts, True)


def test_one_release_unreadable_does_not_stop_the_others(kube, fleet, ledger, inproc, tally):
    book = ledger()
    rev = fleet[("shop", "web")]
    fault = kube.faults.error(500, verb="get", path=r"sh\.helm\.release\.v1\.web\.v%d$" % rev)
    first = inproc(strategy="unlock")
    [err] = first["errors"]
    assert err["name"] == "web" and "API error 500" in err["reason"]
    assert sorted(e["name"] for e in first["remediated"]) == ["fresh", "my.app-v2"]
    book.check(changed_releases={("apps", "fresh"), ("shop", "my.app-v2")})
    kube.faults.remove(fault.id)
    second = inproc(strategy="unlock")
    assert [e["name"] for e in second["remediated"]] == ["web"]
    counts = book.check(changed_releases=STUCK)
    assert inproc(strategy="unlock")["changed"] is False
    tally("API 500 on one release's record GET, persistent", "scan", "module code in-process", 3, counts, True)


@pytest.mark.parametrize("fault,spec,lands_late", WRITE_FAULTS, ids=[f for f, _, _ in WRITE_FAULTS])
def test_write_fault_is_not_retried_and_rerun_converges(kube, fleet, ledger, inproc, tally, tmp_path,
                                                        fault, spec, lands_late):
    book = ledger()
    add_fault(kube, spec)
    first = inproc(strategy="unlock", backup_dir=str(tmp_path / "b"))
    # remediation order is sorted: apps/fresh is written first and takes the fault
    [err] = first["errors"]
    assert (err["namespace"], err["name"]) == ("apps", "fresh"), err
    assert "apps/fresh" in err["reason"] and ("API error" in err["reason"] or "no answer from the API server" in err["reason"])
    assert sorted(e["name"] for e in first["remediated"]) == ["my.app-v2", "web"]
    if spec["kind"] in ("drop", "latency"):
        assert "may have landed" in err["reason"], err["reason"]  # no answer: we cannot know it was not written
    else:
        assert "nothing written" in err["reason"]
    if lands_late:
        assert wait_for(lambda: unlocked(kube, [("apps", "fresh")]), timeout=10)
    assert wait_for(lambda: kube.stats()["by_verb"]["update"]["requests"] == 3)   # one write each: none re-sent
    runs = [first]
    book.check(changed_releases=STUCK if lands_late else {("shop", "web"), ("shop", "my.app-v2")})
    while True:
        nxt = inproc(strategy="unlock", backup_dir=str(tmp_path / "b"))
        runs.append(nxt)
        assert nxt["errors"] == []
        if not nxt["changed"]:
            break
        assert [e["name"] for e in nxt["remediated"]] == ["fresh"]
        assert len(runs) < 4
    counts = book.check(changed_releases=STUCK)
    book.check_backups(backups(*runs))
    assert unlocked(kube)
    tally("%s on write" % fault, "remediation", "module code in-process", len(runs), counts, True,
          "write landed after the client timed out; re-run found it done" if lands_late else "")


# -- the same through ansible-playbook, with strategy rollback and real helm --------------------
def test_module_scan_overload_then_rollback(kube, fleet, ledger, module, tally, tmp_path):
    book = ledger()
    kube.faults.error(503, verb="list", count=2)
    kube.faults.error(429, retry_after=1, verb="get", count=1)
    first = module(backup_dir=str(tmp_path / "b"))
    assert first.rc == 0 and first["errors"] == [], first.text
    assert sorted((e["name"], e["action"]) for e in first["remediated"]) == [
        ("fresh", "unlock"), ("my.app-v2", "rollback"), ("web", "rollback")]
    counts = book.check(changed_releases=STUCK, added=2)       # helm rollback writes one revision per release
    book.check_backups(backups(first.result))
    second = module()
    assert second.rc == 0 and second["changed"] is False and second["stuck"] == [], second.text
    assert unlocked(kube)
    tally("API 503 on list (x2) + 429 on GET", "scan", "module (ansible-playbook)", 2, counts, True,
          "+2 records: the revisions helm rollback wrote")


def test_module_dropped_write_then_rollback(kube, fleet, ledger, module, tally, tmp_path):
    book = ledger()
    kube.faults.drop(verb="update", count=1)
    first = module(backup_dir=str(tmp_path / "b"), fail_on_error=False)
    assert first.rc == 0, first.text
    [err] = first["errors"]
    assert err["name"] == "fresh" and "may have" in err["reason"]
    assert sorted(e["name"] for e in first["remediated"]) == ["my.app-v2", "web"]
    book.check(changed_releases={("shop", "web"), ("shop", "my.app-v2")}, added=2)
    second = module(backup_dir=str(tmp_path / "b"))
    assert [e["name"] for e in second["remediated"]] == ["fresh"] and second["errors"] == []
    third = module()
    assert third["changed"] is False and third["stuck"] == []
    counts = book.check(changed_releases=STUCK, added=2)
    book.check_backups(backups(first.result, second.result))
    tally("dropped connection on write", "remediation", "module (ansible-playbook)", 3, counts, True,
          "+2 records: the revisions helm rollback wrote")
