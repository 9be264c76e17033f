# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""options.validate: every bad option fails first, naming the option and its value."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import OptionError
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate

GOOD = dict(storage_driver=None, min_age="15m", timeout="5m", request_timeout="60s", max_remediations=None,
            backup_dir=None, namespaces=["shop", "team-*"], exclude_namespaces=[], releases=["web*"],
            exclude_releases=[])


def test_good_options():
    settings = validate(GOOD, {})
    assert (settings.driver, settings.min_age, settings.timeout, settings.request_timeout) == ("secret", 900, 300, 60)


@pytest.mark.parametrize("option,value,words", [
    ("min_age", "abc", "min_age: invalid duration 'abc'"),
    ("timeout", "abc", "timeout: invalid duration 'abc'"),
    ("timeout", "0s", "timeout: must be at least 1 second, got '0s'"),
    ("request_timeout", "-1", "request_timeout: invalid duration '-1': must not be negative"),
    ("max_remediations", -1, "max_remediations: must be 0 or more, got -1"),
    ("namespaces", ["Shop!"], "namespaces: 'Shop!' is not a namespace name or glob"),
    ("releases", [""], "releases: empty release name or glob"),
    ("storage_driver", "memory", "storage_driver: storage driver 'memory' is not supported"),
    ("storage_driver", "sql", "sql_connection_string: the sql driver needs a connection string"),
    ("sql_connection_string", "mysql://u@h/db", "sql_connection_string: sql_connection_string: a connection URL"),
])
def test_bad_option_is_named_with_its_value(option, value, words):
    params = dict(GOOD, **{option: value})
    if option == "sql_connection_string":
        params["storage_driver"] = "sql"
    with pytest.raises(OptionError) as err:
        validate(params, {})
    assert str(err.value).startswith(words), str(err.value)
    assert err.value.option == ("sql_connection_string" if value == "sql" else option)
    assert "mysql://u@h" not in str(err.value)      # a connection string may hold a password


def test_helm_driver_from_the_environment_is_named():
    with pytest.raises(OptionError) as err:
        validate(GOOD, {"HELM_DRIVER": "memory"})
    assert err.value.option == "HELM_DRIVER"


def test_backup_dir_must_be_writable(tmp_path):
    assert validate(dict(GOOD, backup_dir=str(tmp_path / "new" / "dir")), {}).backup_dir == str(tmp_path / "new" / "dir")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OptionError) as err:
        validate(dict(GOOD, backup_dir=str(blocker / "sub")), {})
    assert "backup_dir: %s is not a directory" % blocker in str(err.value)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:   # root may write anywhere; the e2e test covers it with setpriv
        with pytest.raises(OptionError):
            validate(dict(GOOD, backup_dir=str(locked / "b")), {})
    assert not (tmp_path / "new").exists()   # validation creates nothing


@pytest.mark.parametrize("given,env,option,needed", [
    ({"client_cert": "/c.pem"}, {}, "client_cert", "client_key"),
    ({"client_key": "/k.pem"}, {}, "client_key", "client_cert"),
    ({"username": "admin"}, {}, "username", "password"),
    ({}, {"K8S_AUTH_PASSWORD": "s3cret"}, "password", "username"),
    ({"impersonate_groups": ["ops"]}, {}, "impersonate_groups", "impersonate_user"),
])
def test_connection_options_that_need_each_other(given, env, option, needed):
    with pytest.raises(OptionError) as err:
        validate(given, env)
    assert err.value.option == option and "%s is set but %s is not" % (option, needed) in str(err.value)
    assert "s3cret" not in str(err.value) and "s3cret" not in repr(err.value.value)


def test_complete_connection_pairs_pass():
    validate({"client_cert": "/c", "client_key": "/k", "username": "u", "password": "p",
              "impersonate_user": "me", "impersonate_groups": ["ops"]}, {})


def test_sql_connection_string_from_the_option_or_helms_variable():
    dsn = "postgres://helm:s3cret@db.example:5433/helm?sslmode=disable"
    settings = validate(dict(GOOD, storage_driver="sql", sql_connection_string=dsn), {})
    assert (settings.driver, settings.sql.source, settings.sql.label) == (
        "sql", "sql_connection_string", "db.example:5433/helm")
    from_env = validate(GOOD, {"HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": "host=db user=helm"})
    assert (from_env.driver, from_env.sql.source, from_env.sql.label) == (
        "sql", "HELM_DRIVER_SQL_CONNECTION_STRING", "db:5432/helm")
    assert validate(GOOD, {"HELM_DRIVER_SQL_CONNECTION_STRING": "host=db"}).sql is None   # secret driver: unused


def test_a_bad_connection_string_never_shows_its_password():
    with pytest.raises(OptionError) as err:
        validate(dict(GOOD, storage_driver="sql"), {"HELM_DRIVER_SQL_CONNECTION_STRING": "password='s3cret host=db"})
    assert err.value.option == "HELM_DRIVER_SQL_CONNECTION_STRING" and "s3cret" not in str(err.value)
    assert "unterminated quoted value" in str(err.value) and err.value.value == "(set)"


