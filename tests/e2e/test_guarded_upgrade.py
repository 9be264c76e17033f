"""Guarded upgrades (playbooks/safe_upgrade.yml, role helmops.unstick.guarded_upgrade) end to end:
ansible-playbook against localkube, releases really stuck by real Helm and upgrades run by the real
helm CLI through kubernetes.core.helm (helm 4; the stuck path and the rescue also on helm 3)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import helmfix
from playbook_run import HELM_BIN, ROOT
from tools import HELM_STANDIN, both_helms

pytestmark = pytest.mark.slow

SAFE_UPGRADE = ROOT / "playbooks" / "safe_upgrade.yml"
EXISTING = Path(__file__).resolve().parent / "existing_deploy"


class Play:
    def __init__(self, proc):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.text = proc.stdout + proc.stderr

    def recap(self, key):
        """Sum of one PLAY RECAP counter (ok, changed, failed, rescued, ...) over all hosts."""
        return sum(int(n) for n in re.findall(r"\b%s=(\d+)" % key, self.stdout))


def play(tmp_path, playbook, extra, env=None, hosts=None):
    """ansible-playbook PLAYBOOK with an inventory of one cluster host ("local") and extra vars."""
    work = Path(tmp_path) / ("play-%d" % len(list(Path(tmp_path).glob("play-*"))))
    work.mkdir()
    inventory = work / "clusters.yml"
    inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": hosts or {"local": {}}}}))
    extra_file = work / "vars.json"
    extra_file.write_text(json.dumps(dict(extra, ansible_python_interpreter=sys.executable)))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", "@%s" % extra_file,
           str(playbook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(work),
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", **(env or {})))
    return Play(proc)


def guard_vars(kube, chart, helm=HELM_BIN, **extra):
    args = {"guarded_upgrade_kubeconfig": kube.kubeconfig, "guarded_upgrade_helm_binary": str(helm),
            "guarded_upgrade_release": "web", "guarded_upgrade_namespace": "shop",
            "guarded_upgrade_chart": str(chart), "guarded_upgrade_timeout": "60s"}
    args.update(extra)
    return args


def history(env, name="web", ns="shop"):
    return [(h["revision"], h["status"], h["chart"], h["description"]) for h in env.history(name, ns)]


def stuck_web(env, kube):
    """The seed's story: web installed, upgraded, then an upgrade killed midway an hour ago."""
    env.install("web", "shop")
    env.upgrade("web", "shop")
    rev = helmfix.make_stuck_upgrade(env, kube, "web", "shop")
    helmfix.age_record(kube, "shop", "web", rev, 3600)
    assert "another operation" in helmfix.assert_locked(env, "web", "shop")
    return rev


@both_helms
def test_stuck_release_unstuck_then_upgraded(kube, helm_env, tmp_path, helm_bin):
    rev = stuck_web(helm_env, kube)
    chart = helmfix.make_chart(tmp_path, "0.2.0")
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, chart, helm_bin, guarded_upgrade_values={"message": "v2"}))
    assert run.rc == 0, run.text
    hist = history(helm_env)
    assert [(r, s) for r, s, _, _ in hist] == [
        (1, "superseded"), (2, "superseded"), (rev, "failed"), (rev + 1, "superseded"), (rev + 2, "deployed")]
    assert hist[rev][3] == "Rollback to %d" % (rev - 1)                    # the guard's rollback
    assert hist[-1][2:] == ("unstick-demo-0.2.0", "Upgrade complete")       # then the upgrade
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "v2"
    assert "Rollback to %d" % (rev - 1) in run.stdout or "rollback" in run.stdout.lower()
    assert helmfix.newest(kube, "shop", "web") == (rev + 2, "deployed")


