# SPDX-License-Identifier: GPL-3.0-or-later
"""A live ``helm upgrade --wait`` of a release whose previous revision is older than min_age (issue 25), on
any API server the tests run (localkube or the real kube-apiserver), with a real helm CLI:

* ``changed``: the upgrade changes the manifest (helm writes an object);
* ``unchanged``: the same chart and values again: helm writes no object (no managedFields trace); only the
  record's creation dates it.

How helm stays live: on the real kube-apiserver (``Waiting``), ``--wait`` on a Deployment that never becomes
ready (no controller-manager runs); on localkube (``Hanging``, which serves no Deployments), the server holds
helm's first record update (the previous revision's supersede) until helm is killed.

While the upgrade is live: report.yml reports it ``in_progress``, remediate.yml leaves it alone and
safe_upgrade.yml's guard fails naming it, all three at once (so all run within min_age of the upgrade's
start, however loaded the machine). Then helm is killed (SIGKILL) and, once the pending revision is older than
min_age, remediate.yml rolls it back.

``make_old(kube, ns, name, revision)`` makes a record older than min_age: on localkube by its creation time
(helmfix.age_record), on the real server by waiting (None)."""

import json
import re
import threading
import time
from pathlib import Path

import helmfix
from fleet_run import report_files, run_playbook, write_inventory
from playbook_run import ROOT
from realhelm import RealHelm
from realkube.stuck import kill, workload_chart

REMEDIATE, REPORT, SAFE_UPGRADE = (ROOT / "playbooks" / p for p in ("remediate.yml", "report.yml", "safe_upgrade.yml"))
#: the three checks (three ansible-playbook runs at once) must all judge within it: generous on a loaded
#: 2-core machine; localkube does not wait for it (records are made old by their creation time)
MIN_AGE = 45
CASES = ("changed", "unchanged")


def _history(real, name, ns):
    return json.loads(real.run("history", name, "-o", "json", namespace=ns).stdout)


def _records(kube, ns):
    """The release records of a namespace, exactly (resourceVersion included)."""
    return sorted((o for o in kube.store.list("secrets", ns) if o["metadata"]["name"].startswith("sh.helm.release.v1.")),
                  key=lambda o: o["metadata"]["name"])


def _wait_older_than_min_age(kube, since):
    """Sleep until the server's clock is over MIN_AGE seconds past ``since`` (server time)."""
    while kube.now() < since + MIN_AGE + 1.5:
        time.sleep(0.5)


def _image(kube, ns):
    """The image of the chart's Deployment on the real server."""
    code, _, obj = kube.request("GET", "/apis/apps/v1/namespaces/%s/deployments/web-app" % ns)
    return obj["spec"]["template"]["spec"]["containers"][0]["image"] if code == 200 else None


def _until(what, check, proc, timeout=120):
    deadline = time.time() + timeout
    while not check():
        if proc.poll() is not None:
            raise AssertionError("helm upgrade ended (rc=%s) before %s: %s" % (proc.returncode, what,
                                                                                proc.communicate()))
        if time.time() > deadline:
            kill(proc)
            raise AssertionError("helm upgrade never reached %s in %ss" % (what, timeout))
        time.sleep(0.1)


class Waiting:
    """Real kube-apiserver: ``helm upgrade --wait`` waits on a Deployment that never becomes ready."""

    def __init__(self, work):
        self.charts = {"changed": (workload_chart(work, "0.2.0"), "0.2.0"),
                       "unchanged": (workload_chart(work, "0.1.0"), "0.1.0")}
        self.base = self.charts["unchanged"][0]

    def install(self, real, ns):
        real.install("web", ns, chart=self.base)

    def start(self, real, kube, ns, case):
        chart, version = self.charts[case]
        proc = real.start("upgrade", "web", ns, chart=chart, extra=real.wait_flags() + ["--timeout", "30m"])
        _until("waiting on the Deployment", lambda: helmfix.newest(kube, ns, "web") == (2, "pending-upgrade") and
               (_image(kube, ns) or "").endswith(":" + version), proc)
        return proc

    @staticmethod
    def kill(proc):
        kill(proc)


class Hanging:
    """localkube: the server holds helm's first record update (the previous revision's supersede, after the
    new revision is recorded and the chart applied) until helm is killed."""

    values = {"changed": {"message": "two"}, "unchanged": {"message": "one"}}

    def install(self, real, ns):
        real.install("web", ns, values=self.values["unchanged"])

    def __init__(self, kube):
        self.kube = kube

    def start(self, real, kube, ns, case):
        fault = kube.faults.hang(count=1, method="PUT", path=r"/namespaces/%s/secrets/sh\.helm\.release\.v1\.web\.v1(\?|$)"
                                 % re.escape(ns))
        proc = real.start("upgrade", "web", ns, chart=helmfix.CHART, values=self.values[case])
        _until("the record update", lambda: fault.fired and helmfix.newest(kube, ns, "web") == (2, "pending-upgrade"),
               proc)
        proc.fault = fault
        return proc

    def kill(self, proc):
        kill(proc)
        time.sleep(0.3)            # the server sees the client go and drops the held request, never serves it
        self.kube.faults.remove(proc.fault.id)


def _parallel(*calls):
    out = [None] * len(calls)

    def run(i, call):
        out[i] = call()
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    return out