# -- helm_guard --------------------------------------------------------------
GUARD = dict(phase="before", namespace="shop", release="web", min_age="15m", timeout="5m", request_timeout="60s",
             cluster_timeout="30m", min_helm_version="3.8.0")


def test_guard_options():
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate_guard
    guard = validate_guard(GUARD, {})
    assert (guard.run.driver, guard.run.min_age, guard.min_helm_version) == ("secret", 900, (3, 8, 0))
    assert (guard.phase, guard.namespace, guard.release, guard.rescue, guard.chart) == ("before", "shop", "web", True, "")
    after = validate_guard(dict(GUARD, phase="after", from_revision=0, good_revision=2, rescue=False, chart="./web",
                                upgrade_failure={"msg": "boom"}), {})
    assert after.run.timeout == 300
    assert (after.from_revision, after.good_revision, after.rescue, after.chart, after.upgrade_failure) == (
        0, 2, False, "./web", {"msg": "boom"})


@pytest.mark.parametrize("option,value,words", [
    ("namespace", " ", "namespace: must not be empty"),
    ("release", "", "release: must not be empty"),
    ("namespace", "Shop!", "namespaces: 'Shop!' is not a namespace name or glob"),
    ("min_age", "soon", "min_age: invalid duration 'soon'"),
    ("min_helm_version", "latest", "min_helm_version: not a version such as 3.8.0"),
    ("from_revision", None, "from_revision: phase after needs the revision the upgrade started from"),
    ("from_revision", -1, "from_revision: phase after needs the revision the upgrade started from"),
    ("good_revision", 0, "good_revision: must be a revision number (1 or more)"),
])
def test_bad_guard_options(option, value, words):
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate_guard
    params = dict(GUARD, phase="after", from_revision=2)
    params[option] = value
    with pytest.raises(OptionError) as err:
        validate_guard(params, {})
    assert str(err.value).startswith(words)


def test_guard_reads_records_from_kubernetes_only():
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate_guard
    assert validate_guard(GUARD, {"HELM_DRIVER": "configmaps"}).run.driver == "configmap"
    with pytest.raises(OptionError, match="storage driver 'memory' is not supported"):
        validate_guard(GUARD, {"HELM_DRIVER": "memory"})
    with pytest.raises(OptionError, match="storage_driver: the guard reads the release's records from Kubernetes"):
        validate_guard(dict(GUARD, storage_driver="sql", sql_connection_string="postgres://helm@db/helm"), {})


def test_helm_release_says_it_does_not_read_the_sql_driver():
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate_release
    with pytest.raises(OptionError) as err:
        validate_release({"namespace": "shop", "release": "web"}, {"HELM_DRIVER": "sql"})
    assert err.value.option == "HELM_DRIVER" and "read by helm_unstick only" in str(err.value)


@pytest.mark.parametrize("params, option, words", [
    ({"backup": ["tape"]}, "backup", "must be file or cluster"),
    ({"backup": ["file"]}, "backup", "file backups need backup_dir"),
    ({"backup": ["cluster"], "storage_driver": "sql", "sql_connection_string": "postgres://h/db"}, "backup",
     "database rows"),
    ({"backup_keep": 0}, "backup_keep", "must be 1 or more"),
])
def test_bad_backup_options_are_named(params, option, words):
    with pytest.raises(OptionError) as err:
        validate(params, {})
    assert err.value.option == option and words in str(err.value)


def test_backup_places(tmp_path):
    assert validate({}, {}).backup == ()
    assert validate({"backup_dir": str(tmp_path)}, {}).backup == ("file",)          # as before
    both = validate({"backup": ["cluster", "file", "cluster"], "backup_dir": str(tmp_path)}, {})
    assert (both.backup, both.backup_keep, both.events, both.liveness_checks) == (("cluster", "file"), 5, True, True)


def test_restore_options(tmp_path):
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.options import validate_restore
    got = validate_restore({"run": "abc"}, {})
    assert (got.driver, got.source, got.since) == ("secret", "cluster", None)
    assert validate_restore({"since": "2h"}, {}, now=10000).since == 10000 - 7200
    assert validate_restore({"since": "2026-12-03T10:00:00Z"}, {}).since == 1796292000
    for params, option in (({}, "releases"), ({"since": "yesterday"}, "since"), ({"releases": ["we*"]}, "releases"),
                           ({"run": "a", "source": "file"}, "backup_dir"),
                           ({"run": "a", "storage_driver": "sql"}, "storage_driver")):
        with pytest.raises(OptionError) as err:
            validate_restore(params, {})
        assert err.value.option == option, params
    assert validate_restore({"run": "a", "source": "file", "backup_dir": str(tmp_path)}, {}).backup_dir == str(tmp_path)
