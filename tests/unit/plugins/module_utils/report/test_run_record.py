# SPDX-License-Identifier: GPL-3.0-or-later
"""One cluster's fleet-report record from its helm_unstick result (what fleet_report's runs and the role's gate
read)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet
from ansible_collections.helmops.unstick.plugins.module_utils.report.run_record import name_variables, run_record

STUCK = {"namespace": "shop", "name": "web", "revision": 3, "status": "pending-upgrade", "state": "stuck",
         "age_seconds": 5400, "last_good_revision": 2, "action": "rollback"}


def test_a_checked_cluster_keeps_its_releases_and_what_it_was_asked():
    run = {"changed": False, "cluster": "prod", "server": "https://api:6443", "storage_driver": "secret",
           "actor": "ops@ctl", "run_id": "abc", "duration_seconds": 0.2, "releases": [STUCK],
           "scan_warnings": ["namespace 'x' (namespaces) is forbidden"],
           "invocation": {"module_args": {"remediate": True}}}
    record = run_record("eu", run, remediate=False, check_mode=True, prefix="stuck_releases_")
    assert record["checked"] and record["remediate"] is True and record["check_mode"] is True
    assert (record["cluster"], record["server"], record["msg"], record["refused"]) == ("prod", "https://api:6443",
                                                                                       "", "")
    assert record["warnings"] == ["namespace 'x' (stuck_releases_namespaces) is forbidden"]
    cluster = fleet.normalize_cluster("eu", record)
    assert fleet.cluster_problems(cluster) == ["cluster eu: 1 release(s) still stuck"]


def test_a_failed_task_is_a_cluster_that_could_not_be_checked_with_its_message():
    run = {"failed": True, "msg": "min_age (min_age): bad"}
    record = run_record("eu", run, remediate=True, check_mode=False, storage_driver="configmap",
                        prefix="stuck_releases_")
    assert not record["checked"] and record["remediate"] is True and record["storage_driver"] == "configmap"
    assert record["msg"] == "min_age (stuck_releases_min_age): bad" and record["cluster"] == "eu"
    assert fleet.cluster_problems(fleet.normalize_cluster("eu", record))[0].startswith(
        "cluster eu could not be checked: min_age (stuck_releases_min_age)")


def test_a_guard_refusal_is_recorded_as_refused():
    refused = dict(STUCK, state="refused", refused_by="guard")
    run = {"failed": True, "msg": "max_remediations: 5 stuck, at most 2", "releases": [refused]}
    record = run_record("eu", run, remediate=True, check_mode=False)
    assert record["checked"] and record["refused"] == "max_remediations: 5 stuck, at most 2"


def test_names_only_the_options_a_role_sets_and_only_with_a_prefix():
    assert name_variables("x (namespaces) y (kubeconfig)", "p_") == "x (p_namespaces) y (kubeconfig)"
    assert name_variables("x (namespaces)", "") == "x (namespaces)"
    assert name_variables(None, "p_") == ""
