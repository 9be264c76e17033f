# SPDX-License-Identifier: GPL-3.0-or-later
"""The helm CLI stand-in (tests/support/bin/helm) over the real Helm SDK, on localkube."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

import helmfix
import helmfix.cli
import tools

pytestmark = pytest.mark.slow

HISTORY_KEYS = ["revision", "updated", "status", "chart", "app_version", "description"]


HELM = str(tools.HELM_STANDIN)


@pytest.fixture(params=["standin", "helm4"])
def which(request):
    """A claim about helm (``@on_both``) is checked on the stand-in and on the real helm 4 it mimics."""
    global HELM
    HELM = str(tools.HELM_STANDIN if request.param == "standin" else tools.HELM4)
    yield request.param
    HELM = str(tools.HELM_STANDIN)


on_both = pytest.mark.usefixtures("which")


def helm(kube, *args, env=None, ns="shop"):
    full = dict(os.environ, **(env or {}))
    for var in ("HELM_NAMESPACE", "HELM_KUBECONTEXT", "HELM_DRIVER", "HELM_KUBETOKEN"):
        if var not in (env or {}):
            full.pop(var, None)
    return subprocess.run([HELM, "--kubeconfig", kube.kubeconfig, "-n", ns] + list(args),
                          capture_output=True, text=True, env=full, timeout=120)


def ok(out):
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_executable_says_it_is_a_stand_in():
    head = Path(HELM).read_text()[:600]
    assert head.startswith("#!/usr/bin/env python3") and "TEST STAND-IN" in head
    assert os.access(HELM, os.X_OK)


@on_both
def test_history_status_list_json_shapes(kube, env):
    env.install("web", "shop", values={"auth": {"password": "pw-in-values"}})
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    text = ok(helm(kube, "history", "web", "-o", "json"))
    assert text.endswith("]\n") and ", " not in text                       # Go's compact encoder
    hist = json.loads(text)
    assert [list(h) for h in hist] == [HISTORY_KEYS] * 2                    # helm's key order
    assert [(h["revision"], h["status"], h["chart"], h["app_version"]) for h in hist] == [
        (1, "deployed", "unstick-demo-0.1.0", "1.0.0"), (2, "pending-upgrade", "unstick-demo-0.1.0", "1.0.0")]
    assert [h["description"] for h in hist] == ["Install complete", "Preparing upgrade"]
    record = json.loads(helmfix.decode_record(kube.store.get("secrets", "shop", "sh.helm.release.v1.web.v2")))
    assert hist[1]["updated"] == record["info"]["last_deployed"]          # RFC 3339 with nanoseconds
    assert [h["revision"] for h in json.loads(ok(helm(kube, "history", "web", "-o", "json", "--max", "1")))] == [2]
    assert yaml.safe_load(ok(helm(kube, "history", "web", "-o", "yaml")))[1]["status"] == "pending-upgrade"
    table = ok(helm(kube, "history", "web")).splitlines()
    assert table[0].split("\t")[0].strip() == "REVISION" and "pending-upgrade" in table[2]

    status = json.loads(ok(helm(kube, "status", "web", "-o", "json")))
    assert list(status) == ["name", "info", "config", "manifest", "version", "namespace", "apply_method"]
    assert status["info"]["status"] == "pending-upgrade" and status["version"] == 2
    assert status["config"] == {"auth": {"password": "pw-in-values"}}      # helm shows user values: a leak vector
    assert 'password: "pw-in-values"' in status["manifest"]                # and this chart renders it
    text = ok(helm(kube, "status", "web"))
    assert "STATUS: pending-upgrade\nREVISION: 2\nDESCRIPTION: Preparing upgrade\n" in text

    rows = json.loads(ok(helm(kube, "list", "-A", "-o", "json", ns="default")))    # helm 4: every state
    assert rows == [{"name": "web", "namespace": "shop", "revision": "2", "updated": rows[0]["updated"],
                     "status": "pending-upgrade", "chart": "unstick-demo-0.1.0", "app_version": "1.0.0"}]
    assert rows[0]["updated"].endswith(" +0000 UTC")                       # Go's time.String()
    assert json.loads(ok(helm(kube, "list", "-A", "--deployed", "-o", "json"))) == []
    assert json.loads(ok(helm(kube, "list", "--pending", "-o", "json")))[0]["status"] == "pending-upgrade"
    assert ok(helm(kube, "list", "-q")) == "web\n"
    assert json.loads(ok(helm(kube, "list", "-f", "^nothing$", "-o", "json"))) == []
    for gone in ("-a", "--all"):                                            # helm 4 removed it (helm 3 had it)
        out = helm(kube, "list", gone)
        assert out.returncode == 1 and out.stderr.startswith("Error: unknown "), out.stderr


@on_both
def test_locked_upgrade_and_missing_release_errors_like_helm(kube, env):
    env.install("web", "shop")
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    out = helm(kube, "upgrade", "web", str(helmfix.CHART))
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"
    for args, message in [(["history", "nope"], "Error: release: not found"),
                          (["status", "nope"], "Error: release: not found"),
                          (["upgrade", "nope", str(helmfix.CHART)], 'Error: UPGRADE FAILED: "nope" has no deployed '
                                                                    'releases'),
                          (["install", "web", str(helmfix.CHART)], "Error: INSTALLATION FAILED: release name check "
                                                                   "failed: cannot reuse a name that is still in use"),
                          (["rollback", "web", "9"], "Error: release has no 9 version"),
                          (["uninstall", "nope"], "Error: uninstall: Release not loaded: nope: release: not found")]:
        out = helm(kube, *args)
        # the last line; real helm 4 may log a line before it (level=ERROR msg="release name check failed")
        assert (out.returncode, out.stderr.strip().splitlines()[-1]) == (1, message), args


@on_both
def test_rollback_upgrade_install_values_uninstall(kube, env, tmp_path):
    env.install("web", "shop")
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    out = helm(kube, "rollback", "web", "1", "--wait", "--timeout", "1m0s")
    assert out.returncode == 0 and out.stdout == "Rollback was a success! Happy Helming!\n"
    assert [h["status"] for h in env.history("web", "shop")] == ["superseded", "pending-upgrade", "deployed"]
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"message": "from-file"}))
    out = helm(kube, "upgrade", "web", str(helmfix.make_chart(tmp_path, "0.2.0")), "--install", "-f", str(values),
               "--set", "auth.password=p", "--wait", "--timeout", "60s", "--rollback-on-failure")
    lines = ok(out).splitlines()
    assert lines[0] == 'Release "web" has been upgraded. Happy Helming!'
    assert lines[1:3] == ["NAME: web", lines[2]] and lines[2].startswith("LAST DEPLOYED: ")
    assert lines[3:] == ["NAMESPACE: shop", "STATUS: deployed", "REVISION: 4", "DESCRIPTION: Upgrade complete",
                         "TEST SUITE: None"]
    assert json.loads(ok(helm(kube, "get", "values", "web", "-o", "json"))) == {
        "message": "from-file", "auth": {"password": "p"}}
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["chartVersion"] == "0.2.0"

    out = helm(kube, "upgrade", "brand-new", str(helmfix.CHART), "--install", "--create-namespace", ns="other")
    assert ok(out).startswith('Release "brand-new" does not exist. Installing it now.\nNAME: brand-new\n')
    assert env.history("brand-new", "other")[-1]["status"] == "deployed"
    assert ok(helm(kube, "get", "values", "brand-new", "-o", "json", ns="other")) == "null\n"
    assert ok(helm(kube, "get", "values", "brand-new", ns="other")) == "USER-SUPPLIED VALUES:\nnull\n"
    out = helm(kube, "install", "third", str(helmfix.CHART), "-o", "json", "--set", "message=x")
    assert json.loads(ok(out))["config"] == {"message": "x"}

    out = helm(kube, "uninstall", "web", "third", "--wait")
    assert ok(out) == 'release "web" uninstalled\nrelease "third" uninstalled\n'
    assert kube.store.get("configmaps", "shop", "web-config") is None
    assert not [o for o in kube.store.list("secrets", "shop") if o["metadata"]["name"].startswith("sh.helm")]


@on_both
def test_upgrade_prunes_history_like_helm(kube, env):
    env.install("busy", "shop")
    for _ in range(3):
        ok(helm(kube, "upgrade", "busy", str(helmfix.CHART), env={"HELM_MAX_HISTORY": "2"}))
    assert [h["revision"] for h in env.history("busy", "shop")] == [3, 4]     # helm prunes the oldest
    ok(helm(kube, "upgrade", "busy", str(helmfix.CHART), "--history-max", "0"))
    assert [h["revision"] for h in env.history("busy", "shop")] == [3, 4, 5]  # 0: no limit
    assert helmfix.cli.parse(["upgrade", "a", "c"]).history_max == 10        # helm's default


@on_both
def test_env_vars_driver_and_token(tmp_path):
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"tok": None}) as kube:
        bare = str(kube.write_kubeconfig(tmp_path / "bare"))      # no token in it
        env = {"HELM_DRIVER": "configmap", "HELM_KUBETOKEN": "tok", "HELM_NAMESPACE": "apps"}
        out = subprocess.run([HELM, "--kubeconfig", bare, "upgrade", "x", str(helmfix.CHART), "--install"],
                             capture_output=True, text=True, env=dict(os.environ, **env))
        assert out.returncode == 0, out.stderr
        assert kube.store.get("configmaps", "apps", "sh.helm.release.v1.x.v1")["metadata"]["labels"]["owner"] == "helm"
        denied = subprocess.run([HELM, "--kubeconfig", bare, "list", "-A"], capture_output=True, text=True,
                                env=dict(os.environ, HELM_KUBETOKEN="wrong"))
        assert denied.returncode == 1 and denied.stderr.startswith("Error: ") and "wrong" not in denied.stderr
        # no kubeconfig at all: --kube-apiserver, --kube-token and --kube-ca-file
        bare_env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        bare_env.update(HOME=str(tmp_path), HELM_DRIVER="configmap")
        flags = ["--kube-apiserver", kube.url, "--kube-token", "tok", "--kube-ca-file", kube.ca_file, "-n", "apps"]
        out = subprocess.run([HELM] + flags + ["history", "x", "-o", "json"], capture_output=True, text=True,
                             env=bare_env)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)[0]["status"] == "deployed"
        out = subprocess.run([HELM, "--kube-apiserver", kube.url, "--kube-token", "tok",
                              "--kube-insecure-skip-tls-verify", "list", "-A", "-o", "json"],
                             capture_output=True, text=True, env=bare_env)
        assert out.returncode == 0 and json.loads(out.stdout)[0]["name"] == "x", out.stderr


@on_both
def test_unreachable_cluster(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    out = subprocess.run([HELM, "--kube-apiserver", "http://127.0.0.1:9", "history", "x"], capture_output=True,
                         text=True, env=dict(env, HOME=str(tmp_path)))
    assert out.returncode == 1 and out.stderr.startswith("Error: kubernetes cluster unreachable: ")


@on_both
def test_kubernetes_core_helm_style_calls(kube, env):
    """What kubernetes.core.helm runs: list --output=yaml --filter, get values --output=yaml, show chart."""
    env.install("web", "shop", values={"message": "hi"})
    rows = yaml.safe_load(ok(helm(kube, "list", "--output=yaml", "--filter", "web")))
    assert [(r["name"], r["status"], r["chart"], r["revision"]) for r in rows] == [
        ("web", "deployed", "unstick-demo-0.1.0", "1")]
    assert yaml.safe_load(ok(helm(kube, "get", "values", "--output=yaml", "web"))) == {"message": "hi"}
    assert yaml.safe_load(ok(helm(kube, "show", "chart", str(helmfix.CHART))))["version"] == "0.1.0"
    assert yaml.safe_load(ok(helm(kube, "show", "values", str(helmfix.CHART)))) == {
        "message": "hello", "auth": {"password": ""}}
    assert ok(helm(kube, "plugin", "list")).split() == ["NAME", "VERSION", "TYPE", "APIVERSION", "PROVENANCE",
                                                         "SOURCE"]
    out = helm(kube, "upgrade", "-i", "--reset-values", "web", str(helmfix.CHART), "--wait=false",
               "--timeout=2m", "--skip-crds", "--no-hooks")
    assert ok(out).startswith('Release "web" has been upgraded. Happy Helming!\n')
    # what kubernetes.core.helm 6.x reads after a change; helm 4 removed --all (roles/guarded_upgrade copes)
    out = helm(kube, "list", "--output=yaml", "--filter", "web", "--all")
    assert (out.returncode, out.stderr) == (1, "Error: unknown flag: --all\n")


def test_runs_under_a_python_without_the_sdk():
    out = subprocess.run(["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", HELM, "version", "--short"],
                         capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "v4.2.3\n"), out.stderr


@on_both
def test_show_chart_ignores_version_for_a_local_chart(kube):
    """kubernetes.core.helm passes --version with chart_version even for a local
    chart path; real helm ignores it there."""
    out = helm(kube, "--version=0.1.0", "show", "chart", str(helmfix.CHART))
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout)["name"] == "unstick-demo"
