# SPDX-License-Identifier: GPL-3.0-or-later
"""The stuck_releases role and its playbooks over a fleet: several clusters in one
inventory (plain HTTP, TLS + token, and a dead one), releases really stuck by
real Helm, one fleet report per run (JSON, Markdown, HTML), webhook, CI gate."""

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

import helmfix
from localkube import LocalKube
from localkube import kubeconfig as kubeconfig_writer

pytestmark = pytest.mark.slow

from fleet_run import PLAYBOOK_BIN, report_files, run_playbook, write_inventory  # noqa: E402,F401
from playbook_run import HELM_BIN, ROOT  # noqa: E402
PASSWORD = "fleet-Pa55w0rd-do-not-leak"
TOKEN = "fleet-bearer-t0ken-do-not-leak"
VALUES = {"auth": {"password": PASSWORD}}


# -- helpers ----------------------------------------------------------------
def dead_kubeconfig(path):
    """A kubeconfig whose server refuses connections: a port bound but never listening
    (held open for the test, so nothing else can take it)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    kubeconfig_writer.write(path, "http://127.0.0.1:%d" % sock.getsockname()[1], ca_file=None, token=None,
                            context="dead-cluster")
    return sock


class Webhook:
    """A tiny local chat webhook: records every POSTed JSON body."""

    def __init__(self):
        self.posts = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.posts.append({"content_type": self.headers.get("Content-Type"), "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def stuck_upgrade(env, kube, name, ns):
    env.install(name, ns, values=VALUES)
    rev = helmfix.make_stuck_upgrade(env, kube, name, ns, values=VALUES)
    helmfix.age_record(kube, ns, name, rev, 3600)
    assert "another operation" in helmfix.assert_locked(env, name, ns)
    return rev


def stuck_install(env, kube, name, ns):
    rev = helmfix.make_stuck_install(env, kube, name, ns, values=VALUES)
    helmfix.age_record(kube, ns, name, rev, 3600)
    return rev


def resource_versions(kube):
    return sorted((o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
                  for o in kube.store.list("secrets"))


def assert_no_leak(runs, report_dir):
    for run in runs:
        assert PASSWORD not in run.text and TOKEN not in run.text
    for path in Path(report_dir).rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert PASSWORD not in text and TOKEN not in text, path


COMMON = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s"}


# -- tests ------------------------------------------------------------------
def test_fleet_remediation_over_three_clusters(tmp_path, webhook):
    with LocalKube() as plain, LocalKube(tls=True, tokens={TOKEN: None}) as secure:
        kc_plain = plain.write_kubeconfig(tmp_path / "plain.kubeconfig")
        kc_secure = secure.write_kubeconfig(tmp_path / "secure.kubeconfig", token=TOKEN)  # for Helm
        dead_sock = dead_kubeconfig(tmp_path / "dead.kubeconfig")
        env_plain, env_secure = helmfix.HelmEnv(kc_plain), helmfix.HelmEnv(kc_secure)
        web_rev = stuck_upgrade(env_plain, plain, "web", "shop")
        stuck_install(env_secure, secure, "fresh", "apps")

        inventory = write_inventory(tmp_path / "inventory.yml", {
            "plain": {"stuck_releases_kubeconfig": str(kc_plain)},
            # no kubeconfig: API URL, bearer token and CA, per host
            "secure": {"stuck_releases_host": secure.url, "stuck_releases_api_key": TOKEN,
                       "stuck_releases_ca_cert": secure.ca_file, "stuck_releases_validate_certs": True},
            # it gives up at its cluster_timeout, after three refused attempts (else 7.5 s of back-offs)
            "dead": {"stuck_releases_kubeconfig": str(tmp_path / "dead.kubeconfig"),
                     "stuck_releases_cluster_timeout": "3s"},
        })
        report_dir = tmp_path / "reports"
        extra = dict(COMMON, stuck_releases_report_dir=str(report_dir), stuck_releases_webhook_url=webhook.url)
        first = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory, extra)

        # the dead cluster is reported and stopped nothing; the play still says so clearly
        assert first.rc == 0, first.text
        assert first.recap["plain"]["changed"] >= 1 and first.recap["plain"]["failed"] == 0, first.recap
        assert first.recap["secure"]["changed"] >= 1 and first.recap["secure"]["failed"] == 0, first.recap
        # a warning and an ignored failure, not a rescued-and-failed task (deliberate change, issue 6: AWX
        # marks rescued failures as failed events; ignored ones are not)
        assert first.recap["dead"] == {**first.recap["dead"], "rescued": 0, "ignored": 1, "failed": 0}, first.recap
        assert "...ignoring" in first.stdout
        # one task per cluster (the report's tasks run once, on the first host): no gate or bookkeeping tasks
        assert first.recap["secure"]["ok"] + first.recap["secure"]["skipped"] == 1, first.recap
        assert "Validating arguments against arg spec" not in first.stdout
        assert re.search(r"\[WARNING\]: cluster dead could not be checked: cluster dead-cluster \(http://127\.0\.0\.1:\d+\): cannot scan",
                         " ".join(first.text.split())), first.text

        # both live clusters really fixed: real Helm upgrades again
        env_plain.upgrade("web", "shop", values=VALUES)
        assert env_plain.history("web", "shop")[-1] == {**env_plain.history("web", "shop")[-1],
                                                         "status": "deployed", "revision": web_rev + 2}
        env_secure.upgrade("fresh", "apps", values=VALUES, install=True)
        assert env_secure.history("fresh", "apps")[-1]["status"] == "deployed"

        # the three reports
        files = report_files(report_dir)
        data = json.loads(files["json"].read_text())
        clusters = {c["host"]: c for c in data["clusters"]}
        assert [c["host"] for c in data["clusters"]] == ["plain", "secure", "dead"]
        assert clusters["plain"]["ok"] and clusters["secure"]["ok"] and not clusters["dead"]["ok"]
        assert [(e["name"], e["action"]) for e in clusters["plain"]["remediated"]] == [("web", "rollback")]
        assert [(e["name"], e["status"], e["action"]) for e in clusters["secure"]["remediated"]] == [
            ("fresh", "pending-install", "unlock")]
        assert "cannot scan Helm releases" in clusters["dead"]["message"]
        assert data["summary"] == {"clusters": 3, "clusters_ok": 2, "clusters_failed": 1, "failed_clusters": ["dead"],
                                   "stuck": 2, "remediated": 2, "remaining": 0, "in_progress": 0, "errors": 0,
                                   "would_remediate": 0, "unfinished": 0, "refused": 0, "failed": 0,
                                   "mode": "remediate", "run_ids": [clusters["plain"]["run_id"]]}
        # one run id for the whole run (restore.yml's restore_run); the dead cluster's run never started
        assert re.match("^[0-9a-f]{12}$", clusters["plain"]["run_id"]) and \
            clusters["secure"]["run_id"] == clusters["plain"]["run_id"], clusters
        states = sorted((r["cluster"], r["name"], r["state"], r["last_good_revision"]) for r in data["releases"])
        assert states == [("plain", "web", "remediated", web_rev - 1), ("secure", "fresh", "remediated", None)]
        markdown = files["markdown"].read_text()
        assert "| plain | shop | web | pending-upgrade |" in markdown
        assert "could not be checked: cluster dead-cluster (%s): cannot scan Helm releases" % dead_url(tmp_path) in markdown
        html = files["html"].read_text()
        assert '<table class="sortable" id="releases">' in html and "<td>fresh</td>" in html
        assert "cannot scan Helm releases" in html
        servers = [c["server"] for c in data["clusters"] if c["ok"]]
        assert len(servers) == 2 and all("<td>%s</td>" % url in html for url in servers)   # each cluster's API
        stripped = html.replace(dead_url(tmp_path), "")
        for url in servers:
            stripped = stripped.replace(url, "")
        assert "http://" not in stripped and "https://" not in stripped                  # and nothing else
        rendered_in_chromium(files["html"], data)

        # one notification, Slack/Teams shaped
        assert len(webhook.posts) == 1
        assert webhook.posts[0]["content_type"].startswith("application/json")
        text = webhook.posts[0]["body"]["text"]
        assert "2 remediated" in text and "dead: could not be checked" in text

        # second run: nothing left to do on the healthy clusters
        second = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory, extra)
        assert second.rc == 0, second.text
        assert second.recap["plain"]["changed"] == 0 and second.recap["secure"]["changed"] == 0, second.recap
        data = json.loads(files["json"].read_text())
        assert data["summary"]["stuck"] == 0 and data["summary"]["clusters_failed"] == 1
        assert len(webhook.posts) == 2  # the dead cluster is still worth telling

        assert_no_leak([first, second], report_dir)
        dead_sock.close()


def dead_url(tmp_path):
    """The dead cluster's server URL, which its error message quotes."""
    return yaml.safe_load((tmp_path / "dead.kubeconfig").read_text())["clusters"][0]["cluster"]["server"]


