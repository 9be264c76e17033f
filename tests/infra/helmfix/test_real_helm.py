# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Helm (SDK v4.2.3) on localkube, and releases left stuck by really
interrupting it."""

import json
import time
import shutil
import subprocess

import pytest

import helmfix

pytestmark = pytest.mark.slow


def labels(kube, ns, driver="secret"):
    res = "configmaps" if driver == "configmap" else "secrets"
    return sorted((o["metadata"]["labels"]["name"], int(o["metadata"]["labels"]["version"]),
                   o["metadata"]["labels"]["status"])
                  for o in kube.store.list(res, ns) if (o["metadata"].get("labels") or {}).get("owner") == "helm")


def test_install_upgrade_rollback_and_kubectl_lists_records(kube, env, tmp_path):
    env.install("web", "shop", values={"message": "one"})
    env.upgrade("web", "shop", chart=helmfix.make_chart(tmp_path, "0.2.0"), values={"message": "two"})
    env.rollback("web", "shop", 1)
    hist = env.history("web", "shop")
    assert [(h["revision"], h["status"], h["chart"]) for h in hist] == [
        (1, "superseded", "unstick-demo-0.1.0"), (2, "superseded", "unstick-demo-0.2.0"),
        (3, "deployed", "unstick-demo-0.1.0")]
    assert hist[2]["description"] == "Rollback to 1"
    cm = kube.store.get("configmaps", "shop", "web-config")
    assert cm["data"]["message"] == "one"                      # the chart's object, rolled back for real
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is installed by scripts/bootstrap"
    out = subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "get", "secrets", "-n", "shop",
                          "-l", "owner=helm", "-o", "name"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["secret/sh.helm.release.v1.web.v%d" % i for i in (1, 2, 3)]
    table = subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "get", "secrets", "-A", "-l", "owner=helm"],
                           capture_output=True, text=True, check=True).stdout
    assert "sh.helm.release.v1.web.v3" in table and "helm.sh/release.v1" in table


def test_interrupted_upgrade_leaves_pending_upgrade_and_helm_refuses(kube, env):
    env.install("web", "shop")
    env.upgrade("web", "shop")
    rev = helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    assert rev == 3
    assert labels(kube, "shop") == [("web", 1, "superseded"), ("web", 2, "deployed"), ("web", 3, "pending-upgrade")]
    assert helmfix.LOCKED in helmfix.assert_locked(env, "web", "shop")


def test_interrupted_install_leaves_pending_install_and_helm_refuses(kube, env):
    rev = helmfix.make_stuck_install(env, kube, "new", "shop")
    assert labels(kube, "shop") == [("new", rev, "pending-install")]
    assert helmfix.LOCKED in helmfix.assert_locked(env, "new", "shop")


def test_interrupted_rollback_leaves_pending_rollback_and_helm_refuses(kube, env):
    env.install("api", "shop")
    env.upgrade("api", "shop")
    rev = helmfix.make_stuck_rollback(env, kube, "api", "shop", 1)
    assert labels(kube, "shop")[-1] == ("api", rev, "pending-rollback")
    assert helmfix.LOCKED in helmfix.assert_locked(env, "api", "shop")


def test_manual_rollback_heals_but_leaves_pending_in_history(kube, env):
    env.install("web", "shop")
    rev = helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    env.rollback("web", "shop", 1)
    assert [s for _, _, s in labels(kube, "shop")] == ["superseded", "pending-upgrade", "deployed"]
    env.upgrade("web", "shop")     # not locked any more
    assert env.history("web", "shop")[-1]["status"] == "deployed" and rev == 2


def test_configmap_driver_install_and_stuck_upgrade(kube):
    env = helmfix.HelmEnv(kube.kubeconfig, driver="configmap")
    env.install("cm", "apps")
    rev = helmfix.make_stuck_upgrade(env, kube, "cm", "apps")
    assert labels(kube, "apps", "configmap") == [("cm", 1, "deployed"), ("cm", rev, "pending-upgrade")]
    assert not [o for o in kube.store.list("secrets", "apps") if o["metadata"]["name"].startswith("sh.helm")]
    assert helmfix.LOCKED in helmfix.assert_locked(env, "cm", "apps")


def test_age_record_rewrites_time_everywhere(kube, env):
    env.install("old", "shop")
    rev = helmfix.make_stuck_upgrade(env, kube, "old", "shop")
    labels_before = kube.store.get("secrets", "shop", "sh.helm.release.v1.old.v%d" % rev)["metadata"]["labels"]
    helmfix.age_record(kube, "shop", "old", rev, 7200)
    obj = kube.store.get("secrets", "shop", "sh.helm.release.v1.old.v%d" % rev)
    assert abs(kube.now() - 7200 - helmfix._epoch(obj["metadata"]["creationTimestamp"])) < 5
    assert abs(kube.now() - 7200 - int(obj["metadata"]["labels"]["modifiedAt"])) < 5     # as helm wrote it then
    assert set(obj["metadata"]["labels"]) == set(labels_before)
    release = json.loads(helmfix.decode_record(obj))
    assert release["info"]["last_deployed"] == obj["metadata"]["creationTimestamp"]
    assert release["info"]["status"] == "pending-upgrade"
    assert helmfix.LOCKED in helmfix.assert_locked(env, "old", "shop")   # still a valid, locked record


def test_bad_chart_upgrade_fails_and_records_failed(kube, env, tmp_path):
    env.install("web", "shop")
    with pytest.raises(helmfix.HelmFailed):
        env.upgrade("web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0", bad=True))
    assert labels(kube, "shop")[-1] == ("web", 2, "failed")


@pytest.mark.parametrize("op,expect", [("upgrade", "pending-upgrade"), ("install", "pending-install"),
                                       ("rollback", "pending-rollback")])
def test_interrupted_at_the_record_update_is_stuck_too(kube, env, op, expect):
    """Killed after the chart's objects were applied, before Helm finalised its records."""
    if op != "install":
        env.install("web", "shop", values={"message": "one"})
        env.upgrade("web", "shop", values={"message": "two"})
    maker = {"upgrade": lambda: helmfix.make_stuck_upgrade(env, kube, "web", "shop", values={"message": "three"},
                                                           at="record"),
             "install": lambda: helmfix.make_stuck_install(env, kube, "web", "shop", values={"message": "three"},
                                                           at="record"),
             "rollback": lambda: helmfix.make_stuck_rollback(env, kube, "web", "shop", 1, at="record")}[op]
    rev = maker()
    assert labels(kube, "shop")[-1] == ("web", rev, expect)
    applied = kube.store.get("configmaps", "shop", "web-config")["data"]["message"]
    assert applied == ("one" if op == "rollback" else "three")          # the objects did change
    assert helmfix.LOCKED in helmfix.assert_locked(env, "web", "shop")


