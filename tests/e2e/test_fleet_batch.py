# SPDX-License-Identifier: GPL-3.0-or-later
"""The stuck_releases role with helm_unstick run in the controller's worker (its action plugin, what the
playbooks do) against helm_unstick as a module process: the same fleet gives the same fleet report, recap and
check-mode plan; a bad variable fails its host red before its cluster is asked; and an AWX/AAP sliced job (slices split the way AWX splits an inventory, run with
ansible-runner, each publishing its partial report) merged by playbooks/merge_reports.yml gives the report one
run over the whole fleet gives."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import helmfix
from fleet_run import report_files, run_playbook, write_inventory
from localkube import LocalKube
from localkube import kubeconfig as kubeconfig_writer
from playbook_run import HELM_BIN, ROOT

pytestmark = pytest.mark.slow

TOKEN = "batch-bearer-t0ken-do-not-leak"
COMMON = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s"}
AGE_IN_TEXT = re.compile(r"for \d+ seconds")
RUNNER = Path(sys.executable).parent / "ansible-runner"
#: what differs between two runs of the same fleet: when, how long each cluster took, how old a record was then,
#: and the run's id (a sliced job's merged report holds each slice's)
TIMING_KEYS = ("generated_at", "generated_epoch", "duration_seconds", "age_seconds", "run_id", "run_ids")


def comparable(report, also=()):
    """A fleet report without its timings (the only thing two runs of the same fleet may differ in), nor the
    keys in ``also``."""
    if isinstance(report, dict):
        return dict((k, comparable(v, also)) for k, v in report.items() if k not in TIMING_KEYS + tuple(also))
    if isinstance(report, list):
        return [comparable(v, also) for v in report]
    if isinstance(report, str):   # a reason quotes the record's age at the time
        return AGE_IN_TEXT.sub("for N seconds", report)
    return report


def differences(a, b, path=""):
    """Where two reports differ (paths), for the assertion message."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), "%s.%s" % (path, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, "%s[%d]" % (path, i))]
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def dead_kubeconfig(path):
    """A kubeconfig whose server refuses connections (a port bound, never listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    kubeconfig_writer.write(path, "http://127.0.0.1:%d" % sock.getsockname()[1], ca_file=None, token=None,
                            context="dead-cluster")
    return sock


def secret_versions(*kubes):
    return [sorted((o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
                   for o in kube.store.list("secrets")) for kube in kubes]


@pytest.fixture
def fleet(tmp_path):
    """Three clusters: one with a release really stuck in pending-upgrade, one reached by URL + token + CA with a
    stuck first install, one dead."""
    with LocalKube() as plain, LocalKube(tls=True, tokens={TOKEN: None}) as secure:
        kc_plain = plain.write_kubeconfig(tmp_path / "plain.kubeconfig")
        env_plain = helmfix.HelmEnv(kc_plain)
        env_secure = helmfix.HelmEnv(secure.write_kubeconfig(tmp_path / "secure.kubeconfig", token=TOKEN))
        env_plain.install("web", "shop")
        helmfix.age_record(plain, "shop", "web", helmfix.make_stuck_upgrade(env_plain, plain, "web", "shop"), 3600)
        helmfix.age_record(secure, "apps", "fresh", helmfix.make_stuck_install(env_secure, secure, "fresh", "apps"),
                           3600)
        sock = dead_kubeconfig(tmp_path / "dead.kubeconfig")
        hosts = {
            "plain": {"stuck_releases_kubeconfig": str(kc_plain)},
            "secure": {"stuck_releases_host": secure.url, "stuck_releases_api_key": TOKEN,
                       "stuck_releases_ca_cert": secure.ca_file},
            # refused connections are retried with back-offs of 0.5, 1, 2 and 4 s; its cluster_timeout gives up
            # after the third attempt (about 1.5 s: no back-off of 2 s fits in the 3 s), the same in every run
            "dead": {"stuck_releases_kubeconfig": str(tmp_path / "dead.kubeconfig"),
                     "stuck_releases_cluster_timeout": "3s"},
        }
        yield {"hosts": hosts, "kubes": (plain, secure)}
        sock.close()


#: the role as remediate.yml and report.yml run it, with a task environment: helm_unstick then runs as a module
#: process (AnsiballZ), not in the controller's worker (plugins/action/helm_unstick.py)
MODULE_PROCESS_PLAY = """
- name: The stuck_releases role, helm_unstick as a module process
  hosts: helm_clusters
  connection: local
  gather_facts: false
  tasks:
    - name: The role
      ansible.builtin.import_role:
        name: helmops.unstick.stuck_releases
        rolespec_validate: false
      environment:
        HELMOPS_UNSTICK_TEST: module-process
