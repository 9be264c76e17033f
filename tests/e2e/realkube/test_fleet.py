# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleets of real API servers (tests/support/realkube): the kubeconfig inventory plugin over them,
playbooks/remediate.yml over two real clusters and a dead one, a hung kube-apiserver (SIGSTOP) and a
kube-apiserver restarted while helm rolls a release back. Releases are stuck for real (real helm --wait
killed, realkube.stuck); every outcome is checked against what the servers hold afterwards."""

import calendar
import http.client
import itertools
import json
import re
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

import helmfix
import tools
from fleet_run import report_files, run_playbook, write_inventory
from localkube import kubeconfig as kubeconfig_writer
from playbook_run import ROOT, run_module
from realhelm import RealHelm
from realkube import ADMIN_TOKEN, READER_TOKEN, TOKENS, RealKube
from realkube.stuck import make_stuck, workload_chart

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REMEDIATE, REPORT = ROOT / "playbooks" / "remediate.yml", ROOT / "playbooks" / "report.yml"
# min_age 2s + a 2 s sleep: a real server dates records itself (creationTimestamp cannot be faked)
COMMON = {"stuck_releases_min_age": "2s", "stuck_releases_timeout": "60s"}
_names = itertools.count(1)


@pytest.fixture(scope="module")
def pair():
    """Two real API servers of this file's own (paused and restarted by tests here, so not the shared one)."""
    with RealKube() as eu, RealKube() as us:
        yield eu, us


def namespace(base, *kubes):
    """A namespace of the test's own, the same name on each server: the servers are shared by this file's
    tests, and each run is scoped to the test's namespace (stuck_releases_namespaces)."""
    name = "%s-%d" % (base, next(_names))
    for kube in kubes:
        kube.create_namespace(name)
    return name


def records(kube, ns):
    """{record name: status label} of every Helm record in the namespace."""
    return {o["metadata"]["name"]: o["metadata"]["labels"].get("status")
            for o in kube.store.list("secrets", ns, label_selector="owner=helm")}


def stuck_upgrade(kube, helm_binary, name, ns, tmp_path):
    """Revision 1 deployed, revision 2 left pending-upgrade by a real helm upgrade --wait killed while it waits."""
    real = RealHelm(kube.kubeconfig, helm_binary)
    real.install(name, ns)
    rev = make_stuck(real, kube, "upgrade", name, ns, chart=workload_chart(tmp_path, "0.2.0"))
    assert "another operation" in real.refusal(name, ns)
    return real, rev


def assert_rolled_back(real, name, ns, stuck_rev, target=1):
    """helm history: the stuck revision failed, a new one deployed as a rollback; helm upgrade works again."""
    rows = json.loads(real.run("history", name, "-o", "json", namespace=ns).stdout)
    assert (rows[stuck_rev - 1]["revision"], rows[stuck_rev - 1]["status"]) == (stuck_rev, "failed"), rows
    assert (rows[-1]["status"], rows[-1]["description"]) == ("deployed", "Rollback to %d" % target), rows
    real.upgrade(name, ns)
    assert real.history(name, ns)[-1] == (rows[-1]["revision"] + 1, "deployed")


def rename_cluster(path, cluster):
    """A realkube kubeconfig names its cluster ``localkube``: give it a fleet name."""
    cfg = yaml.safe_load(Path(path).read_text())
    cfg["clusters"][0]["name"] = cluster
    for ctx in cfg["contexts"]:
        ctx["context"]["cluster"] = cluster
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


def dead_server(tmp_path, kube):
    """A kubeconfig (TLS, CA, admin token: all real) whose server is a port bound but never listening, held
    for the test so nothing else takes it: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = "https://127.0.0.1:%d" % sock.getsockname()[1]
    path = kubeconfig_writer.write(tmp_path / "dead.kubeconfig", url, ca_file=kube.ca_file, token=ADMIN_TOKEN,
                                   context="dead-cluster")
    return sock, url, path


def plain(value):
    """ansible-inventory --list wraps strings read from the kubeconfigs as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# -- 1. the inventory plugin over real servers ------------------------------------------------------