def test_stuck_maker_fails_clearly_when_helm_never_gets_there(kube, env):
    env.install("web", "shop")
    helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    with pytest.raises(AssertionError) as err:              # already locked: Helm refuses before any write
        helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    assert helmfix.LOCKED in str(err.value) and "without reaching" in str(err.value)
    assert kube.faults.list() == [] and kube.faults.hanging == 0


def test_two_stuck_makers_at_once_on_one_server(kube, env):
    import threading
    env.install("a", "shop")
    env.install("b", "shop")
    revs = {}
    threads = [threading.Thread(target=lambda n=n: revs.setdefault(n, helmfix.make_stuck_upgrade(env, kube, n, "shop")))
               for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert revs == {"a": 2, "b": 2}
    assert [s for _, _, s in labels(kube, "shop")] == ["deployed", "pending-upgrade"] * 2


def test_age_record_store_rest_and_configmap(kube, tmp_path):
    from localkube.testing import make_api
    env = helmfix.HelmEnv(kube.kubeconfig)
    rev = helmfix.make_stuck_install(env, kube, "fresh", "shop")
    before = kube.store.get("secrets", "shop", "sh.helm.release.v1.fresh.v1")
    assert "createdAt" in before["metadata"]["labels"]                       # Helm 4: created, never updated,
    assert "modifiedAt" not in before["metadata"]["labels"]                  # so no modifiedAt label
    helmfix.age_record(kube.store, "shop", "fresh", rev, 600)                 # a bare Store works too
    obj = kube.store.get("secrets", "shop", "sh.helm.release.v1.fresh.v1")
    then = helmfix._epoch(obj["metadata"]["creationTimestamp"])
    assert abs(kube.now() - 600 - then) < 5 and "modifiedAt" not in obj["metadata"]["labels"]
    assert int(obj["metadata"]["labels"]["createdAt"]) == then                 # as helm wrote it then
    release = json.loads(helmfix.decode_record(obj))
    assert release["info"]["first_deployed"] == release["info"]["last_deployed"] == obj["metadata"]["creationTimestamp"]

    kube.clock_offset_seconds = -7200                                       # ages follow the server's clock
    helmfix.age_record(kube, "shop", "fresh", rev, 60)
    obj = kube.store.get("secrets", "shop", "sh.helm.release.v1.fresh.v1")
    assert abs(time.time() - 7260 - helmfix._epoch(obj["metadata"]["creationTimestamp"])) < 5
    assert helmfix.LOCKED in helmfix.assert_locked(env, "fresh", "shop")    # still a valid, locked record
    with pytest.raises(AssertionError, match="no API request can make a record older"):
        helmfix.age_record(make_api(kube), "shop", "fresh", rev, 60)       # a real server keeps creationTimestamp

    cm_env = helmfix.HelmEnv(kube.kubeconfig, driver="configmap")
    cm_env.install("cm", "apps")
    rev = helmfix.make_stuck_upgrade(cm_env, kube, "cm", "apps")
    helmfix.age_record(kube, "apps", "cm", rev, 3600)                       # driver found by itself
    obj = kube.store.get("configmaps", "apps", "sh.helm.release.v1.cm.v%d" % rev)
    assert abs(kube.now() - 3600 - helmfix._epoch(obj["metadata"]["creationTimestamp"])) < 5
    assert json.loads(helmfix.decode_record(obj))["info"]["status"] == "pending-upgrade"
    assert helmfix.LOCKED in helmfix.assert_locked(cm_env, "cm", "apps")


def test_values_and_password_are_in_the_records(kube, env):
    env.install("vault-ui", "apps", values={"auth": {"password": "hunter2-secret"}})
    text = helmfix.decode_record(kube.store.get("secrets", "apps", "sh.helm.release.v1.vault-ui.v1"))
    release = json.loads(text)
    assert release["config"] == {"auth": {"password": "hunter2-secret"}}
    assert 'password: "hunter2-secret"' in release["manifest"]
    assert kube.store.get("configmaps", "apps", "vault-ui-config")["data"]["password"] == "hunter2-secret"
    env.upgrade("vault-ui", "apps", values={"message": "x"})                 # new values replace the old
    assert env.get_values("vault-ui", "apps") == {"message": "x"}
    assert "password" not in env.release("vault-ui", "apps")["manifest"]


def test_chart_versions_and_app_versions_show_in_history(kube, env, tmp_path):
    env.install("web", "shop")
    env.upgrade("web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0", app_version="2.0.0"))
    assert [(h["chart"], h["app_version"]) for h in env.history("web", "shop")] == [
        ("unstick-demo-0.1.0", "1.0.0"), ("unstick-demo-0.3.0", "2.0.0")]
    with pytest.raises(helmfix.HelmFailed) as err:
        env.history("never", "shop")
    assert str(err.value) == "release: not found"
