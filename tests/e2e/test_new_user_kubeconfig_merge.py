# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubeconfig files merged as kubectl merges them (issue 26): a context in one file whose cluster and user are
defined in another file becomes a host of the kubeconfig inventory plugin, and the stuck_releases role checks
that cluster through it (the module merges the host's files the same way); a context's own file still wins for
the names it defines, so two kubeadm files that both call their cluster ``kubernetes`` each reach their own."""

import json
from pathlib import Path

import pytest
import yaml

import helmfix
from fleet_run import run_playbook
from localkube import LocalKube
from playbook_run import ROOT

pytestmark = pytest.mark.slow


def split(kube, tmp_path):
    """contexts.yaml holds context prod-us-split only; clusters.yaml its cluster prod-us and user prod-us."""
    whole = yaml.safe_load(Path(kube.write_kubeconfig(tmp_path / "whole.yaml")).read_text())
    whole["clusters"][0]["name"] = "prod-us"
    whole["users"][0]["name"] = "prod-us"
    (tmp_path / "clusters.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": whole["clusters"], "users": whole["users"]}))
    (tmp_path / "contexts.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod-us-split",
        "contexts": [{"name": "prod-us-split", "context": {"cluster": "prod-us", "user": "prod-us"}}]}))


def kubeadm(kube, path, context):
    """A kubeconfig as kubeadm names things: cluster ``kubernetes``, user ``kubernetes-admin``."""
    doc = yaml.safe_load(Path(kube.write_kubeconfig(path)).read_text())
    doc["clusters"][0]["name"], doc["users"][0]["name"] = "kubernetes", "kubernetes-admin"
    doc["contexts"] = [{"name": context, "context": {"cluster": "kubernetes", "user": "kubernetes-admin"}}]
    doc["current-context"] = context
    path.write_text(yaml.safe_dump(doc))


def test_a_context_whose_cluster_is_in_another_file_is_a_host_and_is_checked(tmp_path):
    with LocalKube() as us, LocalKube() as eu, LocalKube() as ap:
        split(us, tmp_path)
        kubeadm(eu, tmp_path / "eu.yaml", "eu")
        kubeadm(ap, tmp_path / "ap.yaml", "ap")
        for kube, name in ((us, "web"), (eu, "api"), (ap, "db")):
            env = helmfix.HelmEnv(str(kube.write_kubeconfig(tmp_path / ("%s.admin" % name))))
            env.install(name, "shop")
            rev = helmfix.make_stuck_upgrade(env, kube, name, "shop")
            helmfix.age_record(kube, "shop", name, rev, 3600)
        source = tmp_path / "clusters.kubeconfig.yml"
        source.write_text(yaml.safe_dump({"plugin": "helmops.unstick.kubeconfig",
                                          "kubeconfigs": ["contexts.yaml", "clusters.yaml", "eu.yaml", "ap.yaml"],
                                          "on_bad_kubeconfig": "error"}))
        report_dir = tmp_path / "reports"
        run = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", source,
                           {"stuck_releases_report_dir": str(report_dir)})
        assert run.rc == 0, run.text
        assert "does not define" not in run.text and "skipped" not in run.text.split("PLAY [")[0], run.text
        report = json.loads((report_dir / "stuck-releases.json").read_text())
        found = sorted((r["cluster"], r["name"], r["state"]) for r in report["releases"])
        assert found == [("ap", "db", "stuck"), ("eu", "api", "stuck"), ("prod-us-split", "web", "stuck")], report
