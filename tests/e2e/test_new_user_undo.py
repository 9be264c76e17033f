# SPDX-License-Identifier: GPL-3.0-or-later
"""Undo as a new user meets it (issue 26): one run id for every cluster of a playbook run, shown in the summary,
the fleet report and the job's stats; restore.yml finds the backups where the role wrote them (in the cluster by
default, files when the inventory says so), hints where else to look, notes a file restore without a word about the
cluster, and says "already restored" the second time."""

import json

import pytest

import helmfix
from fleet_run import run_playbook, write_inventory
from localkube import LocalKube
from playbook_run import HELM_BIN, ROOT

pytestmark = pytest.mark.slow

COMMON = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s",
          "stuck_releases_strategy": "unlock"}


def status(kube, ns, name, rev):
    return kube.store.get("secrets", ns, "sh.helm.release.v1.%s.v%d" % (name, rev))["metadata"]["labels"]["status"]


def test_one_run_id_over_two_clusters_and_restore_finds_the_backups(tmp_path):
    with LocalKube() as eu, LocalKube() as us:
        kc_eu, kc_us = eu.write_kubeconfig(tmp_path / "eu.kubeconfig"), us.write_kubeconfig(tmp_path / "us.kubeconfig")
        rev_eu, rev_us = helmfix.installed_and_stuck(eu, kc_eu, "web", "shop"), helmfix.installed_and_stuck(us, kc_us, "api", "shop")
        inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {"stuck_releases_kubeconfig": str(kc_eu)},
                                                                 "us": {"stuck_releases_kubeconfig": str(kc_us)}})
        report_dir = tmp_path / "reports"
        run = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                           dict(COMMON, stuck_releases_report_dir=str(report_dir)),
                           env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
        assert run.rc == 0 and status(eu, "shop", "web", rev_eu) == "failed", run.text
        report = json.loads((report_dir / "stuck-releases.json").read_text())
        # one id for the run, on both clusters; backups kept in the cluster by default (no backup_dir set)
        [run_id] = report["summary"]["run_ids"]
        assert [c["run_id"] for c in report["clusters"]] == [run_id, run_id], report["clusters"]
        assert "restore_run=%s" % run_id in run.stdout, run.stdout                       # the summary
        assert run.stdout.count('"run_ids"') >= 1 and run_id in run.stdout.split("CUSTOM STATS")[-1], run.stdout
        assert any(o["metadata"]["name"].endswith(".%s" % run_id) for o in us.store.list("secrets", "shop"))

        undo = run_playbook(tmp_path, "helmops.unstick.restore", inventory, {"restore_run": run_id})
        assert undo.rc == 0 and undo.recap["eu"]["changed"] == 1 and undo.recap["us"]["changed"] == 1, undo.text
        assert status(eu, "shop", "web", rev_eu) == "pending-upgrade"
        assert status(us, "shop", "api", rev_us) == "pending-upgrade"


def test_file_backups_found_without_saying_where_and_restored_once(tmp_path):
    with LocalKube() as eu:
        kc = eu.write_kubeconfig(tmp_path / "eu.kubeconfig")
        rev = helmfix.installed_and_stuck(eu, kc, "web", "shop")
        backups = tmp_path / "backups"
        inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {"stuck_releases_kubeconfig": str(kc),
                                                                        "stuck_releases_backup_dir": str(backups)}})
        run = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                           dict(COMMON, stuck_releases_report_dir=str(tmp_path / "reports")))
        assert run.rc == 0 and status(eu, "shop", "web", rev) == "failed", run.text
        assert not [o for o in eu.store.list("secrets", "shop") if o["type"] == "helmops.unstick/backup"]

        # the cluster holds no backup: the message says where it looked and where else to look
        wrong = run_playbook(tmp_path, "helmops.unstick.restore", inventory,
                             {"restore_releases": ["web"], "restore_source": "cluster"})
        assert wrong.rc != 0 and "restore_source=file" in wrong.stdout, wrong.text

        undo = run_playbook(tmp_path, "helmops.unstick.restore", inventory, {"restore_releases": ["web"]})
        assert undo.rc == 0 and undo.recap["eu"]["changed"] == 1 and "web: restored" in undo.stdout, undo.text
        assert "could not note the restore" not in undo.text and "[WARNING]" not in undo.stdout, undo.text
        assert status(eu, "shop", "web", rev) == "pending-upgrade"

        again = run_playbook(tmp_path, "helmops.unstick.restore", inventory, {"restore_releases": ["web"]})
        assert again.rc == 0 and again.recap["eu"]["changed"] == 0, again.text
        assert "already restored" in again.stdout, again.text
