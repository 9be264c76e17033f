# SPDX-License-Identifier: GPL-3.0-or-later
"""The stuck_releases role (playbooks/remediate.yml, report.yml) through
ansible-playbook under faults: API overload and a dropped write on one
cluster, a read-only token on another, the whole run SIGKILLed mid-way; then
every output, log, report and artifact of a run grepped for a password that
real Helm stored in the release values, and for the bearer token."""

import json

import pytest

import helmfix
from faultkit import (PASSWORD, ROOT, STUCK, Ledger, clusters, fleet_report, kill_group, load_fleet, run_role,
                      start_group, unlocked, wait_for, PLAYBOOK_BIN, HELM_BIN)
from localkube import LocalKube
from playbook_run import run_module

pytestmark = pytest.mark.slow

TOKEN = "faults-bearer-T0ken-n0t-f0r-l0gs-5521"
READONLY = "faults-readonly-T0ken-n0t-f0r-l0gs-7730"


def test_role_over_a_flaky_and_a_read_only_cluster(tmp_path, seed, tally):
    tokens = {TOKEN: None, READONLY: {"verbs": ["get", "list"]}}
    with LocalKube() as flaky, LocalKube(tls=True, tokens=tokens) as locked:
        load_fleet(flaky, seed)
        load_fleet(locked, seed)
        books = {"flaky": Ledger(flaky), "locked": Ledger(locked)}
        flaky.faults.error(503, verb="list", count=2)
        flaky.faults.error(429, retry_after=1, verb="get", count=1)
        flaky.faults.drop(verb="update", count=1)            # the first write: apps/fresh's
        hosts = {"flaky": {"stuck_releases_kubeconfig": str(flaky.write_kubeconfig(tmp_path / "flaky.kc"))},
                 "locked": {"stuck_releases_host": locked.url, "stuck_releases_api_key": READONLY,
                            "stuck_releases_ca_cert": locked.ca_file}}
        extra = {"stuck_releases_backup_dir": str(tmp_path / "backups")}
        first = run_role(tmp_path / "w", hosts, extra)
        assert first.rc == 0, first.text
        report = clusters(fleet_report(tmp_path / "w"))
        assert sorted(e["name"] for e in report["flaky"]["remediated"]) == ["my.app-v2", "web"]
        [err] = report["flaky"]["errors"]
        assert err["name"] == "fresh" and "may have landed" in err["reason"]
        assert report["locked"]["remediated"] == [] and len(report["locked"]["errors"]) == 3
        assert all("API error 403" in e["reason"] for e in report["locked"]["errors"])
        books["flaky"].check(changed_releases={("shop", "web"), ("shop", "my.app-v2")}, added=2)
        books["locked"].check(changed_releases=set())

        hosts["locked"]["stuck_releases_api_key"] = TOKEN      # the operator fixes the credential
        second = run_role(tmp_path / "w", hosts, extra)
        assert second.rc == 0, second.text
        report = clusters(fleet_report(tmp_path / "w"))
        assert [e["name"] for e in report["flaky"]["remediated"]] == ["fresh"]
        assert len(report["locked"]["remediated"]) == 3 and report["locked"]["errors"] == []
        third = run_role(tmp_path / "w", hosts, extra)
        data = fleet_report(tmp_path / "w")
        assert data["summary"]["stuck"] == 0 and data["summary"]["remediated"] == 0 and data["summary"]["errors"] == 0
        assert "changed=0" in third.stdout and "changed=1" not in third.stdout
        for name, server in (("flaky", flaky), ("locked", locked)):
            assert unlocked(server)
            counts = books[name].check(changed_releases=STUCK, added=2)
            saved = [str(p) for p in (tmp_path / "backups").rglob("*.json")
                     if p.relative_to(tmp_path / "backups").parts[0] == _label(hosts[name])]
            assert len(saved) >= len(STUCK) and books[name].check_backups(saved)
            fault = ("API 503 on list (x2) + 429 on GET + dropped write" if name == "flaky"
                     else "RBAC: read-only token (403 on write)")
            tally(fault, "scan + remediation" if name == "flaky" else "remediation", "role (ansible-playbook)", 3,
                  counts, True, "+2 records: helm rollback revisions")


def _label(host):
    """The cluster label the module gives (backup sub-directory)."""
    if "stuck_releases_host" in host:
        return host["stuck_releases_host"].replace("://", "_").replace(":", "_").replace("/", "_")
    return "localkube"


