# SPDX-License-Identifier: GPL-3.0-or-later
"""The ConfigMap storage driver, and proof that release values never leave
the cluster through the module's output."""

import pytest

import helmfix

pytestmark = pytest.mark.slow

PASSWORD = "Sup3r-S3cret-Pa55word-4711"


def test_configmap_driver(kube, unstick, module_args):
    env = helmfix.HelmEnv(kube.kubeconfig, driver="configmap")
    env.install("cm", "apps")
    rev = helmfix.make_stuck_upgrade(env, kube, "cm", "apps")
    helmfix.age_record(kube, "apps", "cm", rev, 3600, driver="configmap")
    assert "another operation" in helmfix.assert_locked(env, "cm", "apps")
    run = unstick(module_args(storage_driver="configmap"))
    assert run.rc == 0, run.text
    assert [(e["name"], e["action"]) for e in run["remediated"]] == [("cm", "rollback")]
    env.upgrade("cm", "apps")
    assert env.history("cm", "apps")[-1]["status"] == "deployed"
    assert kube.store.list("secrets", "apps") == [] or all(
        not o["metadata"]["name"].startswith("sh.helm") for o in kube.store.list("secrets", "apps"))


def test_helm_driver_env_selects_configmap(kube, unstick, module_args):
    env = helmfix.HelmEnv(kube.kubeconfig, driver="configmap")
    env.install("cm2", "apps")
    rev = helmfix.make_stuck_upgrade(env, kube, "cm2", "apps")
    helmfix.age_record(kube, "apps", "cm2", rev, 3600, driver="configmap")
    run = unstick(module_args(remediate=False), env={"HELM_DRIVER": "configmap"})
    assert [e["name"] for e in run["stuck"]] == ["cm2"]
    plural = unstick(module_args(strategy="unlock"), env={"HELM_DRIVER": "configmaps"})   # Helm's other spelling
    assert plural.rc == 0 and [e["name"] for e in plural["remediated"]] == ["cm2"], plural.text
    memory = unstick(module_args(remediate=False), env={"HELM_DRIVER": "memory"})
    assert memory["failed"] and "storage driver 'memory' is not supported" in memory["msg"]


def test_no_value_from_config_in_any_output(kube, helm_env, unstick, module_args, tmp_path):
    values = {"auth": {"password": PASSWORD}, "message": "hello"}
    helm_env.install("vault-ui", "apps", values=values)
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "vault-ui", "apps", values=values)
    helmfix.age_record(kube, "apps", "vault-ui", rev, 3600)
    helm_env.install("young", "apps", values=values)
    helmfix.make_stuck_upgrade(helm_env, kube, "young", "apps", values=values)
    report = unstick(module_args(remediate=False), verbosity=4)
    fix = unstick(module_args(backup_dir=str(tmp_path / "b")), diff=True, verbosity=4)
    assert report["stuck"] and report["in_progress"] and fix["remediated"]
    for run in (report, fix):
        assert PASSWORD not in run.text
    # the value is really there in the cluster (the test would be empty otherwise) ...
    assert PASSWORD in helmfix.decode_record(kube.store.get("secrets", "apps", "sh.helm.release.v1.vault-ui.v%d" % rev))
    # ... and in the backup, which is documented to hold it
    backup = fix["remediated"][0]["backup"]
    assert PASSWORD in helmfix.decode_record_file(backup)