def scenario(tmp_path, kube, helm_bin, ns, make_old=None):
    """Both cases on one cluster, in namespaces of their own; asserts every outcome. ``ns(base)`` makes a
    namespace on the cluster and returns its name."""
    real = RealHelm(kube.kubeconfig, helm_bin)
    work = Path(tmp_path)
    how = Waiting(work) if hasattr(kube, "request") else Hanging(kube)
    spaces = {case: ns("live-" + case) for case in CASES}
    for case, space in spaces.items():
        how.install(real, space)
    if make_old is not None:
        for space in spaces.values():
            make_old(kube, space, "web", 1)
    else:
        _wait_older_than_min_age(kube, kube.now())        # revision 1 is older than min_age for real
    started = kube.now()
    live = {}
    try:
        for case in CASES:
            live[case] = how.start(real, kube, spaces[case], case)
        _while_live(work, kube, real, helm_bin, spaces, started)
    finally:
        for proc in live.values():
            how.kill(proc)
    # killed: the same pending revisions, older than min_age once the clock has moved on
    for space in spaces.values():
        assert helmfix.newest(kube, space, "web") == (2, "pending-upgrade")
        if make_old is not None:
            make_old(kube, space, "web", 2)
    if make_old is None:
        _wait_older_than_min_age(kube, started)   # the record and helm's last writes date from the start
    inventory = write_inventory(work / "inventory.yml", {"c": {"stuck_releases_kubeconfig": kube.kubeconfig,
                                                                "stuck_releases_helm_binary": helm_bin}})
    # unlock (mark the dead revision failed): a rollback would wait on the Deployment, never ready here
    fixed = run_playbook(work, REMEDIATE, inventory, {
        "stuck_releases_min_age": "%ds" % MIN_AGE, "stuck_releases_timeout": "60s", "stuck_releases_strategy": "unlock",
        "stuck_releases_namespaces": sorted(spaces.values()), "stuck_releases_report_dir": str(work / "fixed")})
    assert fixed.rc == 0, fixed.text
    data = json.loads(report_files(work / "fixed")["json"].read_text())
    assert sorted((r["namespace"], r["revision"], r["state"], r["action_taken"]) for r in data["releases"]) == sorted(
        (space, 2, "remediated", "unlock") for space in spaces.values()), data["releases"]
    for space in spaces.values():
        assert [(r["revision"], r["status"]) for r in _history(real, "web", space)] == [(1, "deployed"), (2, "failed")]
        real.upgrade("web", space, helmfix.make_chart(work, "0.4.0"))       # helm is unblocked
        assert helmfix.newest(kube, space, "web") == (3, "deployed")


def _while_live(work, kube, real, helm_bin, spaces, started):
    names = sorted(spaces.values())
    inventory = write_inventory(work / "live.yml", {"c": {"stuck_releases_kubeconfig": kube.kubeconfig,
                                                          "stuck_releases_helm_binary": helm_bin}})
    common = {"stuck_releases_min_age": "%ds" % MIN_AGE, "stuck_releases_timeout": "60s",
              "stuck_releases_namespaces": names}
    before = {space: _records(kube, space) for space in names}
    # the guard of each release, one host each (on the one cluster), in one ansible-playbook run
    guards = write_inventory(work / "guards.yml", dict(
        (case, {"stuck_releases_kubeconfig": kube.kubeconfig, "guarded_upgrade_namespace": space})
        for case, space in spaces.items()))
    guard_vars = {"guarded_upgrade_helm_binary": helm_bin, "guarded_upgrade_release": "web",
                  "guarded_upgrade_min_age": "%ds" % MIN_AGE, "guarded_upgrade_timeout": "60s",
                  "guarded_upgrade_chart": str(helmfix.make_chart(work, "0.3.0")), "guarded_upgrade_wait": False,
                  # fail at once rather than wait for it (the wait: tests/e2e/test_guard_waits.py)
                  "guarded_upgrade_wait_for_pending": 0}
    report, remediate, guard = _parallel(
        lambda: run_playbook(work, REPORT, inventory, dict(common, stuck_releases_report_dir=str(work / "report"))),
        lambda: run_playbook(work, REMEDIATE, inventory, dict(common, stuck_releases_report_dir=str(work / "rem"))),
        lambda: run_playbook(work, SAFE_UPGRADE, guards, guard_vars))
    for run, where in ((report, "report"), (remediate, "rem")):
        assert run.rc == 0, run.text
        data = json.loads(report_files(work / where)["json"].read_text())
        assert sorted((r["namespace"], r["revision"], r["state"], r["action_taken"]) for r in data["releases"]) == \
            [(space, 2, "in_progress", "none") for space in names], (where, data["releases"])
        assert data["summary"]["in_progress"] == 2 and data["summary"]["stuck"] == 0, data["summary"]
        for row in data["releases"]:   # judged while younger than min_age (else the machine was too slow)
            assert 0 <= row["age_seconds"] < MIN_AGE, row
    assert guard.rc != 0, guard.text
    text = " ".join(guard.stdout.split())
    for case, space in spaces.items():
        assert guard.recap[case]["failed"] == 1, guard.recap
        assert ("guarded upgrade of %s/web: revision 2 is pending-upgrade and only" % space) in text, guard.text
    assert text.count("another deploy may still be running, so nothing was touched and no upgrade was started") >= 2
    for space in names:   # nothing written by any of them; helm's own upgrade still waits
        assert _records(kube, space) == before[space]
        assert [(r["revision"], r["status"]) for r in _history(real, "web", space)] == [
            (1, "deployed"), (2, "pending-upgrade")]
