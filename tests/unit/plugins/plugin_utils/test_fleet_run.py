# SPDX-License-Identifier: GPL-3.0-or-later
"""What one ansible-playbook run's clusters share: the run id, each cluster's result kept for the fleet report,
and one report per set of results."""

import os

import pytest

from ansible_collections.helmops.unstick.plugins.plugin_utils import fleet_run


@pytest.fixture
def spool(tmp_path, monkeypatch):
    monkeypatch.setattr(fleet_run, "SPOOL", str(tmp_path / "spool"))
    return tmp_path / "spool"


def test_a_result_kept_is_read_back_whole_and_only_for_its_role(spool):
    result = {"changed": False, "releases": [{"name": "web", "state": "stuck"}], "run_id": fleet_run.RUN_ID}
    fleet_run.spool_result("role-1", "eu", result)
    fleet_run.spool_result("role-1", "odd/host name", {"failed": True, "msg": "x"})
    assert fleet_run.spooled_results("role-1", ["eu", "us", "odd/host name"]) == {
        "eu": result, "odd/host name": {"failed": True, "msg": "x"}}
    assert fleet_run.spooled_results("role-2", ["eu"]) == {}
    # private to this user, and nothing half-written left behind
    assert (os.stat(str(spool)).st_mode & 0o777) == 0o700
    assert sorted(p.name for p in (spool / "role-1").iterdir()) == ["eu.json", "odd%2fhost%20name.json"]


def test_a_spool_that_is_not_this_users_private_directory_is_refused(spool):
    spool.mkdir(mode=0o755)
    os.chmod(str(spool), 0o755)
    with pytest.raises(OSError, match="private directory"):
        fleet_run.spool_result("role-1", "eu", {})


def test_one_report_per_set_of_results(spool):
    runs = {"eu": {"changed": False}, "us": {"changed": True}}
    assert fleet_run.claim_report("role-1", runs) is True
    assert fleet_run.claim_report("role-1", dict(runs)) is False      # another host, the same results
    assert fleet_run.claim_report("role-1", dict(runs, ap={"changed": False})) is True   # a later serial batch


def test_the_run_id_is_twelve_hex_digits():
    assert len(fleet_run.RUN_ID) == 12 and int(fleet_run.RUN_ID, 16) >= 0
