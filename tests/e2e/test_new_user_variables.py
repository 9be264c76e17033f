# SPDX-License-Identifier: GPL-3.0-or-later
"""Role variables as a new user types them (issue 26): ``-e stuck_releases_min_age=5`` (seconds or minutes?) fails
first naming the variable, before any request; a misspelled ``stuck_releases_namespace`` is warned about (by each
cluster's task, shown once per run), with the name meant."""

import subprocess

import pytest

from fleet_run import PLAYBOOK_BIN, PlaybookRun, write_inventory
from localkube import LocalKube
from playbook_run import ROOT

pytestmark = pytest.mark.slow


def playbook(tmp_path, inventory, *extra):
    cmd = [str(PLAYBOOK_BIN), "-i", str(inventory), str(ROOT / "playbooks" / "report.yml")]
    for e in extra:
        cmd += ["-e", e]
    return PlaybookRun(subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path), timeout=300))


# without the gate a cluster that cannot be checked is an ignored failure; bad input never is
@pytest.mark.parametrize("gate", ["true", "false"])
def test_min_age_without_unit_fails_first_naming_the_variable(tmp_path, gate):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kc")
        inventory = write_inventory(tmp_path / "inv.yml", {"eu": {"stuck_releases_kubeconfig": str(kc)}})
        kube.reset_stats()
        run = playbook(tmp_path, inventory, "stuck_releases_min_age=5", "stuck_releases_fail_on_stuck=%s" % gate)
        text = " ".join(run.text.split())
        assert run.rc == 2 and run.recap["eu"]["failed"] == 1, run.text
        assert "stuck_releases_min_age" in text and "'5' has no unit: write 5s for seconds" in text, \
            run.text
        assert kube.stats()["requests"] == 0
        ok = playbook(tmp_path, inventory, "stuck_releases_min_age=5m", "stuck_releases_fail_on_stuck=%s" % gate)
        assert ok.rc == 0, ok.text


def test_a_misspelled_variable_is_warned_about(tmp_path):
    with LocalKube() as kube:
        kc = kube.write_kubeconfig(tmp_path / "kc")
        inventory = write_inventory(tmp_path / "inv.yml", {"eu": {"stuck_releases_kubeconfig": str(kc),
                                                                  "stuck_releases_exclude_namespace": ["kube-system"]},
                                                           "us": {"stuck_releases_kubeconfig": str(kc)}})
        run = playbook(tmp_path, inventory, '{"stuck_releases_namespace": ["shop"]}')
        text = " ".join(run.text.split())
        assert run.rc == 0, run.text
        assert "stuck_releases_namespace is not a variable of this role and is ignored (did you mean " \
               "stuck_releases_namespaces?)" in text, run.text
        assert "stuck_releases_exclude_namespace is not a variable of this role and is ignored (did you mean " \
               "stuck_releases_exclude_namespaces?)" in text, run.text
        assert "stuck_releases_kubeconfig is not" not in text and "stuck_releases_run is not" not in text
        # both clusters' tasks saw the extra variable: the warning is shown once
        assert text.count("stuck_releases_namespace is not a variable") == 1, run.text
