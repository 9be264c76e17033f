# SPDX-License-Identifier: GPL-3.0-or-later
"""The example inventories under playbooks/inventory/ (ini and yaml) load with ansible-inventory, describe
the same fleet, and carry the role's variables to each host; the playbooks accept them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = ROOT / "playbooks" / "inventory"


def inventory(name):
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(EXAMPLES / name), "--list"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", ["clusters.ini", "clusters.yml"])
def test_example_inventory_loads(name):
    data = inventory(name)
    assert sorted(data["helm_clusters"]["children"]) == ["production", "staging"]
    assert sorted(data["production"]["hosts"]) == ["prod-eu-1", "prod-us-1"]
    assert data["staging"]["hosts"] == ["staging-1"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["prod-eu-1"]["stuck_releases_context"] == "prod-eu-1"
    assert hostvars["prod-us-1"]["stuck_releases_kubeconfig"] == "~/.kube/prod.yaml"
    assert str(hostvars["prod-eu-1"]["stuck_releases_max_remediations"]) == "3"
    assert hostvars["prod-eu-1"]["stuck_releases_min_age"] == "30m"
    assert "stuck_releases_max_remediations" not in hostvars["staging-1"]      # production only
    assert hostvars["staging-1"]["stuck_releases_host"] == "https://api.staging.example:6443"
    for host in ("prod-eu-1", "prod-us-1", "staging-1"):
        assert hostvars[host]["stuck_releases_backup_dir"] == "/var/backups/helm-unstick"


@pytest.mark.parametrize("name", ["clusters.ini", "clusters.yml"])
@pytest.mark.parametrize("playbook", ["report.yml", "remediate.yml"])
def test_playbooks_accept_the_example_inventory(name, playbook):
    def run(*args):
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(EXAMPLES / name)] + list(args)
                              + [str(ROOT / "playbooks" / playbook)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout
    run("--syntax-check")
    listed = run("--list-hosts")
    assert "hosts (3)" in listed and "prod-eu-1" in listed and "staging-1" in listed, listed