def test_report_only_changes_nothing_and_gate_fails(tmp_path):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kubeconfig")
        env = helmfix.HelmEnv(kc)
        stuck_upgrade(env, kube, "api", "payments")
        inventory = write_inventory(tmp_path / "inventory.yml", {"prod": {"stuck_releases_kubeconfig": str(kc)}})
        before = resource_versions(kube)

        # by FQCN, as a collection playbook
        report = run_playbook(tmp_path, "helmops.unstick.report", inventory, dict(COMMON))
        assert report.rc == 0, report.text
        assert report.recap["prod"]["changed"] == 0 and report.recap["prod"]["failed"] == 0, report.recap
        assert resource_versions(kube) == before
        data = json.loads(report_files(tmp_path / "helm-stuck-report")["json"].read_text())  # default dir: $PWD
        assert data["summary"]["stuck"] == 1 and data["summary"]["remaining"] == 1
        assert data["summary"]["remediated"] == 0
        assert data["releases"][0]["result"] == "still stuck: report only (remediate is off)"

        # as a CI gate: something is still stuck, so the play fails
        gate = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory,
                            dict(COMMON, stuck_releases_fail_on_stuck=True))
        assert gate.rc != 0, gate.text
        assert gate.recap["prod"]["failed"] == 1, gate.recap
        assert "cluster prod: 1 release(s) still stuck" in gate.stdout
        assert resource_versions(kube) == before

        # remediate, but the max_remediations guard refuses: the cluster was scanned, nothing is changed
        guard = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                             dict(COMMON, stuck_releases_max_remediations=0))
        assert guard.rc == 0, guard.text
        assert guard.recap["prod"] == {**guard.recap["prod"], "rescued": 0, "ignored": 1, "failed": 0}, guard.recap
        assert resource_versions(kube) == before
        data = json.loads(report_files(tmp_path / "helm-stuck-report")["json"].read_text())
        prod = data["clusters"][0]
        assert prod["ok"] and prod["status"] == "refused" and "max_remediations is 0" in prod["message"]
        assert [e["name"] for e in prod["stuck"]] == ["api"] and prod["remaining"] == 1
        assert data["releases"][0]["state"] == "refused"
        assert data["releases"][0]["result"].startswith(
            "refused by the max_remediations guard: cluster localkube: refusing to remediate")
        assert "another operation" in helmfix.assert_locked(env, "api", "payments")
        assert_no_leak([report, gate, guard], tmp_path / "helm-stuck-report")


