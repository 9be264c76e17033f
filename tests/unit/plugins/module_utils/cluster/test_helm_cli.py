# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HelmCli: helm always gets the one connection (private kubeconfig, --kube-context), never the
controller's helm environment, and a binary it cannot use is named with what was found."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest
import yaml

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import HelmError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import HelmCli, parse_version
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection


class Recorder:
    """Runs nothing; remembers each call and what the private kubeconfig held at that moment."""

    def __init__(self, rc=0, out="", err=""):
        self.calls = []
        self.rc, self.out, self.err = rc, out, err

    def __call__(self, argv, env, timeout):
        seen = {}
        if "--kubeconfig" in argv:
            path = argv[argv.index("--kubeconfig") + 1]
            seen = {"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode),
                    "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
                    "doc": yaml.safe_load(open(path))}
        self.calls.append((argv, env, timeout, seen))
        return self.rc, self.out, self.err


def helm(run, environ=None, version=(4, 2, 4), **params):
    conn = connection.resolve(dict({"host": "https://k:6443", "api_key": "tok-123"}, **params), {})
    cli = HelmCli("/usr/bin/helm", conn, "configmap", run, environ=environ or {"PATH": "/bin"})
    cli.version = version
    return cli


def test_private_kubeconfig_and_context_always_and_no_helm_env():
    run = Recorder()
    environ = {"PATH": "/bin", "HELM_KUBECONTEXT": "eu-prod", "HELM_KUBETOKEN": "other", "KUBECONFIG": "/x",
               "HELM_NAMESPACE": "kube-system", "HELM_KUBEAPISERVER": "https://evil"}
    helm(run, environ).rollback("shop", "cart", 6, True, 300)
    argv, env, timeout, seen = run.calls[0]
    assert argv[:6] == ["/usr/bin/helm", "rollback", "cart", "6", "--namespace", "shop"]
    assert argv[argv.index("--kube-context") + 1] == "helmops-unstick"
    assert "--wait=watcher" in argv and argv[argv.index("--timeout") + 1] == "300s" and timeout == 360
    assert "tok-123" not in " ".join(argv)
    assert env == {"PATH": "/bin", "HELM_DRIVER": "configmap"}
    assert seen["mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert seen["doc"]["clusters"][0]["cluster"]["server"] == "https://k:6443"
    assert seen["doc"]["users"][0]["user"] == {"token": "tok-123"}
    assert not os.path.exists(seen["path"]) and not os.path.exists(os.path.dirname(seen["path"]))


def test_wait_flags_follow_the_helm_version():
    for version, flag in (((3, 21, 4), "--wait"), ((4, 2, 4), "--wait=watcher")):
        run = Recorder()
        helm(run, version=version).uninstall("ns", "rel", True, 60)
        assert flag in run.calls[0][0]
    run = Recorder()
    helm(run).uninstall("ns", "rel", False, 60)
    assert not [a for a in run.calls[0][0] if a.startswith("--wait")]


def test_failure_message_masks_the_token():
    with pytest.raises(HelmError) as err:
        helm(Recorder(rc=1, err="Error: Unauthorized token tok-123 rejected")).rollback("ns", "rel", 1, False, 1)
    assert "tok-123" not in str(err.value) and "Unauthorized token ******** rejected" in str(err.value)


def test_killed_after_its_deadline():
    with pytest.raises(HelmError) as err:
        helm(Recorder(rc=None)).rollback("ns", "rel", 1, False, 1)
    assert "did not finish within 61s and was killed" in str(err.value)


def test_version_parsing():
    assert parse_version("v3.21.4") == (3, 21, 4)
    assert parse_version("v3.21") == (3, 21, None)          # go install without Helm's ldflags
    assert parse_version("v4.2.4+g1234") == (4, 2, 4)
    assert parse_version("garbage") is None


def fake_binary(tmp_path, script):
    path = tmp_path / "helm"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("script,expected", [
    ("echo v2.17.0", "is helm v2.17.0; helm 3.x or 4.x is needed"),
    ("echo hello", "does not look like helm: 'version' printed 'hello'"),
    ("echo boom >&2; exit 3", "does not answer 'version' like helm: boom"),
])
def test_a_binary_it_cannot_use_is_named_with_what_was_found(tmp_path, script, expected):
    path = fake_binary(tmp_path, script)
    conn = connection.resolve({"host": "https://k:6443", "api_key": "t"}, {})
    with pytest.raises(HelmError) as err:
        HelmCli(path, conn, "secret").check()
    assert str(err.value) == "%s %s" % (path, expected)


def test_not_executable(tmp_path):
    path = tmp_path / "helm"
    path.write_text("x")
    conn = connection.resolve({"host": "https://k:6443", "api_key": "t"}, {})
    with pytest.raises(HelmError) as err:
        HelmCli(str(path), conn, "secret").check()
    assert str(err.value) == "%s is not an executable file" % path


def test_supported_version_is_remembered(tmp_path):
    conn = connection.resolve({"host": "https://k:6443", "api_key": "t"}, {})
    cli = HelmCli(fake_binary(tmp_path, "echo v3.21"), conn, "secret")
    assert cli.check() == (3, 21, None) and cli.version == (3, 21, None)


def test_sql_driver_helm_gets_the_same_database_and_never_prints_its_password(tmp_path):
    """storage_driver=sql: helm gets the connection string helm_unstick scanned with (the controller's own
    HELM_DRIVER_SQL_CONNECTION_STRING is replaced), the password is masked; ``version`` needs no database."""
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.conninfo import SqlConnection
    string = "postgres://helm:s3cret@db:5432/helm?sslmode=disable"
    sql = SqlConnection(string, "sql_connection_string", {})
    run = Recorder(rc=1, err="Error: pq: password authentication failed: postgres://helm:s3cret@db; s3cret")
    conn = connection.resolve({"host": "https://k:6443", "api_key": "tok-123"}, {})
    environ = {"PATH": "/bin", "HELM_DRIVER_SQL_CONNECTION_STRING": "postgres://other@elsewhere/x"}
    cli = HelmCli("/usr/bin/helm", conn, "sql", run, environ=environ, storage_environment=sql.helm_environment(),
                  storage_secrets=sql.secrets)
    cli.version = (4, 2, 4)
    with pytest.raises(HelmError) as err:
        cli.rollback("shop", "cart", 6, True, 300)
    env = run.calls[0][1]
    assert (env["HELM_DRIVER"], env["HELM_DRIVER_SQL_CONNECTION_STRING"]) == ("sql", string)
    assert "s3cret" not in str(err.value) and "********" in str(err.value)
    run.rc, run.out = 0, "v4.2.4"
    os.makedirs(str(tmp_path / "bin"))
    binary = tmp_path / "bin" / "helm"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    cli.binary = str(binary)
    cli.check()
    version_env = run.calls[-1][1]
    assert version_env["HELM_DRIVER"] == "secret" and version_env.get("HELM_DRIVER_SQL_CONNECTION_STRING") != string