@both_helms
@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "rescue-rollback"])
def test_failed_upgrade_rescued_to_last_good(kube, helm_env, tmp_path, atomic, helm_bin):
    helm_env.install("web", "shop")
    helm_env.upgrade("web", "shop", chart=str(helmfix.make_chart(tmp_path, "0.2.0")))
    bad = helmfix.make_chart(tmp_path, "0.3.0", bad=True)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, bad, helm_bin, guarded_upgrade_atomic=atomic))
    assert run.rc != 0
    hist = history(helm_env)
    newest = hist[-1]
    assert newest[1:3] == ("deployed", "unstick-demo-0.2.0") and newest[3] == "Rollback to 2", hist
    assert hist[2][:2] == (3, "failed")                                    # the failed upgrade stays in history
    assert helmfix.newest(kube, "shop", "web") == (4, "deployed")          # not pending: Helm works
    msg = run.stdout
    assert "guarded upgrade of shop/web to %s failed" % bad in msg
    # Helm's own message: helm 4 sends the object and relays the server's 400 naming it; helm 3 already
    # fails decoding it into a typed ConfigMap
    assert "UPGRADE FAILED" in msg and ("web-bad" if "helm-v4." in helm_bin else "ConfigMap.data") in msg
    assert "started from revision 2 (unstick-demo-0.2.0)" in msg
    assert "newest revision after the failure: %s" % ("4 (deployed)" if atomic else "3 (failed)") in msg
    assert ("none needed (helm already rolled back)" if atomic else "helm rollback to revision 2") in msg
    assert "now: revision 4 (deployed, unstick-demo-0.2.0), unlocked" in msg
    assert run.recap("rescued") == 1
    helm_env.upgrade("web", "shop", chart=str(helmfix.make_chart(tmp_path, "0.4.0")))   # not locked
    assert history(helm_env)[-1][1:3] == ("deployed", "unstick-demo-0.4.0")


def test_healthy_release_upgraded_then_idempotent(kube, helm_env, tmp_path):
    helm_env.install("web", "shop")
    chart = helmfix.make_chart(tmp_path, "0.2.0")
    extra = guard_vars(kube, chart, guarded_upgrade_values={"message": "v2"})
    first = play(tmp_path, SAFE_UPGRADE, extra)
    assert first.rc == 0, first.text
    assert "not stuck; nothing to do" in first.stdout
    assert history(helm_env)[-1][:3] == (2, "deployed", "unstick-demo-0.2.0")
    assert first.recap("changed") == 1                                     # the upgrade, nothing else
    second = play(tmp_path, SAFE_UPGRADE, extra)
    assert second.rc == 0, second.text
    assert second.recap("changed") == 0 and "unchanged" in second.stdout
    assert len(helm_env.history("web", "shop")) == 2


def test_pending_revision_younger_than_min_age_is_left_alone(kube, helm_env, tmp_path):
    helm_env.install("web", "shop")
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "web", "shop")        # just now: may be a live deploy
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, helmfix.make_chart(tmp_path, "0.2.0")))
    assert run.rc != 0
    assert "revision %d is pending-upgrade and only" % rev in run.stdout
    assert "another deploy may still be running" in run.stdout
    assert helmfix.newest(kube, "shop", "web") == (rev, "pending-upgrade")  # untouched


@both_helms
def test_existing_deployment_playbook_with_the_guard(kube, helm_env, tmp_path, helm_bin):
    rev = stuck_web(helm_env, kube)
    chart = helmfix.make_chart(tmp_path, "0.2.0")
    run = play(tmp_path, EXISTING / "deploy.yml",
               {"app_kubeconfig": kube.kubeconfig, "app_helm": helm_bin, "app_chart": str(chart),
                "app_image_tag": "2.0", "app_values_file": str(tmp_path / "web-values.yaml")})
    assert run.rc == 0, run.text
    flags = ("--rollback-on-failure --wait=watcher --force-replace" if "helm-v4." in helm_bin
             else "--atomic --wait --force")                # helm 3 knows none of helm 4's names
    assert "helm upgrade flags: %s" % flags in run.stdout
    assert "deprecated" not in run.text                         # helm 4 would warn about --atomic
    hist = history(helm_env)
    assert hist[rev][3] == "Rollback to %d" % (rev - 1)
    assert hist[-1][1:3] == ("deployed", "unstick-demo-0.2.0")
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "web 2.0"


