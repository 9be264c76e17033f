# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.helm_cli import HelmCli, HelmError


class Runner:
    def __init__(self, rc=0, out="", err=""):
        self.calls = []
        self.rc, self.out, self.err = rc, out, err

    def __call__(self, cmd, environ_update=None):
        self.calls.append((cmd, dict(environ_update or {})))
        return self.rc, self.out, self.err


def test_token_goes_through_env_never_argv(monkeypatch):
    for var in ("K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT", "K8S_AUTH_KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)
    run = Runner()
    helm = HelmCli("/usr/bin/helm", {"host": "https://k:6443", "api_key": "tok-123", "ca_cert": "/ca.pem",
                                     "validate_certs": False, "impersonate_groups": ["a", "b"]},
                   "configmap", run)
    helm.rollback("shop", "cart", 6, True, 300)
    cmd, env = run.calls[0]
    assert cmd[:5] == ["/usr/bin/helm", "rollback", "cart", "6", "--namespace"]
    assert "--wait" in cmd and cmd[cmd.index("--timeout") + 1] == "300s"
    assert cmd[cmd.index("--kube-apiserver") + 1] == "https://k:6443"
    assert cmd[cmd.index("--kube-ca-file") + 1] == "/ca.pem"
    assert "--kube-insecure-skip-tls-verify" in cmd
    assert cmd.count("--kube-as-group") == 2
    assert "tok-123" not in " ".join(cmd)
    assert env == {"HELM_DRIVER": "configmap", "HELM_KUBETOKEN": "tok-123"}


K8S_ENV = ("K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CA_CERT",
           "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL", "KUBECONFIG")


def helm_from_env(monkeypatch, **env):
    """HelmCli built the way the module builds it: from auth.connection_options (env fallbacks)."""
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.auth import connection_options
    for var in K8S_ENV:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    run = Runner()
    HelmCli("helm", connection_options({}), "secret", run).uninstall("ns", "rel", False, 60)
    return run.calls[0]


def test_k8s_auth_env_fallbacks(monkeypatch):
    cmd, _ = helm_from_env(monkeypatch, K8S_AUTH_KUBECONFIG="/k/config", K8S_AUTH_CONTEXT="prod")
    assert cmd[cmd.index("--kubeconfig") + 1] == "/k/config"
    assert cmd[cmd.index("--kube-context") + 1] == "prod"
    assert "--wait" not in cmd


@pytest.mark.parametrize("ca_var,verify_var", [("K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL"),   # what AWX injects
                                               ("K8S_AUTH_CA_CERT", "K8S_AUTH_VALIDATE_CERTS")])
def test_every_env_spelling_kubernetes_core_accepts_reaches_helm(monkeypatch, ca_var, verify_var):
    cmd, env = helm_from_env(monkeypatch, K8S_AUTH_HOST="https://k:6443", K8S_AUTH_API_KEY="tok-7",
                             **{ca_var: "/ca.pem", verify_var: "false"})
    assert cmd[cmd.index("--kube-apiserver") + 1] == "https://k:6443"
    assert cmd[cmd.index("--kube-ca-file") + 1] == "/ca.pem"
    assert "--kube-insecure-skip-tls-verify" in cmd
    assert env["HELM_KUBETOKEN"] == "tok-7" and "tok-7" not in " ".join(cmd)


def test_verify_on_by_default_and_when_said_so(monkeypatch):
    for value in (None, "true", "yes"):
        extra = {"K8S_AUTH_VERIFY_SSL": value} if value else {}
        cmd, _ = helm_from_env(monkeypatch, K8S_AUTH_HOST="https://k:6443", **extra)
        assert "--kube-insecure-skip-tls-verify" not in cmd


def test_multi_file_kubeconfig_pins_kubectls_context_for_helm_too(monkeypatch, tmp_path):
    import os
    (tmp_path / "a").write_text("current-context: first\n")
    (tmp_path / "b").write_text("current-context: second\n")
    joined = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    cmd, _ = helm_from_env(monkeypatch, KUBECONFIG=joined)
    assert cmd[cmd.index("--kube-context") + 1] == "first"


def test_failure_message_masks_token(monkeypatch):
    monkeypatch.delenv("K8S_AUTH_HOST", raising=False)
    run = Runner(rc=1, err="Error: Unauthorized token tok-999 rejected")
    helm = HelmCli("helm", {"api_key": "tok-999"}, "secret", run)
    with pytest.raises(HelmError) as err:
        helm.rollback("ns", "rel", 1, False, 1)
    assert "tok-999" not in str(err.value) and "Unauthorized" in str(err.value)


def test_in_memory_kubeconfig_written_privately_and_removed(tmp_path, monkeypatch):
    import os
    import stat
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    run = Runner()
    helm = HelmCli("helm", {"kubeconfig": {"apiVersion": "v1", "clusters": []}}, "secret", run)
    path = helm.args[helm.args.index("--kubeconfig") + 1]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    helm.close()
    assert not os.path.exists(path)


def test_version_parsing():
    assert HelmCli("helm", {}, "secret", Runner(out="v3.14.2")).version() == (3, 14, 2)
    assert HelmCli("helm", {}, "secret", Runner(out="v4.2.3+g1234")).version() == (4, 2, 3)