def test_role_killed_mid_remediation_then_rerun(kube, fleet, tally, tmp_path):
    book = Ledger(kube)
    rev = fleet[("shop", "web")]
    hosts = {"c1": {"stuck_releases_kubeconfig": kube.kubeconfig}}
    fault = kube.faults.hang(method="PUT", path=r"/secrets/sh\.helm\.release\.v1\.web\.v%d$" % rev, count=1)
    work = tmp_path / "killed"
    work.mkdir()
    inventory = work / "inventory.yml"
    inventory.write_text(json.dumps({"helm_clusters": {"hosts": hosts}}))
    cmd = [PLAYBOOK_BIN, "-i", str(inventory), str(ROOT / "playbooks" / "remediate.yml"), "-e",
           json.dumps({"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_strategy": "unlock",
                       "stuck_releases_report_dir": str(work / "report")})]
    proc = start_group(cmd, work)
    try:
        assert kube.faults.wait_hanging(1, timeout=90), "the role never reached the write of shop/web"
    finally:
        kill_group(proc)
    assert wait_for(lambda: kube.faults.hanging == 0, timeout=10)
    kube.faults.remove(fault.id)
    assert not (work / "report" / "stuck-releases.json").exists()      # killed before its report
    book.check(changed_releases={("apps", "fresh"), ("shop", "my.app-v2")})
    again = run_role(tmp_path / "w", hosts, {"stuck_releases_strategy": "unlock"})
    assert again.rc == 0, again.text
    assert [e["name"] for e in clusters(fleet_report(tmp_path / "w"))["c1"]["remediated"]] == ["web"]
    run_role(tmp_path / "w", hosts, {"stuck_releases_strategy": "unlock"})
    assert fleet_report(tmp_path / "w")["summary"]["remediated"] == 0
    counts = book.check(changed_releases=STUCK)
    assert unlocked(kube)
    tally("SIGKILL while our write hangs", "remediation", "role (ansible-playbook)", 3, counts, True)


def test_no_secret_in_any_output_log_report_or_artifact(tmp_path, seed, tally):
    """A password real Helm stored in the release values, and the bearer token,
    appear nowhere but in the backups (documented to hold them, 0600)."""
    with LocalKube(tls=True, tokens={TOKEN: None}) as server:
        load_fleet(server, seed)
        book = Ledger(server)
        stuck_payloads = [o["data"]["release"] for k, o in book.before.items()
                          if o["metadata"]["labels"]["status"].startswith("pending-")]
        assert PASSWORD in helmfix.decode_record(next(iter(book.before.values())))    # really in the cluster
        work = tmp_path / "w"
        work.mkdir()
        env = {"ANSIBLE_LOG_PATH": str(work / "ansible.log"), "ANSIBLE_LOCAL_TEMP": str(work / "local-tmp"),
               "ANSIBLE_REMOTE_TEMP": str(work / "remote-tmp"), "ANSIBLE_KEEP_REMOTE_FILES": "0"}
        hosts = {"secure": {"stuck_releases_host": server.url, "stuck_releases_api_key": TOKEN,
                            "stuck_releases_ca_cert": server.ca_file}}
        backups = tmp_path / "backups"
        extra = {"stuck_releases_backup_dir": str(backups)}
        runs = [run_role(work, hosts, extra, env=env, playbook="report.yml", verbosity=3),
                run_role(work, hosts, extra, env=env, verbosity=3),
                run_role(work, hosts, extra, env=env, verbosity=3)]
        # the module alone too, with diff and -vvvv, report only then a check-mode plan
        kc = str(server.write_kubeconfig(tmp_path / "kc", token=TOKEN))      # an input, outside the work dir
        runs.append(run_module(work, {"kubeconfig": kc, "remediate": False}, diff=True, verbosity=4,
                               env=env))
        assert runs[1].rc == 0 and "changed=1" in runs[1].stdout, runs[1].text
        assert (work / "ansible.log").stat().st_size > 0
        texts = {"run %d output" % i: r.text for i, r in enumerate(runs)}
        for path in work.rglob("*"):
            if path.is_file() and path != work / "inventory.yml":      # the inventory is our input
                texts[str(path)] = path.read_text(errors="replace")
        assert any(p.endswith("stuck-releases.html") for p in texts) and any(p.endswith(".md") for p in texts)
        for where, text in texts.items():
            assert PASSWORD not in text, where
            assert TOKEN not in text, where
            for payload in stuck_payloads:
                assert payload[100:160] not in text, where          # nor the encoded record
        files = list(backups.rglob("*.json"))
        assert len(files) == len(STUCK)
        for path in files:
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
            assert PASSWORD in helmfix.decode_record_file(str(path))   # the backup does hold it, as documented
            assert TOKEN not in path.read_text()
        counts = book.check(changed_releases=STUCK, added=2)
        book.check_backups([str(p) for p in files])
        tally("secret grep: values password + bearer token over -vvv/-vvvv output, ANSIBLE_LOG_PATH log, "
              "fleet report JSON/MD/HTML, temp dirs", "all", "role + module (ansible-playbook)", len(runs),
              counts, True, "found only in the 0600 backups")