"""


def run_both(tmp_path, playbook, inventory, extra, extra_args=()):
    """The playbook (helm_unstick in the controller's worker), then the same role with helm_unstick as a module
    process: (run, report) of each."""
    module_play = tmp_path / ("module-process-" + playbook)
    module_play.write_text(MODULE_PROCESS_PLAY)
    remediate = playbook == "remediate.yml"
    out = []
    for mode, path in (("in-process", ROOT / "playbooks" / playbook), ("module", module_play)):
        report_dir = tmp_path / ("report-" + mode)
        run = run_playbook(tmp_path, path, inventory,
                           dict(extra, stuck_releases_report_dir=str(report_dir), stuck_releases_remediate=remediate),
                           extra_args=list(extra_args) + ["-vvv"])
        assert run.rc == 0, run.text
        out.append((run, json.loads(report_files(report_dir)["json"].read_text())))
    return out


def outcome(recap):
    """A host's recap as the operator reads it: changed or not, a failure (ignored) or not."""
    return dict((h, (r["changed"] > 0, r["ignored"] > 0, r["failed"])) for h, r in recap.items() if h != "localhost")


def test_in_process_and_module_process_give_the_same_reports_recaps_and_plans(tmp_path, fleet):
    inventory = write_inventory(tmp_path / "inventory.yml", fleet["hosts"])
    before = secret_versions(*fleet["kubes"])

    # report only, then check mode with diff: nothing is written either way, so both runs see the same fleet
    (ours, o_report), (module, m_report) = run_both(tmp_path, "report.yml", inventory, COMMON)
    assert comparable(o_report) == comparable(m_report), differences(comparable(o_report), comparable(m_report))
    assert o_report["summary"]["stuck"] == 2 and o_report["summary"]["failed_clusters"] == ["dead"]
    assert outcome(ours.recap) == outcome(module.recap) == {
        "plain": (False, False, 0), "secure": (False, False, 0), "dead": (False, True, 0)}
    # which is which: the module run sends AnsiballZ_helm_unstick.py; the playbook's never does
    assert "AnsiballZ_helm_unstick.py" in module.stdout and "AnsiballZ_helm_unstick" not in ours.stdout

    (ours, o_report), (module, m_report) = run_both(tmp_path, "remediate.yml", inventory, COMMON,
                                                    extra_args=["--check", "--diff"])
    assert comparable(o_report) == comparable(m_report), differences(comparable(o_report), comparable(m_report))
    assert o_report["summary"]["would_remediate"] == 2 and o_report["mode"] == "check mode"
    assert outcome(ours.recap) == outcome(module.recap) == {
        "plain": (True, False, 0), "secure": (True, False, 0), "dead": (False, True, 0)}
    for run in (ours, module):   # diff mode: each release's status before and after
        assert "pending-upgrade (revision 2)" in run.stdout and "pending-install (revision 1)" in run.stdout
    assert secret_versions(*fleet["kubes"]) == before
    assert TOKEN not in ours.text + module.text

    # Remediating: test_fleet.py's fleet runs the playbooks as they are and asserts their whole remediate report
    # (summary, rows, states, Markdown, HTML), recap and converging re-run.


@pytest.mark.parametrize("variable, value, expected", [
    # refused by helm_unstick's options check, named as the role's variable
    ("stuck_releases_min_age", "soon", ["stuck_releases_min_age (helm_unstick option min_age): min_age:", "'soon'"]),
    # refused by the role's argument spec (meta/argument_specs.yml), which the action checks
    ("stuck_releases_strategy", "bogus", ["Validation of the role's variables failed: value of stuck_releases_strategy "
                                          "must be one of: rollback, unlock, got: bogus"]),
])
def test_a_bad_variable_fails_its_host_first_naming_variable_and_value(tmp_path, fleet, variable, value, expected):
    hosts = dict(fleet["hosts"])
    hosts["secure"] = dict(hosts["secure"], **{variable: value})
    inventory = write_inventory(tmp_path / "inventory.yml", hosts)
    plain, secure = fleet["kubes"]
    before = secret_versions(secure)
    requests = secure.stats()["requests"]
    run = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                       dict(COMMON, stuck_releases_report_dir=str(tmp_path / "r")))
    # bad input is never an ignored failure: the run ends red, though a cluster that cannot be checked is ignored
    assert run.rc == 2, run.text
    text = " ".join(run.text.split())
    assert all(fragment in text for fragment in expected), text
    assert "nothing was asked of this cluster" in text
    assert {h: (r["failed"], r["ignored"]) for h, r in run.recap.items() if h != "localhost"} == {
        "plain": (0, 0), "secure": (1, 0), "dead": (0, 1)}, run.recap
    # nothing asked of the bad host's cluster; the others were checked and the report names the variable
    assert secret_versions(secure) == before
    assert secure.stats()["requests"] == requests
    report = json.loads(report_files(tmp_path / "r")["json"].read_text())
    clusters = {c["host"]: c for c in report["clusters"]}
    assert not clusters["secure"]["ok"] and variable in clusters["secure"]["message"]
    assert report["summary"]["remediated"] == 1
    assert TOKEN not in run.text


