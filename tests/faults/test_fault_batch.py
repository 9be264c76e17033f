# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults that involve several clusters checked at once by the role (each in its own worker on the controller,
as many at a time as Ansible's forks): a hung API server holds one worker for its own cluster_timeout and delays
no other cluster; SIGKILL of the controller in the middle of a batch loses no record, the clusters already done
stay done, and a re-run converges. (The expired token and the corrupt record on one cluster of a fleet are in
test_fault_role_matrix.py.)"""

import json
import time

import pytest

from faultkit import (PLAYBOOK_BIN, ROOT, STUCK, Ledger, clusters, fleet_report, kill_group, load_fleet, run_role,
                      start_group, unlocked, wait_for)
from fleet_run import RECAP
from localkube import LocalKube

pytestmark = pytest.mark.slow

UNLOCK = {"stuck_releases_strategy": "unlock", "stuck_releases_pending_install": "unlock"}


def recap(run):
    """{host: (changed, ignored)} from the play recap."""
    return dict((m.group(1), (int(m.group(3)), int(m.group(8)))) for m in RECAP.finditer(run.stdout))


def pairs(entries):
    return sorted((e["namespace"], e["name"]) for e in entries)


def test_a_hung_cluster_holds_one_worker_for_its_own_deadline_only(tmp_path, seed, tally):
    with LocalKube() as hung, LocalKube() as one, LocalKube() as two:
        for kube in (hung, one, two):
            load_fleet(kube, seed)
        books = dict((name, Ledger(kube)) for name, kube in (("hung", hung), ("one", one), ("two", two)))
        hung.faults.hang(verb="list")          # every list hangs: the scan never gets an answer
        hosts = dict((name, {"stuck_releases_kubeconfig": str(kube.write_kubeconfig(tmp_path / (name + ".kc")))})
                     for name, kube in (("hung", hung), ("one", one), ("two", two)))
        # two workers (forks) for three clusters: the hung one holds one, the other two share the second
        extra = dict(UNLOCK, stuck_releases_request_timeout="2s", stuck_releases_cluster_timeout="5s")

        started = time.monotonic()
        first = run_role(tmp_path / "w", hosts, extra, env={"ANSIBLE_FORKS": "2"})
        took = time.monotonic() - started
        assert first.rc == 0, first.text
        report = clusters(fleet_report(tmp_path / "w"))
        for name in ("one", "two"):
            assert pairs(report[name]["remediated"]) == sorted(STUCK), report[name]
            assert report[name]["duration_seconds"] < 5, report[name]    # not held up by the hung cluster
        assert report["hung"]["ok"] is False and "cluster_timeout (5s) reached" in report["hung"]["message"], \
            report["hung"]
        assert took < 5 + 40, took       # the run waited for the hung cluster's deadline, not for its requests
        assert (recap(first)["hung"], recap(first)["one"]) == ((0, 1), (1, 0))
        assert unlocked(one) and unlocked(two)
        counts = {name: books[name].check(changed_releases=set(STUCK) if name != "hung" else set())
                  for name in books}

        hung.faults.clear()                    # the API server recovers
        second = run_role(tmp_path / "w", hosts, extra)
        assert second.rc == 0, second.text
        report = clusters(fleet_report(tmp_path / "w"))
        assert pairs(report["hung"]["remediated"]) == sorted(STUCK)
        assert report["one"]["remediated"] == [] and report["two"]["remediated"] == []
        assert unlocked(hung)
        counts["hung"] = books["hung"].check(changed_releases=set(STUCK))
        tally("hung API server, one cluster of three (2 forks)", "scan", "role", 2,
              counts["hung"], True, "the others remediated in the same run; the hung one after it recovered")


def test_sigkill_of_the_controller_mid_batch_loses_nothing_and_a_rerun_converges(tmp_path, seed, tally):
    with LocalKube() as slow, LocalKube() as one, LocalKube() as two:
        revisions = dict((name, load_fleet(kube, seed)) for name, kube in (("slow", slow), ("one", one),
                                                                          ("two", two)))
        books = dict((name, Ledger(kube)) for name, kube in (("slow", slow), ("one", one), ("two", two)))
        # remediation order is sorted (apps/fresh, shop/my.app-v2, shop/web): web's write on "slow" hangs
        rev = revisions["slow"][("shop", "web")]
        slow.faults.hang(method="PUT", path=r"/secrets/sh\.helm\.release\.v1\.web\.v%d$" % rev, count=1)
        hosts = dict((name, {"stuck_releases_kubeconfig": str(kube.write_kubeconfig(tmp_path / (name + ".kc")))})
                     for name, kube in (("slow", slow), ("one", one), ("two", two)))
        work = tmp_path / "killed"
        work.mkdir()
        (work / "inventory.yml").write_text(json.dumps({"helm_clusters": {"hosts": hosts}}))
        cmd = [PLAYBOOK_BIN, "-i", str(work / "inventory.yml"), str(ROOT / "playbooks" / "remediate.yml"),
               "-e", json.dumps(dict(UNLOCK, stuck_releases_report_dir=str(work / "report")))]
        proc = start_group(cmd, work)
        try:
            assert slow.faults.wait_hanging(1, timeout=120), "the batch never reached the hung write"
            # the other clusters of the batch finish while one write hangs
            assert wait_for(lambda: unlocked(one) and unlocked(two), timeout=60)
        finally:
            kill_group(proc)
        assert proc.returncode < 0                       # killed: no report, no recap
        assert not (work / "report" / "stuck-releases.json").exists()
        assert wait_for(lambda: slow.faults.hanging == 0, timeout=10)   # the server dropped the hung write
        slow.faults.clear()
        books["slow"].check(changed_releases={("apps", "fresh"), ("shop", "my.app-v2")})
        books["one"].check(changed_releases=set(STUCK))
        books["two"].check(changed_releases=set(STUCK))
        assert not unlocked(slow)

        rerun = run_role(tmp_path / "w", hosts, UNLOCK)
        assert rerun.rc == 0, rerun.text
        report = clusters(fleet_report(tmp_path / "w"))
        assert pairs(report["slow"]["remediated"]) == [("shop", "web")]
        assert report["one"]["remediated"] == [] and report["two"]["remediated"] == []
        assert (recap(rerun)["slow"], recap(rerun)["one"]) == ((1, 0), (0, 0))
        assert unlocked(slow) and unlocked(one) and unlocked(two)
        counts = books["slow"].check(changed_releases=set(STUCK))
        for name in ("one", "two"):
            books[name].check(changed_releases=set(STUCK))
        tally("SIGKILL of the controller mid-run (3 clusters)", "remediation", "role", 2, counts,
              True, "the clusters done before the kill stay done; the re-run finishes the one it cut")
