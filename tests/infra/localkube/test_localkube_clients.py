# SPDX-License-Identifier: GPL-3.0-or-later
"""Real clients over the wire: kubectl and Helm's Go client (helm_python)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from localkube.testing import secret
from localkube import LocalKube

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@pytest.fixture
def tls_kube():
    with LocalKube(tls=True, tokens={"admin-token": None, "ro": {"verbs": ["get", "list"]}}) as k:
        yield k


def kubectl(kcfg, *args, input=None, context=None):
    cmd = [KUBECTL, "--kubeconfig", str(kcfg)] + (["--context", context] if context else [])
    return subprocess.run(cmd + list(args), capture_output=True, text=True, input=input,
                          timeout=60)


def test_kubectl_lists_helm_records_and_writes(tls_kube, tmp_path):
    assert shutil.which(KUBECTL), "kubectl is missing: scripts/bootstrap installs it"
    for ns, name in (("apps", "sh.helm.release.v1.web.v1"), ("default", "sh.helm.release.v1.db.v3")):
        tls_kube.store.put(secret(name, ns=ns, labels={"owner": "helm", "name": name.split(".")[4]},
                                  type="helm.sh/release.v1", data={"release": "x"}))
    tls_kube.store.put(secret("unrelated"))
    kcfg = tls_kube.write_kubeconfig(tmp_path / "kubeconfig",
                                     extra_contexts={"viewer": {"token": "ro"}})
    r = kubectl(kcfg, "get", "secrets", "-A", "-l", "owner=helm")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "TYPE", "DATA", "AGE"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["apps", "sh.helm.release.v1.web.v1", "helm.sh/release.v1"],
        ["default", "sh.helm.release.v1.db.v3", "helm.sh/release.v1"]]
    r = kubectl(kcfg, "get", "secrets", "-A", "-o", "name", "--chunk-size=1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["secret/sh.helm.release.v1.web.v1",    # (namespace, name) order
                                "secret/sh.helm.release.v1.db.v3", "secret/unrelated"]
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n"
    r = kubectl(kcfg, "apply", "--server-side", "-f", "-", input=manifest)
    assert r.returncode == 0 and "serverside-applied" in r.stdout, r.stderr
    r = kubectl(kcfg, "label", "secret", "unrelated", "team=x")
    assert r.returncode == 0, r.stderr
    assert tls_kube.store.get("secrets", "default", "unrelated")["metadata"]["labels"] == \
        {"team": "x"}
    r = kubectl(kcfg, "delete", "configmap", "cfg", context="viewer")
    assert r.returncode != 0 and "forbidden" in r.stderr


@pytest.fixture
def tiny_chart(tmp_path):
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
        "data:\n  value: {{ .Values.value | default \"none\" | quote }}\n")
    return chart


def test_helm_install_upgrade_rollback_list(tls_kube, tmp_path, tiny_chart):
    import helm_python   # pinned in requirements.txt
    kcfg = tls_kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="apps")
    with helm_python.Config(kubeconfig_path=str(kcfg), namespace="apps") as cfg:
        rel = cfg.install(str(tiny_chart), "demo", {"value": "one"})
        assert rel["status"] == "deployed" and rel["revision"] == 1
        cm = tls_kube.store.get("configmaps", "apps", "demo-cm")
        assert cm["data"] == {"value": "one"}
        assert any(m["operation"] == "Apply" for m in cm["metadata"]["managedFields"])
        assert cfg.upgrade(str(tiny_chart), "demo", {"value": "two"})["revision"] == 2
        assert tls_kube.store.get("configmaps", "apps", "demo-cm")["data"] == {"value": "two"}
        cfg.rollback("demo", version=1)
        assert tls_kube.store.get("configmaps", "apps", "demo-cm")["data"] == {"value": "one"}
        releases = cfg.list(all_states=True, all_namespaces=True)
        assert [(r["name"], r["namespace"], r["revision"]) for r in releases] == \
            [("demo", "apps", 3)]
        assert len(cfg.history("demo")) == 3
        records = tls_kube.store.list("secrets", "apps")
        assert sorted(s["metadata"]["name"] for s in records) == [
            f"sh.helm.release.v1.demo.v{i}" for i in (1, 2, 3)]
        assert {s["metadata"]["labels"]["status"] for s in records} == {"superseded",
                                                                         "deployed"}
        assert all(s["type"] == "helm.sh/release.v1" for s in records)
    # Helm stores release records through protobuf request bodies
    writes = [r for r in tls_kube.requests if r["method"] in ("POST", "PUT")
              and "/secrets" in r["path"]]
    assert writes and all(r["content_type"] == "application/vnd.kubernetes.protobuf"
                          for r in writes)
    assert any(r["content_type"] == "application/apply-patch+yaml" for r in tls_kube.requests)


def test_helm_sees_injected_failure(tls_kube, tmp_path, tiny_chart):
    import helm_python   # pinned in requirements.txt
    kcfg = tls_kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="apps")
    tls_kube.faults.error(500, verb="create", path=r"/secrets$", count=1,
                          message="etcdserver: request timed out")
    with helm_python.Config(kubeconfig_path=str(kcfg), namespace="apps") as cfg:
        with pytest.raises(helm_python.HelmError) as e:
            cfg.install(str(tiny_chart), "flaky")
        assert "etcdserver: request timed out" in str(e.value)


def test_cli_serves_until_terminated(tmp_path):
    import json
    import os
    import ssl
    import sys
    import urllib.request

    import yaml
    kcfg, state = tmp_path / "kc.yaml", tmp_path / "state.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(__import__("localkube").__file__))] +
        os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    proc = subprocess.Popen([sys.executable, "-m", "localkube", "--tls", "--token", "tok",
                             "--kubeconfig", str(kcfg), "--state-file", str(state)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        cfg = yaml.safe_load(kcfg.read_text())
        assert cfg["clusters"][0]["cluster"]["server"] == url
        assert cfg["users"][0]["user"] == {"token": "tok"}
        ca = tmp_path / "ca.crt"
        import base64
        ca.write_bytes(base64.b64decode(cfg["clusters"][0]["cluster"]
                                        ["certificate-authority-data"]))
        req = urllib.request.Request(url + "/api/v1/namespaces",
                                     headers={"Authorization": "Bearer tok"})
        ctx = ssl.create_default_context(cafile=str(ca))
        body = json.loads(urllib.request.urlopen(req, context=ctx, timeout=10).read())
        assert "default" in [n["metadata"]["name"] for n in body["items"]]
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert "default" in state.read_text()