def test_clean_fleet_is_quiet_and_unreachable_cluster_fails_the_gate(tmp_path, webhook):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kubeconfig")
        inventory = write_inventory(tmp_path / "inventory.yml", {"quiet": {"stuck_releases_kubeconfig": str(kc)}},
                                    group="clean_clusters")
        extra = dict(COMMON, stuck_releases_hosts="clean_clusters", stuck_releases_webhook_url=webhook.url,
                     stuck_releases_report_dir="out")
        run = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory, extra)
        assert run.rc == 0, run.text
        assert webhook.posts == []  # nothing stuck, remediated or failed: no notification
        data = json.loads(report_files(tmp_path / "out")["json"].read_text())
        assert data["summary"]["clusters_ok"] == 1 and data["releases"] == []
        assert 'id="no-releases"' in report_files(tmp_path / "out")["html"].read_text()

        sock = dead_kubeconfig(tmp_path / "dead.kubeconfig")
        inventory = write_inventory(tmp_path / "inventory.yml", {
            "quiet": {"stuck_releases_kubeconfig": str(kc)},
            "dead": {"stuck_releases_kubeconfig": str(tmp_path / "dead.kubeconfig"),
                     "stuck_releases_cluster_timeout": "3s"}}, group="clean_clusters")
        gate = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory,
                            dict(extra, stuck_releases_fail_on_stuck=True))
        sock.close()
        assert gate.rc != 0, gate.text
        assert gate.recap["dead"]["failed"] == 1 and gate.recap["quiet"]["failed"] == 0, gate.recap
        assert len(webhook.posts) == 1 and "dead: could not be checked" in webhook.posts[0]["body"]["text"]


