# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report tells the truth where people read it (issue 14): playbooks/remediate.yml run the way
AWX runs a job (ansible-runner), over five clusters with releases really stuck by real Helm -- one
remediated, one whose write is refused (403), one held back by the max_remediations guard, one that cannot
be reached, one given as an in-memory kubeconfig -- first in check mode, then for real as a CI gate. Each
run's own HTML report is opened in Chromium, and the job's set_stats artifacts and exit code are read the
way AWX reads them."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import browser
import helmfix
from localkube import LocalKube
from localkube import kubeconfig as kubeconfig_writer
from playbook_run import HELM_BIN

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(sys.executable).parent / "ansible-runner"
# each row of a table as {column key: the text shown}, the keys from the headers' data-key
ROWS = ("(function (t) { var keys = Array.prototype.map.call(t.tHead.rows[0].cells,"
        " function (th) { return th.getAttribute('data-key'); });"
        " return Array.prototype.map.call(t.tBodies[0].rows, function (r) { var o = {};"
        " keys.forEach(function (k, i) { o[k] = r.cells[i].innerText.trim(); }); return o; });"
        " })(document.querySelector('%s'))")


def run_job(tmp_path, ident, hosts, extravars, check=False):
    """ansible-runner over a private data dir, as AWX runs a job template; returns (rc, status, events)."""
    pdd = tmp_path / ("job-" + ident)
    (pdd / "env").mkdir(parents=True)
    shutil.copytree(ROOT / "playbooks", pdd / "project" / "playbooks")
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"helm_clusters": {"hosts": hosts}}))
    report = tmp_path / ("report-" + ident)
    (pdd / "env" / "extravars").write_text(json.dumps(dict(extravars, stuck_releases_report_dir=str(report))))
    (pdd / "env" / "settings").write_text(json.dumps({"idle_timeout": 0, "job_timeout": 240}))
    if check:
        (pdd / "env" / "cmdline").write_text("--check")
    proc = subprocess.run([str(RUNNER), "run", str(pdd), "-p", "playbooks/remediate.yml", "--ident", ident],
                          capture_output=True, text=True, timeout=280, cwd=str(pdd))
    artifacts = pdd / "artifacts" / ident
    assert (artifacts / "rc").exists(), proc.stdout + proc.stderr
    events = sorted((json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")),
                    key=lambda e: e["counter"])
    [stats] = [e for e in events if e["event"] == "playbook_on_stats"]
    return (int((artifacts / "rc").read_text()), (artifacts / "status").read_text().strip(),
            stats["event_data"].get("artifact_data", {}), (artifacts / "stdout").read_text(), report)


def taken_and_state(row):
    return row["action_taken"], row["state"]


def rendered(chromium, html):
    """What a reader sees in the browser: byline, summary cards, clusters and releases tables, errors."""
    chromium.open(html)
    cards = chromium.evaluate("Array.prototype.map.call(document.querySelectorAll('#summary .card'),"
                              " function (c) { return c.innerText.replace(/\\s+/g, ' ').trim(); })")
    errors = chromium.evaluate("(document.querySelector('#errors') || document.body).innerText")
    return {"byline": chromium.evaluate("document.querySelector('#byline').innerText"), "cards": cards,
            "clusters": {row["host"]: row for row in chromium.evaluate(ROWS % "#clusters")},
            "releases": {(row["cluster"], row["name"]): row for row in chromium.evaluate(ROWS % "#releases")},
            "errors": errors}


@pytest.fixture
def fleet(tmp_path):
    """Five clusters, as inventory hosts: eu (admin; web stuck; a namespace typo), us (a read-only token; api
    stuck), ap (admin; two stuck, max_remediations 1), dead (nothing listens), mem (an in-memory kubeconfig
    with its own context name; cart stuck)."""
    tokens = {"admin": None, "reader": {"verbs": ["get", "list", "watch"], "user": "system:serviceaccount:ops:ro"}}
    with LocalKube() as eu, LocalKube(tls=True, tokens=tokens) as us, LocalKube() as ap, LocalKube() as mem:
        eu_kc = eu.write_kubeconfig(tmp_path / "eu")
        helmfix.installed_and_stuck(eu, eu_kc, "web")
        helmfix.installed_and_stuck(us, us.write_kubeconfig(tmp_path / "us-admin", token="admin"), "api")
        ap_kc = ap.write_kubeconfig(tmp_path / "ap")
        helmfix.installed_and_stuck(ap, ap_kc, "a")
        helmfix.installed_and_stuck(ap, ap_kc, "b")
        helmfix.installed_and_stuck(mem, mem.write_kubeconfig(tmp_path / "mem"), "cart")
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))                  # bound, never listening: connection refused
        dead_url = "https://127.0.0.1:%d" % dead.getsockname()[1]
        local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        hosts = {
            "eu": dict(local, stuck_releases_kubeconfig=str(eu_kc), stuck_releases_namespaces=["shop", "shpo"]),
            "us": dict(local, stuck_releases_kubeconfig=str(us.write_kubeconfig(tmp_path / "us", token="reader"))),
            "ap": dict(local, stuck_releases_kubeconfig=str(ap_kc), stuck_releases_max_remediations=1),
            "dead": dict(local, stuck_releases_kubeconfig=kubeconfig_writer.write(
                tmp_path / "dead", dead_url, ca_file=None, token="t"), stuck_releases_request_timeout="3s",
                # it gives up after the third refused attempt (back-offs 0.5 and 1 s; 2 s more would not fit)
                stuck_releases_cluster_timeout="3s"),
            "mem": dict(local, stuck_releases_connection={"kubeconfig": kubeconfig_writer.build(
                mem.url, ca_file=None, token=None, context="mem-context")}),
        }
        yield hosts, dead_url, {"eu": eu, "us": us, "ap": ap, "mem": mem}
        dead.close()


