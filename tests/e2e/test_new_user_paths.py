# SPDX-License-Identifier: GPL-3.0-or-later
"""Relative paths in a hand-written inventory (issue 26): resolved against the directory ansible-playbook was
started in (its working directory, whatever $PWD says), for the collection's own playbooks too (whose modules run
inside the installed collection); a file that is not there is named by its full path; the fleet report's default
directory is under the working directory even with a stale $PWD."""

import json

import pytest
import yaml

from fleet_run import run_playbook
from localkube import LocalKube

pytestmark = pytest.mark.slow


def test_relative_kubeconfig_and_report_dir_from_where_ansible_playbook_started(tmp_path):
    with LocalKube() as kube:
        (tmp_path / "kube").mkdir()
        kube.write_kubeconfig(tmp_path / "kube" / "config")
        work, inventories = tmp_path / "work", tmp_path / "inventories"
        work.mkdir()
        inventories.mkdir()
        inventory = inventories / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": {
            "eu": {"stuck_releases_kubeconfig": "../kube/config", "stuck_releases_backup_dir": "backups"},
            "gone": {"stuck_releases_kubeconfig": "../kube/gone"}}}}))
        stale = tmp_path / "stale"
        run = run_playbook(work, "helmops.unstick.report", inventory, env={"PWD": str(stale)})
        report = work / "helm-stuck-report" / "stuck-releases.json"
        assert report.is_file() and not stale.exists(), run.text
        clusters = dict((c["host"], c) for c in json.loads(report.read_text())["clusters"])
        assert clusters["eu"]["checked"] is True, clusters["eu"]
        assert clusters["gone"]["checked"] is False
        assert "kubeconfig 'gone' in %s is missing or not readable" % (tmp_path / "kube") in clusters["gone"]["message"], \
            clusters["gone"]["message"]