# -- AWX/AAP job slicing --------------------------------------------------------------------------------------
def awx_slices(hosts, count):
    """The hosts of each slice as AWX deals them: the inventory's hosts sorted by name, then every count-th one
    from offset slice_number - 1 (awx/main/models/inventory.py, Inventory.get_script_data)."""
    ordered = sorted(hosts)
    return [ordered[number - 1::count] for number in range(1, count + 1)]


def runner_job(tmp_path, playbook, ident, hostvars, extravars):
    """One AWX-like job: ansible-runner over a private data dir (the project's playbooks, an inventory script of
    the job's hosts, extravars); returns (status, rc, stdout, set_stats artifacts)."""
    pdd = tmp_path / ("job-" + ident)
    (pdd / "env").mkdir(parents=True)
    (pdd / "project").mkdir()
    (pdd / "project" / "playbooks").symlink_to(ROOT / "playbooks")
    (pdd / "inventory").mkdir()
    data = {"all": {"children": ["helm_clusters"]}, "helm_clusters": {"hosts": sorted(hostvars)},
            "_meta": {"hostvars": hostvars}}
    script = pdd / "inventory" / "hosts"
    script.write_text("#!%s\nimport json, sys\nprint(json.dumps(%r) if '--list' in sys.argv else '{}')\n"
                      % (sys.executable, data))
    script.chmod(0o700)
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    (pdd / "env" / "envvars").write_text(json.dumps({"PATH": os.environ["PATH"]}))
    (pdd / "env" / "settings").write_text(json.dumps({"idle_timeout": 0, "job_timeout": 240}))
    proc = subprocess.run([str(RUNNER), "run", str(pdd), "-p", playbook, "--ident", ident], capture_output=True,
                          text=True, timeout=280, cwd=str(pdd))
    artifacts = pdd / "artifacts" / ident
    assert (artifacts / "status").exists(), proc.stdout + proc.stderr
    events = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    return ((artifacts / "status").read_text().strip(), int((artifacts / "rc").read_text()),
            (artifacts / "stdout").read_text(), stats[0]["event_data"].get("artifact_data", {}) if stats else {})


def test_sliced_job_merged_gives_the_report_of_one_run(tmp_path, fleet):
    hosts = dict(fleet["hosts"])
    hosts["plain-2"] = dict(hosts["plain"])   # a fourth host, so both slices hold two
    extra = dict(COMMON, stuck_releases_report_formats=["json"])

    status, rc, stdout, _ = runner_job(tmp_path, "playbooks/report.yml", "single", hosts,
                                       dict(extra, stuck_releases_report_dir=str(tmp_path / "single")))
    assert (status, rc) == ("successful", 0), stdout
    single = json.loads((tmp_path / "single" / "stuck-releases.json").read_text())

    slices = awx_slices(hosts, 2)
    assert slices == [["dead", "plain-2"], ["plain", "secure"]]
    artifacts, parts = {}, []
    for number, names in enumerate(slices, 1):
        job_id = 100 + number
        status, rc, stdout, data = runner_job(
            tmp_path, "playbooks/report.yml", "slice-%d" % number, dict((h, hosts[h]) for h in names),
            # what awx/configure.yml sets on a sliced template, and the job id AWX passes every job
            dict(extra, stuck_releases_report_artifact=True, awx_job_id=job_id,
                 stuck_releases_report_dir=str(tmp_path / ("slice-%d" % number))))
        assert (status, rc) == ("successful", 0), stdout
        part = data["helm_stuck_releases_part_%d" % job_id]
        assert sorted(c["host"] for c in part["clusters"]) == names
        artifacts.update(data)   # as a workflow merges its earlier jobs' artifacts into the next one's extra vars
        parts.append(tmp_path / ("slice-%d" % number) / "stuck-releases.json")

    merged_dir = tmp_path / "merged"
    status, rc, stdout, data = runner_job(tmp_path, "playbooks/merge_reports.yml", "merge", {},
                                          dict(artifacts, stuck_releases_report_dir=str(merged_dir)))
    assert (status, rc) == ("successful", 0), stdout
    merged = json.loads((merged_dir / "stuck-releases.json").read_text())
    # one run orders clusters by the play's hosts (the inventory script's sorted list), the merge by host name
    assert comparable(merged) == comparable(single), differences(comparable(merged), comparable(single))
    assert data["helm_stuck_releases"]["clusters"] == 4 and data["helm_stuck_releases"]["stuck"] == 3
    assert (merged_dir / "stuck-releases.md").exists()

    # the same slice twice (a part given as an artifact and again as a file) is refused, naming its hosts
    status, rc, stdout, _ = runner_job(tmp_path, "playbooks/merge_reports.yml", "twice", {},
                                       dict(artifacts, stuck_releases_merge_reports=[str(parts[0])],
                                            stuck_releases_report_dir=str(tmp_path / "twice")))
    assert (status, rc) == ("failed", 2)
    assert re.search(r"host\(s\) in more than one report: dead \(reports \d, \d\), plain-2 \(reports \d, \d\)",
                     " ".join(stdout.split())), stdout
    assert not (tmp_path / "twice").exists()