def test_inventory_plugin_over_real_servers_and_a_role_run(tmp_path, pair):
    eu, us = pair
    kubedir = tmp_path / "kube.d"
    kubedir.mkdir()
    # as an operator has them: one kubeconfig per cluster, an admin and a read-only context each
    eu_cfg = rename_cluster(eu.write_kubeconfig(kubedir / "eu.yaml", context="prod-eu-1", extra_contexts={
        "prod-eu-1-reader": {"token": READER_TOKEN}}), "eu-real")
    us_cfg = rename_cluster(us.write_kubeconfig(kubedir / "us.yaml", context="prod-us-1", namespace="apps",
                                                extra_contexts={"prod-us-1-reader": {"token": READER_TOKEN}}),
                            "us-real")
    source = tmp_path / "clusters.kubeconfig.yml"
    source.write_text(textwrap.dedent("""\
        plugin: helmops.unstick.kubeconfig
        kubeconfigs: [kube.d/*.yaml]
        contexts_exclude: ['-reader$']
        prefix_separator: '-'
        """))

    def inventory(*args):
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source)] + list(args), capture_output=True,
                              text=True, cwd=str(tmp_path), timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    assert inventory("--graph").stdout == textwrap.dedent("""\
        @all:
          |--@ungrouped:
          |--@helm_clusters:
          |  |--prod-eu-1
          |  |--prod-us-1
          |--@cluster_eu_real:
          |  |--prod-eu-1
          |--@prod:
          |  |--prod-eu-1
          |  |--prod-us-1
          |--@cluster_us_real:
          |  |--prod-us-1
        """)
    listed = inventory("--list").stdout
    hostvars = plain(json.loads(listed))["_meta"]["hostvars"]
    for host in hostvars.values():
        assert Path(host.pop("ansible_python_interpreter")).parent == BIN
    assert hostvars == {
        "prod-eu-1": {"stuck_releases_kubeconfig": eu_cfg, "stuck_releases_context": "prod-eu-1",
                      "ansible_connection": "local", "k8s_cluster": "eu-real", "k8s_user": "prod-eu-1-user",
                      "k8s_server": eu.url},
        "prod-us-1": {"stuck_releases_kubeconfig": us_cfg, "stuck_releases_context": "prod-us-1",
                      "ansible_connection": "local", "k8s_cluster": "us-real", "k8s_user": "prod-us-1-user",
                      "k8s_namespace": "apps", "k8s_server": us.url},
    }
    assert not any(token in listed for token in TOKENS) and "BEGIN CERTIFICATE" not in listed

    # the role over that inventory, report only: each host reads its own server (a release of its own
    # name), nothing is written
    ns = namespace("inv", eu, us)
    _, eu_rev = stuck_upgrade(eu, tools.HELM, "web", ns, tmp_path)
    _, us_rev = stuck_upgrade(us, tools.HELM3, "api", ns, tmp_path)
    before = (records(eu, ns), records(us, ns))
    time.sleep(2)
    run = run_playbook(tmp_path, REPORT, source, dict(COMMON, stuck_releases_report_dir="r",
                                                      stuck_releases_namespaces=[ns]))
    assert run.rc == 0, run.text
    assert sorted(run.recap) == ["localhost", "prod-eu-1", "prod-us-1"], run.recap
    data = json.loads(report_files(tmp_path / "r")["json"].read_text())
    assert [(c["host"], c["cluster"], c["server"], c["status"]) for c in data["clusters"]] == [
        ("prod-eu-1", "prod-eu-1", eu.url, "stuck"), ("prod-us-1", "prod-us-1", us.url, "stuck")]
    assert sorted((r["cluster"], r["namespace"], r["name"], r["revision"], r["state"]) for r in data["releases"]) == [
        ("prod-eu-1", ns, "web", eu_rev, "stuck"), ("prod-us-1", ns, "api", us_rev, "stuck")]
    assert (records(eu, ns), records(us, ns)) == before


