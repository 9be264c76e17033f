# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection options the way users pass them: several kubeconfig files joined
by ':' (as kubectl and kubernetes.core accept), and no kubeconfig at all, only
the K8S_AUTH_* environment variables (what AWX's Kubernetes bearer-token
credential injects), against a TLS + token API server."""

import os

import pytest
import yaml

import helmfix
from localkube import LocalKube

pytestmark = pytest.mark.slow
TOKEN = "auth-env-t0ken"


@pytest.fixture
def tls_kube(tmp_path):
    with LocalKube(tls=True, tokens={TOKEN: None}) as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "tls-kubeconfig"))
        yield server


def second_kubeconfig(path, kube):
    """A kubeconfig whose cluster, user and context names differ from the first file's."""
    with open(kube.ca_file) as handle:
        ca = handle.read()
    import base64
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "second",
        "clusters": [{"name": "second-cluster", "cluster": {
            "server": kube.url, "certificate-authority-data": base64.b64encode(ca.encode()).decode()}}],
        "users": [{"name": "second-user", "user": {"token": TOKEN}}],
        "contexts": [{"name": "second", "context": {"cluster": "second-cluster", "user": "second-user"}}]}))
    return str(path)


def isolated_env(tmp_path, **extra):
    """No ~/.kube/config or KUBECONFIG of the machine may leak into the run."""
    env = {"HOME": str(tmp_path / "home"), "KUBECONFIG": "", "K8S_AUTH_KUBECONFIG": ""}
    env.update(extra)
    return env


def test_several_kubeconfig_files_joined_by_pathsep(tmp_path, kube, tls_kube, unstick):
    helmfix.installed_and_stuck(kube, kube.kubeconfig, "first-app", "apps")
    second = second_kubeconfig(tmp_path / "second.yaml", tls_kube)
    helmfix.installed_and_stuck(tls_kube, second, "second-app", "apps")
    both = os.pathsep.join([kube.kubeconfig, second])

    # no context: the first file's current-context, as kubectl does
    first = unstick({"kubeconfig": both, "remediate": False}, env=isolated_env(tmp_path))
    assert first.rc == 0, first.text
    assert first["cluster"] == "localkube"
    assert [r["name"] for r in first["stuck"]] == ["first-app"]

    # a context defined only in the second file, over TLS with its token
    run = unstick({"kubeconfig": both, "context": "second", "strategy": "unlock"}, env=isolated_env(tmp_path))
    assert run.rc == 0, run.text
    assert run["cluster"] == "second"
    assert [(r["name"], r["action"]) for r in run["remediated"]] == [("second-app", "unlock")]
    assert helmfix.newest(tls_kube, "apps", "second-app")[1] == "failed"
    assert helmfix.newest(kube, "apps", "first-app")[1] == "pending-upgrade"    # the other cluster untouched


def test_a_missing_file_among_several_is_named(tmp_path, kube, unstick):
    both = os.pathsep.join([kube.kubeconfig, str(tmp_path / "gone" / "prod.yaml")])
    run = unstick({"kubeconfig": both, "remediate": False}, env=isolated_env(tmp_path))
    assert run["failed"]
    assert "'prod.yaml' in %s" % (tmp_path / "gone") in run["msg"] and "not readable" in run["msg"]


def test_only_k8s_auth_environment_variables(tmp_path, tls_kube, unstick):
    env = helmfix.HelmEnv(tls_kube.kubeconfig)
    helmfix.stuck_upgrade(env, tls_kube, "web", "shop")
    auth = isolated_env(tmp_path, K8S_AUTH_HOST=tls_kube.url, K8S_AUTH_API_KEY=TOKEN,
                        K8S_AUTH_SSL_CA_CERT=tls_kube.ca_file, K8S_AUTH_VERIFY_SSL="true")
    run = unstick({"strategy": "unlock"}, env=auth)
    assert run.rc == 0, run.text
    assert run["cluster"] == tls_kube.url                    # named by the host it was given
    assert [(r["namespace"], r["name"]) for r in run["remediated"]] == [("shop", "web")]
    assert TOKEN not in run.text                             # the token is never shown
    env.upgrade("web", "shop")                               # real Helm is unblocked
    assert env.history("web", "shop")[-1]["status"] == "deployed"


def test_wrong_token_in_the_environment_fails_clearly(tmp_path, tls_kube, unstick):
    auth = isolated_env(tmp_path, K8S_AUTH_HOST=tls_kube.url, K8S_AUTH_API_KEY="expired-token",
                        K8S_AUTH_SSL_CA_CERT=tls_kube.ca_file)
    run = unstick({"remediate": False}, env=auth)
    assert run["failed"]
    assert tls_kube.url in run["msg"] and "401" in run["msg"]
    assert "expired-token" not in run.text
