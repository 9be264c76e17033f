# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report never says something happened that did not (issue 14): check mode, refused writes,
bad variables, host patterns that match nothing, serial batches and strategy free, on real stuck releases."""

import json
import re

import pytest
import yaml

import helmfix
from fleet_run import report_files, run_playbook, write_inventory
from localkube import LocalKube
from playbook_run import HELM_BIN, ROOT

pytestmark = pytest.mark.slow

COMMON = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s"}
REMEDIATE, REPORT = ROOT / "playbooks" / "remediate.yml", ROOT / "playbooks" / "report.yml"


def records(kube):
    return sorted(json.dumps(o, sort_keys=True) for o in kube.store.list("secrets"))


def test_check_mode_reports_would_and_changes_nothing(tmp_path):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kc")
        rev = helmfix.installed_and_stuck(kube, kc)
        before = records(kube)
        inventory = write_inventory(tmp_path / "inv.yml", {"prod": {"stuck_releases_kubeconfig": str(kc)}})
        run = run_playbook(tmp_path, REMEDIATE, inventory, dict(COMMON, stuck_releases_report_dir="r"))
        assert run.rc == 0
        # the same run in check mode, on a fresh stuck release
        rev2 = helmfix.installed_and_stuck(kube, kc, "api")
        before = records(kube)
        check = run_playbook(tmp_path, REMEDIATE, inventory, dict(COMMON, stuck_releases_report_dir="c"),
                             extra_args=["--check"])
        assert check.rc == 0, check.text
        assert records(kube) == before                                        # nothing written
        files = report_files(tmp_path / "c")
        data = json.loads(files["json"].read_text())
        s = data["summary"]
        assert data["mode"] == "check mode" and (s["remediated"], s["would_remediate"], s["remaining"]) == (0, 1, 1)
        [row] = data["releases"]
        assert (row["name"], row["revision"], row["state"], row["action_taken"]) == (
            "api", rev2, "would_remediate", "none (check mode)")
        assert row["result"] == "check mode: would roll back to revision %d" % (rev2 - 1)
        md = files["markdown"].read_text()
        assert "Mode: check mode (nothing was changed)" in md and "| rollback | remediated |" not in md
        assert "Stuck Helm releases (check mode): 1 cluster(s), 0 could not be checked; 1 stuck, 1 would be " \
               "remediated, 1 still stuck" in " ".join(check.stdout.split())
        assert rev                                                            # the first one was fixed for real


def test_a_refused_write_is_reported_refused_not_as_an_action_taken(tmp_path):
    tokens = {"admin": None, "reader": {"verbs": ["get", "list", "watch"], "user": "system:serviceaccount:ops:ro"}}
    with LocalKube(tls=True, tokens=tokens) as kube:
        admin = kube.write_kubeconfig(tmp_path / "admin", token="admin")
        reader = kube.write_kubeconfig(tmp_path / "reader", token="reader")
        helmfix.installed_and_stuck(kube, admin)
        inventory = write_inventory(tmp_path / "inv.yml", {"prod": {"stuck_releases_kubeconfig": str(reader)}})
        run = run_playbook(tmp_path, REMEDIATE, inventory, dict(COMMON, stuck_releases_report_dir="r"))
        assert run.rc == 0, run.text
        data = json.loads(report_files(tmp_path / "r")["json"].read_text())
        [row] = data["releases"]
        assert (row["state"], row["action_taken"]) == ("refused", "none (refused)")
        assert "403" in row["result"] and "nothing written" in row["result"]
        assert data["summary"]["remaining"] == 1 and data["summary"]["remediated"] == 0
        md = report_files(tmp_path / "r")["markdown"].read_text()
        assert "| none (refused) | refused |" in md


def test_a_bad_variable_fails_the_play_naming_it_and_asks_no_cluster(tmp_path):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kc")
        inventory = write_inventory(tmp_path / "inv.yml", {"prod": {"stuck_releases_kubeconfig": str(kc)}})
        kube.reset_stats()
        run = run_playbook(tmp_path, REPORT, inventory, dict(COMMON, stuck_releases_min_age="abc"))
        assert run.rc != 0
        text = " ".join(run.text.split())
        assert "stuck_releases_min_age (helm_unstick option min_age): min_age:" in text and "'abc'" in text
        assert kube.stats()["requests"] == 0


def test_a_host_pattern_that_matches_nothing_fails_a_gate(tmp_path):
    inventory = write_inventory(tmp_path / "inv.yml", {"prod": {}})
    gate = run_playbook(tmp_path, REPORT, inventory, dict(COMMON, stuck_releases_hosts="prdo",
                                                          stuck_releases_fail_on_stuck=True))
    assert gate.rc != 0 and "stuck_releases_hosts=prdo matches no host of the inventory" in gate.text
    quiet = run_playbook(tmp_path, REPORT, inventory, dict(COMMON, stuck_releases_hosts="prdo"))
    assert quiet.rc == 0 and "Could not match supplied host pattern" in " ".join(quiet.text.split())


@pytest.mark.parametrize("how", ["serial", "free"])
def test_batches_and_strategy_free_report_every_host_that_ran_and_fail_none_that_did_not(tmp_path, how):
    with LocalKube() as one, LocalKube() as two:
        kc1, kc2 = one.write_kubeconfig(tmp_path / "one"), two.write_kubeconfig(tmp_path / "two")
        helmfix.installed_and_stuck(one, kc1)
        helmfix.installed_and_stuck(two, kc2)
        inventory = write_inventory(tmp_path / "inv.yml", {"eu": {"stuck_releases_kubeconfig": str(kc1)},
                                                           "us": {"stuck_releases_kubeconfig": str(kc2)}})
        play = tmp_path / "play.yml"
        keyword = {"serial": 1} if how == "serial" else {"strategy": "free"}
        role_vars = {"stuck_releases_remediate": True}
        play.write_text(yaml.safe_dump([dict({
            "name": "Remediate, %s" % how, "hosts": "helm_clusters", "connection": "local", "gather_facts": False,
            "vars": role_vars,
            "roles": [{"role": "helmops.unstick.stuck_releases"}]}, **keyword)]))
        run = run_playbook(tmp_path, play, inventory, dict(COMMON, stuck_releases_report_dir="r"))
        assert run.rc == 0, run.text
        assert "no result was recorded" not in run.text and "[WARNING]: cluster" not in run.text
        assert not re.search(r"\b[1-9] could not be checked", run.text)
        data = json.loads(report_files(tmp_path / "r")["json"].read_text())
        assert data["summary"]["clusters_failed"] == 0
        # every host that ran is in the final report, none of them as not run yet or failed
        assert sorted(c["host"] for c in data["clusters"]) == ["eu", "us"]
        assert data["summary"]["remediated"] == 2 and data["summary"]["remaining"] == 0
        assert "not run yet" not in report_files(tmp_path / "r")["markdown"].read_text()
        # one run id for the whole run, every batch and host (restore.yml -e restore_run=ID undoes all of it)
        assert len(data["summary"]["run_ids"]) == 1, data["summary"]
        if how == "serial":
            # the first batch's report said which hosts it covered and which were still to run
            assert re.search(r"\(batch: eu; not run yet: us\)", run.stdout), run.stdout
        else:
            # strategy free: only the last host to finish writes the report (and publishes the artifacts)
            assert run.stdout.count("Stuck Helm releases (remediate): 2 cluster(s)") == 1, run.stdout
            assert "not run yet" not in run.stdout


def test_include_role_in_an_existing_play_with_limit_reports_exactly_the_hosts_that_ran(tmp_path):
    with LocalKube() as one, LocalKube() as two:
        kc1, kc2 = one.write_kubeconfig(tmp_path / "one"), two.write_kubeconfig(tmp_path / "two")
        helmfix.installed_and_stuck(one, kc1)
        helmfix.installed_and_stuck(two, kc2)
        inventory = write_inventory(tmp_path / "inv.yml", {"eu": {"stuck_releases_kubeconfig": str(kc1)},
                                                           "us": {"stuck_releases_kubeconfig": str(kc2)},
                                                           "ap": {"stuck_releases_kubeconfig": str(kc2)}})
        play = tmp_path / "deploy.yml"
        play.write_text(yaml.safe_dump([{
            "name": "An existing deployment play", "hosts": "helm_clusters", "connection": "local",
            "gather_facts": False,
            "tasks": [{"name": "Deploy something first", "ansible.builtin.debug": {"msg": "deploying"}},
                      {"name": "Unstick releases", "ansible.builtin.include_role": {
                          "name": "helmops.unstick.stuck_releases"},
                       "vars": {"stuck_releases_remediate": True}}]}]))
        run = run_playbook(tmp_path, play, inventory, dict(COMMON, stuck_releases_report_dir="r"),
                           extra_args=["--limit", "eu,us"])
        assert run.rc == 0, run.text
        assert sorted(run.recap) == ["eu", "us"] and "[WARNING]: cluster" not in run.text
        data = json.loads(report_files(tmp_path / "r")["json"].read_text())
        assert [c["host"] for c in data["clusters"]] == ["eu", "us"] and data["batch"] is None
        assert data["summary"]["remediated"] == 2 and data["summary"]["clusters_failed"] == 0
        assert "| ap |" not in report_files(tmp_path / "r")["markdown"].read_text()


def test_a_cluster_whose_task_failed_before_its_check_is_reported_with_its_failure_and_the_run_ends_red(tmp_path):
    """The fleet report takes each cluster's result from what the role's check kept for this run; a host whose
    task failed before the check could start (here a play's module_defaults value that does not template for it)
    kept nothing, and its registered result is read instead: it is in the report as could not be checked, with
    the message, and the run ends red (bad input is never an ignored failure)."""
    with LocalKube() as one, LocalKube() as two:
        kc1, kc2 = one.write_kubeconfig(tmp_path / "one"), two.write_kubeconfig(tmp_path / "two")
        helmfix.installed_and_stuck(one, kc1)
        inventory = write_inventory(tmp_path / "inv.yml", {
            "eu": {"stuck_releases_kubeconfig": str(kc1), "eu_timeout": 30},
            "us": {"stuck_releases_kubeconfig": str(kc2)}})
        play = tmp_path / "play.yml"
        play.write_text(yaml.safe_dump([{
            "name": "Report", "hosts": "helm_clusters", "connection": "local", "gather_facts": False,
            "module_defaults": {"group/helmops.unstick.helm": {"request_timeout": "{{ eu_timeout }}"}},
            "roles": [{"role": "helmops.unstick.stuck_releases"}]}]))
        two.reset_stats()
        run = run_playbook(tmp_path, play, inventory, dict(COMMON, stuck_releases_report_dir="r"))
        assert run.rc == 2 and run.recap["us"]["failed"] == 1 and run.recap["eu"]["failed"] == 0, run.text
        assert two.stats()["requests"] == 0
        data = json.loads(report_files(tmp_path / "r")["json"].read_text())
        clusters = dict((c["host"], c) for c in data["clusters"])
        assert clusters["eu"]["ok"] and data["summary"]["stuck"] == 1, data
        assert not clusters["us"]["ok"] and "eu_timeout" in clusters["us"]["message"], clusters["us"]