# -- 2. remediate.yml over two real clusters and a dead one -------------------------------------------
def test_remediate_playbook_over_two_real_clusters_and_a_dead_one(tmp_path, pair):
    eu, us = pair
    ns = namespace("shop", eu, us)
    eu_helm, eu_rev = stuck_upgrade(eu, tools.HELM, "web", ns, tmp_path)       # helm 4 on one cluster,
    us_helm, us_rev = stuck_upgrade(us, tools.HELM3, "web", ns, tmp_path)      # helm 3 on the other
    sock, dead_url, dead_cfg = dead_server(tmp_path, eu)
    before = (records(eu, ns), records(us, ns))
    inventory = write_inventory(tmp_path / "inventory.yml", {
        "eu": {"stuck_releases_kubeconfig": eu.kubeconfig, "stuck_releases_helm_binary": str(tools.HELM)},
        "us": {"stuck_releases_kubeconfig": us.kubeconfig, "stuck_releases_helm_binary": str(tools.HELM3)},
        "dead": {"stuck_releases_kubeconfig": dead_cfg, "stuck_releases_helm_binary": str(tools.HELM)},
    })
    extra = dict(COMMON, stuck_releases_namespaces=[ns])
    time.sleep(2)
    try:
        run = run_playbook(tmp_path, REMEDIATE, inventory, dict(extra, stuck_releases_report_dir="r"))
        # roles/stuck_releases/README.md, docs/awx.md: an unreachable cluster is a [WARNING] and an ignored
        # failure, the run ends rc 0 (without stuck_releases_fail_on_stuck)
        assert run.rc == 0, run.text
        assert run.recap["dead"] == {**run.recap["dead"], "ignored": 1, "failed": 0, "rescued": 0}, run.recap
        for host in ("eu", "us"):
            assert run.recap[host]["changed"] >= 1 and run.recap[host]["failed"] == 0, run.recap
        text = " ".join(run.text.split())
        assert "[WARNING]: cluster dead could not be checked: cluster dead-cluster (%s): cannot scan Helm releases: " \
               "cannot reach %s: connection refused" % (dead_url, dead_url) in text, run.text

        data = json.loads(report_files(tmp_path / "r")["json"].read_text())
        clusters = {c["host"]: c for c in data["clusters"]}
        assert [c["host"] for c in data["clusters"]] == ["eu", "us", "dead"]
        assert [(c["server"], c["checked"], c["status"]) for c in data["clusters"]] == [
            (eu.url, True, "remediated"), (us.url, True, "remediated"), (dead_url, False, "failed")]
        assert "cannot reach %s: connection refused" % dead_url in clusters["dead"]["message"]
        assert sorted((r["cluster"], r["namespace"], r["name"], r["revision"], r["state"], r["action_taken"])
                      for r in data["releases"]) == [
            ("eu", ns, "web", eu_rev, "remediated", "rollback"), ("us", ns, "web", us_rev, "remediated", "rollback")]
        summary = data["summary"]
        assert (summary["clusters"], summary["clusters_ok"], summary["failed_clusters"]) == (3, 2, ["dead"])
        assert (summary["stuck"], summary["remediated"], summary["remaining"], summary["mode"]) == (
            2, 2, 0, "remediate")

        # what the servers hold: rolled back by each cluster's own helm, which upgrades again; no record lost
        assert_rolled_back(eu_helm, "web", ns, eu_rev)
        assert_rolled_back(us_helm, "web", ns, us_rev)
        assert set(before[0]) < set(records(eu, ns)) and set(before[1]) < set(records(us, ns))

        # as a gate (stuck_releases_fail_on_stuck), the dead cluster fails the run: rc 2
        gate = run_playbook(tmp_path, REPORT, inventory, dict(extra, stuck_releases_report_dir="g",
                                                              stuck_releases_fail_on_stuck=True))
        assert gate.rc == 2, gate.text
        assert [h for h, r in gate.recap.items() if r["failed"]] == ["dead"], gate.recap
        assert "cluster dead could not be checked" in gate.stdout
    finally:
        sock.close()