def test_helm_too_old_fails_before_touching_anything(kube, helm_env, tmp_path):
    helm_env.install("web", "shop")
    # no real helm 3.7 is built here: the stand-in says it is one (HELM_STANDIN_VERSION)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, helmfix.make_chart(tmp_path, "0.2.0"), HELM_STANDIN),
               env={"HELM_STANDIN_VERSION": "v3.7.2"})
    assert run.rc != 0
    assert "helm 3.7.2 (%s) is older than 3.8.0" % HELM_STANDIN in run.stdout
    assert len(helm_env.history("web", "shop")) == 1


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "no-atomic"])
def test_upgrade_that_leaves_the_release_pending_is_rescued(kube, helm_env, tmp_path, atomic):
    """Helm dies on its last write (one 500 on the new revision's record): `helm upgrade` fails and
    the new revision stays pending-upgrade, the lock of the seed's story. The rescue unlocks it at
    any age (it is our own upgrade, not someone else's) and rolls back to the last good revision."""
    helm_env.install("web", "shop")
    fault = kube.faults.error(500, verb="update", path=r"/secrets/sh\.helm\.release\.v1\.web\.v2$", count=1)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, helmfix.make_chart(tmp_path, "0.2.0"),
                                                  guarded_upgrade_atomic=atomic))
    assert fault.fired == 1
    assert run.rc != 0, run.text
    msg = run.stdout
    assert "newest revision after the failure: 2 (pending-upgrade)" in msg, msg[-3000:]
    assert "rescue: helm_unstick:" in msg and "STILL LOCKED" not in msg
    assert run.recap("rescued") == 1
    newest = helmfix.newest(kube, "shop", "web")
    assert not newest[1].startswith("pending-"), history(helm_env)
    assert newest[1] == "deployed" and history(helm_env)[-1][2:] == ("unstick-demo-0.1.0", "Rollback to 1"), \
        history(helm_env)                                                 # back on the last good revision
    assert "now: revision %d (%s" % newest in msg
    assert history(helm_env)[1][:2] == (2, "failed")                      # the pending one, marked failed
    helm_env.upgrade("web", "shop", chart=str(helmfix.make_chart(tmp_path, "0.3.0")))   # Helm is unblocked
    assert history(helm_env)[-1][1:3] == ("deployed", "unstick-demo-0.3.0")


def test_a_list_of_releases_on_two_clusters(kube, helm_env, tmp_path):
    """safe_upgrade.yml with guarded_upgrade_releases over two cluster hosts: the stuck release on one
    cluster is unstuck first, every release ends deployed on the new chart, each with its own values."""
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"us-token": None}) as other:
        us_kubeconfig = str(other.write_kubeconfig(tmp_path / "us-kubeconfig"))
        us_env = helmfix.HelmEnv(us_kubeconfig)
        stuck_rev = stuck_web(helm_env, kube)                           # eu: web stuck an hour ago
        helm_env.install("api", "shop")
        us_env.install("web", "shop")
        us_env.install("api", "shop")
        chart = str(helmfix.make_chart(tmp_path, "0.2.0"))
        extra = {"guarded_upgrade_helm_binary": str(HELM_BIN), "guarded_upgrade_timeout": "60s",
                 "guarded_upgrade_releases": [
                     {"release": "web", "namespace": "shop", "chart": chart, "values": {"message": "web v2"}},
                     {"release": "api", "namespace": "shop", "chart": chart, "values": {"message": "api v2"}}]}
        run = play(tmp_path, SAFE_UPGRADE, extra, hosts={
            "eu": {"guarded_upgrade_kubeconfig": kube.kubeconfig},
            "us": {"guarded_upgrade_kubeconfig": us_kubeconfig}})
        assert run.rc == 0, run.text
        for server, env in ((kube, helm_env), (other, us_env)):
            for name in ("web", "api"):
                assert env.history(name, "shop")[-1]["status"] == "deployed"
                assert env.history(name, "shop")[-1]["chart"] == "unstick-demo-0.2.0"
                assert server.store.get("configmaps", "shop", name + "-config")["data"]["message"] == name + " v2"
        eu_web = history(helm_env)
        assert eu_web[stuck_rev - 1][1] == "failed" and eu_web[stuck_rev][3] == "Rollback to %d" % (stuck_rev - 1)
        assert [h["revision"] for h in us_env.history("web", "shop")] == [1, 2]     # no rollback where none was stuck
        assert re.search(r"eu\s+: ok=\d+\s+changed=[1-9]", run.stdout) and re.search(r"us\s+: ok=", run.stdout)


def test_existing_deployment_playbook_hands_the_whole_upgrade_to_the_guard(kube, helm_env, tmp_path):
    """deploy_guarded.yml: `include_role ... tasks_from: guard` does steps 1-5 for an existing playbook:
    a stuck release is rolled back and upgraded; then a bad chart is rescued to the last good revision."""
    rev = stuck_web(helm_env, kube)
    app = {"app_kubeconfig": kube.kubeconfig, "app_helm": str(HELM_BIN), "app_image_tag": "2.0",
           "app_chart": str(helmfix.make_chart(tmp_path, "0.2.0")), "app_values_file": str(tmp_path / "v.yaml")}
    run = play(tmp_path, EXISTING / "deploy_guarded.yml", app)
    assert run.rc == 0, run.text
    hist = history(helm_env)
    assert hist[rev][3] == "Rollback to %d" % (rev - 1)                     # step 2: the guard's rollback
    assert hist[-1][1:] == ("deployed", "unstick-demo-0.2.0", "Upgrade complete")   # step 3
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "web 2.0"   # values file
    assert "deployed web 2.0 (1 stuck revision(s) fixed first)" in run.stdout     # the playbook went on
    good = hist[-1][0]
    bad = dict(app, app_image_tag="3.0", app_chart=str(helmfix.make_chart(tmp_path, "0.3.0", bad=True)))
    failed = play(tmp_path, EXISTING / "deploy_guarded.yml", bad)
    assert failed.rc != 0 and "guarded upgrade of shop/web to %s failed" % bad["app_chart"] in failed.stdout
    assert "deployed web 3.0" not in failed.stdout                          # the play stopped
    newest = history(helm_env)[-1]
    assert newest[1:] == ("deployed", "unstick-demo-0.2.0", "Rollback to %d" % good)   # step 5: rescued
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "web 2.0"


