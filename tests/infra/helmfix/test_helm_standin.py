"""The helm CLI stand-in (tests/support/bin/helm) over the real Helm SDK."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

import helmfix

pytestmark = pytest.mark.slow

HELM = str(Path(helmfix.__file__).resolve().parents[1] / "bin" / "helm")


def helm(kube, *args, env=None, ns="shop"):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([HELM, "--kubeconfig", kube.kubeconfig, "-n", ns] + list(args),
                          capture_output=True, text=True, env=full, timeout=120)


def test_version_forms(kube):
    assert helm(kube, "version", "--short").stdout.strip() == "v4.2.3"
    assert helm(kube, "version", "--template", "{{.Version}}").stdout.strip() == "v4.2.3"
    assert 'Version:"v4.2.3"' in helm(kube, "version").stdout


def test_history_status_list_json_shapes(kube, env):
    env.install("web", "shop", values={"auth": {"password": "pw-in-values"}})
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    hist = json.loads(helm(kube, "history", "web", "-o", "json").stdout)
    assert [set(h) for h in hist] == [{"revision", "updated", "status", "chart", "app_version", "description"}] * 2
    assert [(h["revision"], h["status"]) for h in hist] == [(1, "deployed"), (2, "pending-upgrade")]
    assert json.loads(helm(kube, "history", "web", "-o", "json", "--max", "1").stdout)[0]["revision"] == 2
    status = json.loads(helm(kube, "status", "web", "-o", "json").stdout)
    assert status["info"]["status"] == "pending-upgrade" and status["version"] == 2
    rows = json.loads(helm(kube, "list", "-A", "-a", "-o", "json", ns="default").stdout)
    assert rows == [{"name": "web", "namespace": "shop", "revision": "2", "updated": rows[0]["updated"],
                     "status": "pending-upgrade", "chart": "unstick-demo-0.1.0", "app_version": "1.0.0"}]
    assert json.loads(helm(kube, "list", "-A", "-o", "json").stdout) == []   # only deployed without -a
    assert "pending-upgrade" in helm(kube, "history", "web").stdout           # table form


def test_locked_upgrade_errors_like_helm(kube, env):
    env.install("web", "shop")
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    out = helm(kube, "upgrade", "web", str(helmfix.CHART))
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"


def test_rollback_upgrade_install_values_uninstall(kube, env, tmp_path):
    env.install("web", "shop")
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    out = helm(kube, "rollback", "web", "1", "--wait", "--timeout", "1m0s")
    assert out.returncode == 0 and out.stdout.strip() == "Rollback was a success! Happy Helming!"
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"message": "from-file"}))
    out = helm(kube, "upgrade", "web", str(helmfix.make_chart(tmp_path, "0.2.0")), "--install", "-f", str(values),
               "--set", "auth.password=p", "--wait", "--timeout", "60s", "--atomic")
    assert out.returncode == 0 and 'Release "web" has been upgraded' in out.stdout
    assert json.loads(helm(kube, "get", "values", "web", "-o", "json").stdout) == {
        "message": "from-file", "auth": {"password": "p"}}
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["chartVersion"] == "0.2.0"
    out = helm(kube, "upgrade", "brand-new", str(helmfix.CHART), "--install", "--create-namespace", ns="other")
    assert out.returncode == 0, out.stderr
    assert env.history("brand-new", "other")[-1]["status"] == "deployed"
    out = helm(kube, "uninstall", "web", "--wait")
    assert out.returncode == 0 and out.stdout.strip() == 'release "web" uninstalled'
    assert kube.store.get("configmaps", "shop", "web-config") is None


def test_env_vars_driver_and_token(tmp_path):
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"tok": None}) as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "k", token="tok"))
        bare = str(kube.write_kubeconfig(tmp_path / "bare"))      # no token in it
        env = {"HELM_DRIVER": "configmap", "HELM_KUBETOKEN": "tok", "HELM_NAMESPACE": "apps"}
        out = subprocess.run([HELM, "--kubeconfig", bare, "upgrade", "x", str(helmfix.CHART), "--install"],
                             capture_output=True, text=True, env=dict(os.environ, **env))
        assert out.returncode == 0, out.stderr
        assert kube.store.get("configmaps", "apps", "sh.helm.release.v1.x.v1")["metadata"]["labels"]["owner"] == "helm"
        denied = subprocess.run([HELM, "--kubeconfig", bare, "list", "-A"], capture_output=True, text=True,
                                env=dict(os.environ, HELM_KUBETOKEN="wrong"))
        assert denied.returncode == 1 and denied.stderr.startswith("Error:")
        assert kubeconfig


def test_unsupported_command_says_so(kube):
    out = helm(kube, "repo", "add", "x", "https://example.invalid")
    assert out.returncode == 1 and "test stand-in" in out.stderr