# -- 3. a hung API server --------------------------------------------------------------------------
def test_a_hung_server_is_reported_in_bounded_time_and_remediated_once_it_answers(tmp_path, pair):
    eu, us = pair
    ns = namespace("hung", eu, us)
    eu_helm, eu_rev = stuck_upgrade(eu, tools.HELM, "web", ns, tmp_path)
    us_helm, us_rev = stuck_upgrade(us, tools.HELM, "web", ns, tmp_path)
    before = (records(eu, ns), records(us, ns))
    inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {"stuck_releases_kubeconfig": eu.kubeconfig},
                                                             "us": {"stuck_releases_kubeconfig": us.kubeconfig}})
    extra = dict(COMMON, stuck_releases_helm_binary=str(tools.HELM), stuck_releases_request_timeout="1s",
                 stuck_releases_cluster_timeout="3s", stuck_releases_report_dir="r", stuck_releases_namespaces=[ns])
    time.sleep(2)
    us.pause()                  # SIGSTOP: the kernel accepts connections, nothing ever answers
    try:
        run = run_playbook(tmp_path, REMEDIATE, inventory, extra)
    finally:
        us.resume()
    assert run.rc == 0, run.text
    data = json.loads(report_files(tmp_path / "r")["json"].read_text())
    hung = data["clusters"][1]
    assert (hung["host"], hung["checked"], data["summary"]["failed_clusters"]) == ("us", False, ["us"])
    # each answer waited for 1 s (request_timeout, not the default 60 s), and the retries stopped at the
    # cluster's own deadline (cluster_timeout 3s): the hung cluster cost its fork about 3 s; the role's message
    # names the variable the user set
    assert "cluster realkube (%s): cannot scan Helm releases: cannot reach %s: no answer in time " \
        "(stuck_releases_request_timeout)" \
        % (us.url, us.url) in hung["message"], hung["message"]
    assert "no retry: cluster_timeout (3s) reached" in hung["message"], hung["message"]
    assert [(r["cluster"], r["name"], r["state"]) for r in data["releases"]] == [("eu", "web", "remediated")]
    assert data["clusters"][0]["server"] == eu.url
    assert_rolled_back(eu_helm, "web", ns, eu_rev)
    assert records(us, ns) == before[1]                                      # nothing reached the hung one

    # answering again: the next run remediates it
    again = run_playbook(tmp_path, REMEDIATE, inventory, extra)
    assert again.rc == 0, again.text
    data = json.loads(report_files(tmp_path / "r")["json"].read_text())
    assert data["summary"]["failed_clusters"] == [] and data["summary"]["remaining"] == 0
    assert [(c["host"], c["status"]) for c in data["clusters"]] == [("eu", "clean"), ("us", "remediated")]
    assert_rolled_back(us_helm, "web", ns, us_rev)
    assert set(before[0]) < set(records(eu, ns)) and set(before[1]) < set(records(us, ns))