def records(servers):
    return {name: sorted(json.dumps(o, sort_keys=True) for o in kube.store.list("secrets"))
            for name, kube in servers.items()}


def test_check_mode_then_a_gate_as_awx_shows_them(tmp_path, fleet):
    hosts, dead_url, servers = fleet
    common = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s"}

    # -- check mode: "would", nothing written, job successful ---------------------------------------------
    before = records(servers)
    rc, status, stats, stdout, report = run_job(tmp_path, "check", hosts, common, check=True)
    assert (rc, status) == (0, "successful"), stdout
    assert records(servers) == before
    art = stats["helm_stuck_releases"]
    assert art["mode"] == "check mode" and art["remediated"] == 0 and art["would_remediate"] == 3
    assert art["failed_clusters"] == ["dead"] and art["clusters"] == 5
    with browser.Chromium() as chromium:
        page = rendered(chromium, report / "stuck-releases.html")
    assert page["byline"].startswith("Mode: check mode (nothing was changed)")
    assert "3 would remediate" in page["cards"] and not any("remediated" in c for c in page["cards"])
    assert taken_and_state(page["releases"][("eu", "web")]) == ("none (check mode)", "would remediate")
    assert page["releases"][("ap", "a")]["state"] == "refused"         # the guard holds back check mode too

    # -- for real, as a gate (fail_on_stuck): red, and every state told as it is -----------------------------
    rc, status, stats, stdout, report = run_job(tmp_path, "gate", hosts,
                                                dict(common, stuck_releases_fail_on_stuck=True))
    assert rc != 0 and status == "failed", stdout
    art = stats["helm_stuck_releases"]                 # published before the gate failed the job
    assert art["mode"] == "remediate" and art["remediated"] == 2 and art["refused"] == 3
    assert art["failed_clusters"] == ["dead"] and art["remaining"] == 3
    assert sorted(art["report_files"]) == ["html", "json", "markdown", "prom"]
    with browser.Chromium() as chromium:
        page = rendered(chromium, report / "stuck-releases.html")
    assert page["byline"].startswith("Mode: remediate; generated ") and " by " in page["byline"]
    clusters = page["clusters"]
    # scanned and held back by the guard: refused with the guard's reason, never "could not be checked"
    assert clusters["ap"]["status"] == "refused" and "max_remediations" in clusters["ap"]["message"]
    assert clusters["dead"]["server"] == dead_url and clusters["dead"]["status"] == "failed"
    assert "cannot reach %s: connection refused" % dead_url in clusters["dead"]["message"], clusters["dead"]
    assert clusters["mem"]["cluster"] == "mem-context"                 # its name, not a no_log placeholder
    assert clusters["eu"]["server"] == servers["eu"].url and clusters["us"]["server"] == servers["us"].url
    rows = page["releases"]
    assert taken_and_state(rows[("eu", "web")]) == ("rollback", "remediated")
    assert rows[("mem", "cart")]["state"] == "remediated"
    assert taken_and_state(rows[("us", "api")]) == ("none (refused)", "refused")
    assert "403" in rows[("us", "api")]["result"]
    assert taken_and_state(rows[("ap", "a")]) == ("none (refused)", "refused")
    assert "refused by the max_remediations guard" in rows[("ap", "b")]["result"]
    # the role's warning names the role variable the user set
    assert "warning: cluster localkube: namespace 'shpo' (stuck_releases_namespaces) does not exist" in page["errors"]
    assert "could not be checked: cluster localkube (%s): cannot scan Helm releases: cannot reach %s: " \
           "connection refused" % (dead_url, dead_url) in page["errors"]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" not in json.dumps([page["clusters"], list(rows.values())])
    # the cluster shows it: eu and mem unblocked, us and ap as they were
    for name, release in (("eu", "web"), ("mem", "cart")):
        assert helmfix.newest(servers[name], "shop", release)[1] == "deployed"
    for name, release in (("us", "api"), ("ap", "a"), ("ap", "b")):
        assert helmfix.newest(servers[name], "shop", release)[1] == "pending-upgrade"
    assert os.path.getsize(report / "stuck-releases.prom") > 0