def test_exclude_releases_and_request_timeout_reach_the_module(tmp_path):
    """stuck_releases_exclude_releases leaves a release alone; stuck_releases_request_timeout bounds
    each API answer (a cluster whose lists take 3 s is not checked with 1s, and is with the default)."""
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kubeconfig")
        env = helmfix.HelmEnv(kc)
        stuck_upgrade(env, kube, "web", "shop")
        stuck_upgrade(env, kube, "web-canary", "shop")
        inventory = write_inventory(tmp_path / "inventory.yml", {"prod": {"stuck_releases_kubeconfig": str(kc)}})

        kube.faults.latency(3, verb="list", count=50)
        slow = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                            dict(COMMON, stuck_releases_request_timeout="1s"))
        assert slow.rc == 0 and slow.recap["prod"]["ignored"] == 1, slow.text        # not checked: a warning
        assert "cluster prod could not be checked" in slow.text and "cannot scan" in slow.text
        kube.faults.clear()

        run = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                           dict(COMMON, stuck_releases_exclude_releases=["*-canary"], stuck_releases_strategy="unlock"))
        assert run.rc == 0, run.text
        data = json.loads(report_files(tmp_path / "helm-stuck-report")["json"].read_text())
        assert [e["name"] for e in data["clusters"][0]["remediated"]] == ["web"]
        assert helmfix.newest(kube, "shop", "web")[1] == "failed"
        assert helmfix.newest(kube, "shop", "web-canary")[1] == "pending-upgrade"   # excluded: untouched


def rendered_in_chromium(path, data):
    """This run's HTML report in headless Chromium: one row per release of the JSON report, one per
    cluster, the dead cluster among the errors, sorting by name works, and no script error."""
    import browser
    rows = "Array.prototype.map.call(document.querySelectorAll('#releases tbody tr'), function (r) {" \
           " return [r.cells[0].textContent, r.cells[2].textContent]; })"
    with browser.Chromium() as chromium:
        chromium.open(path)
        shown = chromium.evaluate(rows)
        assert sorted(map(tuple, shown)) == sorted((r["cluster"], r["name"]) for r in data["releases"])
        assert chromium.evaluate("document.querySelectorAll('#clusters tbody tr').length") == len(data["clusters"])
        assert "dead" in chromium.evaluate("document.querySelector('#errors').innerText")
        chromium.click("#releases th[data-key=name]")
        names = [name for _, name in chromium.evaluate(rows)]
        assert names == sorted(names) and len(names) == len(data["releases"])
        assert chromium.errors == []