# -- 4. kube-apiserver restarted while helm rolls back ---------------------------------------------
class RestartOn(threading.Thread):
    """Watches the namespace's Helm records on the real server; at the first event ``trigger(event)`` accepts,
    closes the watch (an open watch holds a graceful shutdown back) and restarts kube-apiserver."""

    def __init__(self, kube, ns, trigger):
        super().__init__(daemon=True)
        self.kube, self.ns, self.trigger = kube, ns, trigger
        self.seen, self.restarted, self.error = [], None, None
        self.ready = threading.Event()

    def run(self):
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", self.kube.port, timeout=120,
                                               context=ssl.create_default_context(cafile=self.kube.ca_file))
            conn.request("GET", "/api/v1/namespaces/%s/secrets?watch=1&labelSelector=owner%%3Dhelm" % self.ns,
                         headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            resp = conn.getresponse()
            assert resp.status == 200, resp.status
            self.ready.set()
            while True:
                line = resp.readline()
                assert line, "the watch ended before the trigger"
                event = json.loads(line)
                labels = event["object"]["metadata"].get("labels") or {}
                self.seen.append((event["type"], event["object"]["metadata"]["name"], labels.get("status")))
                if self.trigger(event["type"], labels):
                    break
            conn.close()
            began = time.monotonic()
            self.kube.restart_apiserver()
            self.restarted = (began, time.monotonic())
        except BaseException as err:     # noqa: BLE001 - reported by the test
            self.error = err
            self.ready.set()


def test_a_restart_during_helm_rollback_is_reported_truthfully_and_the_next_run_finishes(tmp_path, pair):
    eu, _ = pair
    ns = namespace("restart", eu)
    helms, revs = {}, {}
    for name in ("a", "b", "c"):                 # remediated in this order; the restart hits a's rollback
        helms[name], revs[name] = stuck_upgrade(eu, tools.HELM, name, ns, tmp_path)
    before = records(eu, ns)
    versions = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                for o in eu.store.list("secrets", ns, label_selector="owner=helm")}
    time.sleep(2)
    # the moment: helm rollback has written its own pending-rollback revision and is applying the chart
    watcher = RestartOn(eu, ns, lambda kind, labels: kind == "ADDED" and labels.get("status") == "pending-rollback")
    watcher.start()
    assert watcher.ready.wait(30) and watcher.error is None, watcher.error
    args = {"kubeconfig": eu.kubeconfig, "helm_binary": str(tools.HELM), "min_age": "2s", "timeout": "60s",
            "request_timeout": "5s", "namespaces": [ns], "fail_on_error": False}
    started = time.monotonic()
    first = run_module(tmp_path, args)
    ended = time.monotonic()
    watcher.join(90)
    assert watcher.error is None and watcher.restarted, (watcher.error, watcher.seen)
    assert started < watcher.restarted[0] < ended, "the restart did not happen during the run"
    assert ("ADDED", "sh.helm.release.v1.a.v3", "pending-rollback") in watcher.seen

    # the first run's word against the server, release by release
    after = records(eu, ns)
    states = {r["name"]: r for r in first["releases"]}
    assert sorted(states) == ["a", "b", "c"], first.text
    for name, row in states.items():
        rev, newest = revs[name], helmfix.newest(eu, ns, name)
        if row["state"] == "remediated":
            assert newest == (rev + 1, "deployed"), (name, row, after)
        else:
            assert row["state"] == "failed", (name, row)
            if "was marked failed (unlocked) and claimed, but helm rollback failed" in row["reason"]:
                # our claim landed, helm's rollback did not finish: its own revision is left pending
                assert after["sh.helm.release.v1.%s.v%d" % (name, rev)] == "failed", after
                assert newest[0] == rev + 1 and newest[1] in ("pending-rollback", "failed", "deployed"), newest
                if "its claim could not be released" in row["reason"]:     # helm's newer revision lifts it
                    assert "while revision %d is the newest" % rev in row["reason"], row["reason"]
            else:
                # the claim's connection was refused while the server restarted: the report says the write went
                # unanswered (it "may have landed or not"); it did not land
                assert "no answer to the write" in row["reason"] and "Connection refused" in row["reason"], row
                current = eu.store.get("secrets", ns, "sh.helm.release.v1.%s.v%d" % (name, rev))
                assert current["metadata"]["resourceVersion"] == versions[current["metadata"]["name"]], name
                assert newest == (rev, "pending-upgrade"), newest
    assert states["a"]["state"] == "failed" and "helm rollback failed" in states["a"]["reason"], states["a"]
    assert set(before) <= set(after)

    # the next run (min_age 2s after helm's own pending-rollback record) finishes what is not done
    time.sleep(max(0.0, 2.5 - (time.monotonic() - watcher.restarted[1])))
    second = run_module(tmp_path, args)
    assert second.rc == 0 and second["errors"] == [], second.text
    done = {r["name"]: r["state"] for r in second["releases"]}
    assert done == {name: "remediated" for name, row in states.items() if row["state"] != "remediated"}, second.text
    for name in ("a", "b", "c"):
        assert helms[name].history(name, ns)[-1][1] == "deployed"
        helms[name].upgrade(name, ns)                                        # helm works again
    final = records(eu, ns)
    assert set(after) <= set(final) and set(before) <= set(final)           # no record lost
    third = run_module(tmp_path, args)
    assert third.rc == 0 and third["releases"] == [] and third["changed"] is False, third.text


