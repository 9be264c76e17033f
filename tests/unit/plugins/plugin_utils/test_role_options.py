# SPDX-License-Identifier: GPL-3.0-or-later
"""helm_unstick's options from the stuck_releases role's variables (the helm_unstick action's role mode)."""

import os

from ansible_collections.helmops.unstick.plugins.plugin_utils.role_options import role_options, unknown_variables

DEFAULTS = {"stuck_releases_remediate": False, "stuck_releases_min_age": "1h", "stuck_releases_strategy": "rollback",
            "stuck_releases_namespaces": [], "stuck_releases_backup_dir": "", "stuck_releases_backup": [],
            "stuck_releases_storage_driver": "", "stuck_releases_sql_connection_string": "",
            "stuck_releases_max_remediations": None}


def options(variables, environ=None):
    return role_options(variables.get, environ or {})


def test_unset_variables_are_left_out_and_the_connection_merged():
    out = options(dict(DEFAULTS, stuck_releases_connection={"kubeconfig": "/k", "context": "a"},
                       stuck_releases_context="b", stuck_releases__run_id="r1"))
    assert out == {"kubeconfig": "/k", "context": "b", "remediate": False, "min_age": "1h", "strategy": "rollback",
                   "namespaces": [], "backup": ["cluster"], "fail_on_error": False, "run_id": "r1"}


def test_a_survey_string_of_namespaces_is_split_and_remediate_is_a_boolean():
    out = options(dict(DEFAULTS, stuck_releases_namespaces="shop, team-*  web", stuck_releases_remediate="yes"))
    assert out["namespaces"] == ["shop", "team-*", "web"] and out["remediate"] is True


def test_backups_go_to_files_with_a_directory_and_nowhere_by_default_with_sql(tmp_path):
    out = options(dict(DEFAULTS, stuck_releases_backup_dir="backups"))
    assert out["backup"] == ["file"] and out["backup_dir"] == os.path.join(os.getcwd(), "backups")
    assert options(dict(DEFAULTS, stuck_releases_storage_driver="sql"))["backup"] == []
    assert options(DEFAULTS, environ={"HELM_DRIVER": "sql"})["backup"] == []
    assert options(dict(DEFAULTS, stuck_releases_backup=["file", "cluster"], stuck_releases_backup_dir=str(tmp_path))
                   )["backup"] == ["file", "cluster"]


def test_unknown_variables_name_the_misspelled_ones_and_the_name_meant():
    names = ["stuck_releases_namespace", "stuck_releases_namespaces", "stuck_releases__run_id", "other_namespace",
             "stuck_releases_zzz"]
    assert unknown_variables(names, "stuck_releases_", ["stuck_releases_namespaces"]) == {
        "stuck_releases_namespace": "stuck_releases_namespace is not a variable of this role and is ignored (did "
                                    "you mean stuck_releases_namespaces?)",
        "stuck_releases_zzz": "stuck_releases_zzz is not a variable of this role and is ignored"}
    assert unknown_variables(["stuck_releases_namespaces"], "stuck_releases_", ["stuck_releases_namespaces"]) == {}