def test_unreadable_helm_version_fails_before_touching_anything(kube, helm_env, tmp_path):
    helm_env.install("web", "shop")
    missing = tmp_path / "no-such-helm"
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(kube, helmfix.make_chart(tmp_path, "0.2.0"),
                                                  guarded_upgrade_helm_binary=str(missing)))
    assert run.rc != 0
    assert "guarded upgrade of shop/web: could not read the helm version from '%s version" % missing in run.stdout
    assert "helm 3.x or 4.x is needed" in run.stdout
    assert len(helm_env.history("web", "shop")) == 1


def test_the_guard_acts_only_on_the_cluster_it_checked(kube, helm_env, tmp_path):
    """The controller's HELM_KUBECONTEXT / HELM_NAMESPACE / HELM_KUBEAPISERVER point at another cluster of
    the same kubeconfig: the check, the upgrade (kubernetes.core.helm), the rescue's rollback and the
    verification all stay on the cluster the guard checked; the other one is byte for byte unchanged."""
    from localkube import LocalKube
    with LocalKube() as other:
        doc = yaml.safe_load(open(kube.kubeconfig))
        other_doc = yaml.safe_load(open(other.write_kubeconfig(tmp_path / "other", context="eu-prod")))
        for key in ("clusters", "users", "contexts"):
            doc[key] += [dict(item, name="eu-prod") for item in other_doc[key]]
        doc["contexts"][-1]["context"] = {"cluster": "eu-prod", "user": "eu-prod"}
        both = tmp_path / "both-kubeconfig"
        both.write_text(yaml.safe_dump(doc))                    # current-context: the checked cluster
        helm_env.install("web", "shop")
        helm_env.upgrade("web", "shop", chart=str(helmfix.make_chart(tmp_path, "0.2.0")))
        other_env = helmfix.HelmEnv(str(tmp_path / "other"))
        other_env.install("web", "shop")
        untouched = sorted(json.dumps(o, sort_keys=True) for o in other.store.list("secrets", "shop"))
        bad = helmfix.make_chart(tmp_path, "0.3.0", bad=True)
        elsewhere = {"HELM_KUBECONTEXT": "eu-prod", "HELM_NAMESPACE": "kube-system",
                     "HELM_KUBEAPISERVER": other.url}
        run = play(tmp_path, SAFE_UPGRADE, dict(guard_vars(kube, bad, guarded_upgrade_atomic=False),
                                                guarded_upgrade_kubeconfig=str(both)), env=elsewhere)
        assert run.rc != 0 and "helm rollback to revision 2" in run.stdout, run.stdout[-3000:]
        hist = history(helm_env)
        assert [h[:2] for h in hist] == [(1, "superseded"), (2, "superseded"), (3, "failed"), (4, "deployed")]
        assert hist[-1][3] == "Rollback to 2"
        assert sorted(json.dumps(o, sort_keys=True) for o in other.store.list("secrets", "shop")) == untouched


def test_the_guard_with_k8s_auth_only(tmp_path):
    """An AWX-style bearer-token credential (K8S_AUTH_* only, no guarded_upgrade_* connection variables):
    the check, the upgrade and the verification all reach the TLS cluster."""
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"awx-t0ken": None}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin"))
        env.install("web", "shop")
        chart = helmfix.make_chart(tmp_path, "0.2.0")
        kube.kubeconfig = None
        extra = guard_vars(kube, chart)
        del extra["guarded_upgrade_kubeconfig"]
        run = play(tmp_path, SAFE_UPGRADE, extra, env={
            "K8S_AUTH_HOST": kube.url, "K8S_AUTH_API_KEY": "awx-t0ken", "K8S_AUTH_SSL_CA_CERT": kube.ca_file,
            "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)})
        assert run.rc == 0, run.text[-3000:]
        assert [(h["revision"], h["status"]) for h in env.history("web", "shop")] == [(1, "superseded"),
                                                                                      (2, "deployed")]
        assert "awx-t0ken" not in run.text
