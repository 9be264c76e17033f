# SPDX-License-Identifier: GPL-3.0-or-later
"""The RBAC manifests of docs/rbac/ grant what helm_unstick really needs: the rules of the
ClusterRoles are turned into localkube token rules (core API only) and the module runs with
that token against releases really stuck by real Helm: the records role is enough to report
and unlock (and each of its verbs is needed), not to roll back; records + rollback is."""

from pathlib import Path

import pytest
import yaml

import helmfix
from localkube import LocalKube
from playbook_run import HELM_BIN, run_module

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin"


def cluster_role(path):
    docs = [d for d in yaml.safe_load_all((ROOT / "docs" / "rbac" / path).read_text()) if d]
    [role] = [d for d in docs if d["kind"] == "ClusterRole"]
    [binding] = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "helm-unstick", "namespace": "helm-ops"}]
    return role


def token_rule(*roles, drop_verbs=()):
    """localkube's rule for a token bound to these ClusterRoles: their rules of the core group (the only one
    localkube serves), each as written, less ``drop_verbs``."""
    rules = []
    for role in roles:
        for rule in role["rules"]:
            if "" in rule["apiGroups"]:
                rules.append({"verbs": sorted(set(rule["verbs"]) - set(drop_verbs)),
                              "resources": sorted(rule["resources"])})
    return {"user": "system:serviceaccount:helm-ops:helm-unstick", "rules": rules}


def granted(rule, resource):
    """The verbs a token rule grants on ``resource``."""
    return sorted(set(v for r in rule["rules"] if resource in r["resources"] for v in r["verbs"]))


def test_records_role_reports_and_unlocks_but_cannot_roll_back(tmp_path):
    records = cluster_role("helm-unstick-records.yaml")
    rule = token_rule(records)
    assert (granted(rule, "secrets"), granted(rule, "namespaces"), granted(rule, "events")) == (
        ["get", "list", "update"], ["list"], ["create"])
    tokens = {ADMIN: None, "sa": token_rule(records), "no-update": token_rule(records, drop_verbs=["update"])}
    with LocalKube(tls=True, tokens=tokens) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin", token=ADMIN))
        sa = str(kube.write_kubeconfig(tmp_path / "sa", token="sa"))
        no_update = str(kube.write_kubeconfig(tmp_path / "no-update", token="no-update"))
        helmfix.stuck_upgrade(env, kube, "web", "shop")
        helmfix.stuck_upgrade(env, kube, "api", "payments")

        # without update: reported, nothing changed
        run = run_module(tmp_path, {"kubeconfig": no_update, "strategy": "unlock", "fail_on_error": False})
        assert run.rc == 0 and [e["name"] for e in run["stuck"]] == ["api", "web"], run.text
        assert run["remediated"] == [] and "forbidden" in str(run["errors"]).lower(), run.text
        assert helmfix.LOCKED in helmfix.assert_locked(env, "web", "shop")

        # the records role: unlock works, Helm upgrades again
        run = run_module(tmp_path, {"kubeconfig": sa, "strategy": "unlock", "namespaces": ["shop"]})
        assert run.rc == 0 and [(e["name"], e["action"]) for e in run["remediated"]] == [("web", "unlock")], run.text
        env.upgrade("web", "shop")
        assert env.history("web", "shop")[-1]["status"] == "deployed"

        # ...but not rollback: helm must write a new record and the chart's objects
        run = run_module(tmp_path, {"kubeconfig": sa, "strategy": "rollback", "namespaces": ["payments"],
                                    "helm_binary": str(HELM_BIN), "fail_on_error": False})
        assert "helm rollback failed" in run.text and "forbidden" in run.text.lower(), run.text
        assert env.history("api", "payments")[-1]["status"] == "failed"  # unlocked all the same


def test_records_and_rollback_roles_roll_back(tmp_path):
    rule = token_rule(cluster_role("helm-unstick-records.yaml"), cluster_role("helm-unstick-rollback.yaml"))
    with LocalKube(tls=True, tokens={ADMIN: None, "sa": rule}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin", token=ADMIN))
        sa = str(kube.write_kubeconfig(tmp_path / "sa", token="sa"))
        rev = helmfix.stuck_upgrade(env, kube, "web", "shop")
        run = run_module(tmp_path, {"kubeconfig": sa, "strategy": "rollback", "helm_binary": str(HELM_BIN)})
        assert run.rc == 0 and [(e["name"], e["action"]) for e in run["remediated"]] == [("web", "rollback")], run.text
        assert env.history("web", "shop")[-1] == {**env.history("web", "shop")[-1], "status": "deployed",
                                                  "revision": rev + 1}
        env.upgrade("web", "shop")
        assert env.history("web", "shop")[-1]["status"] == "deployed"
        # pending_install: uninstall with the same two roles: the release and its records are gone
        fresh = helmfix.make_stuck_install(env, kube, "fresh", "shop")
        helmfix.age_record(kube, "shop", "fresh", fresh, 3600)
        run = run_module(tmp_path, {"kubeconfig": sa, "pending_install": "uninstall", "helm_binary": str(HELM_BIN)})
        assert run.rc == 0 and [(e["name"], e["action"]) for e in run["remediated"]] == [("fresh", "uninstall")], \
            run.text
        records = [o["metadata"]["name"] for o in kube.store.list("secrets", "shop")]
        assert [name for name in records if ".fresh." in name] == []
        assert [r["name"] for r in env.list_all()] == ["web"]                # Helm no longer knows it


def test_records_and_backups_roles_back_up_in_the_cluster_restore_and_audit(tmp_path):
    """backup: cluster (the AWX default) and helm_restore with the records and backups roles: the backups,
    the Events and the liveness checks' reads are all granted (no warning), and the restore puts it back."""
    rule = token_rule(cluster_role("helm-unstick-records.yaml"), cluster_role("helm-unstick-backups.yaml"))
    assert granted(rule, "secrets") == ["create", "delete", "get", "list", "update"]
    with LocalKube(tls=True, tokens={ADMIN: None, "sa": rule}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin", token=ADMIN))
        sa = str(kube.write_kubeconfig(tmp_path / "sa", token="sa"))
        helmfix.stuck_upgrade(env, kube, "web", "shop")
        before = {o["metadata"]["name"]: (o["data"], o["metadata"]["labels"]) for o in kube.store.list("secrets", "shop")}
        run = run_module(tmp_path, {"kubeconfig": sa, "strategy": "unlock", "backup": ["cluster"]})
        assert run.rc == 0 and [(e["name"], e["action"]) for e in run["remediated"]] == [("web", "unlock")], run.text
        assert run["scan_warnings"] == [] and run["liveness_requests"] == 1, run.text   # the chart's ConfigMap
        assert [e["reason"] for e in kube.store.list("events", "shop")] == ["Unlocked"]
        back = run_module(tmp_path, {"kubeconfig": sa, "run": run["run_id"]}, module="helm_restore")
        assert back.rc == 0 and back["releases"][0]["state"] == "restored", back.text
        after = {o["metadata"]["name"]: (o["data"], o["metadata"]["labels"]) for o in kube.store.list("secrets", "shop")
                 if not o["metadata"]["name"].startswith("helmops.unstick.backup.")}
        assert after == before