def test_a_restart_between_claim_and_helm_keeps_the_claim_and_the_report_says_until_when(tmp_path, pair):
    """The server goes away right after the claim: helm cannot reach it and the claim cannot be released, so
    it holds until it expires (timeout + the claim's grace: 60 s, here 30 s) and the next runs leave the release
    alone until then; the first run says so, and the run after the expiry resumes it."""
    eu, _ = pair
    ns = namespace("claimed", eu)
    real, rev = stuck_upgrade(eu, tools.HELM, "a", ns, tmp_path)
    before = records(eu, ns)
    time.sleep(2)
    watcher = RestartOn(eu, ns, lambda kind, labels: kind == "MODIFIED" and "helmops.unstick/claim" in labels)
    watcher.start()
    assert watcher.ready.wait(30) and watcher.error is None, watcher.error
    args = {"kubeconfig": eu.kubeconfig, "helm_binary": str(tools.HELM), "min_age": "2s", "timeout": "2s",
            "request_timeout": "5s", "namespaces": [ns], "fail_on_error": False}
    grace = {"HELMOPS_UNSTICK_CLAIM_GRACE": "30"}              # the claim's grace, shorter (60 s by default)
    claimed_from = time.time()
    first = run_module(tmp_path, args, env=grace)
    watcher.join(90)
    assert watcher.error is None and watcher.restarted, (watcher.error, watcher.seen)
    [row] = first["releases"]
    assert row["state"] == "failed" and "helm rollback failed: Error: kubernetes cluster unreachable" in row["reason"]
    held = re.search(r"; its claim could not be released \(no answer from the API server: PUT .*Connection refused\): "
                     r"while revision %d is the newest, runs leave the release alone until the claim expires at "
                     r"(\S+Z), then resume it$" % rev, row["reason"])
    assert held, row["reason"]
    until = calendar.timegm(time.strptime(held.group(1), "%Y-%m-%dT%H:%M:%SZ"))
    claimed = eu.store.get("secrets", ns, "sh.helm.release.v1.a.v%d" % rev)["metadata"]
    assert json.loads(claimed["annotations"]["helmops.unstick/claim"])["until"] == until   # what the server holds
    assert claimed_from + 2 + 30 - 1 <= until <= time.time() + 2 + 30 + 1       # timeout 2s + the grace, 30 s
    assert records(eu, ns) == dict(before, **{"sh.helm.release.v1.a.v%d" % rev: "failed"})  # helm wrote nothing

    early_margin = until - time.time()
    early = run_module(tmp_path, args, env=grace)           # the server is back; the claim still holds
    assert [(r["name"], r["state"]) for r in early["releases"]] == [("a", "in_progress")], (
        "started %.1f s before the claim's expiry" % early_margin, early.text)
    assert "roll back to revision 1 (claimed by" in early["releases"][0]["reason"] and early["changed"] is False
    time.sleep(max(0.0, until + 1.5 - time.time()))        # the claim's own expiry, on the server's clock
    late = run_module(tmp_path, args, env=grace)
    assert late.rc == 0 and [(r["name"], r["state"], r["action"]) for r in late["releases"]] == [
        ("a", "remediated", "resume")], late.text
    assert_rolled_back(real, "a", ns, rev)
    assert set(before) < set(records(eu, ns))               # no record lost
