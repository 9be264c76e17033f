# SPDX-License-Identifier: GPL-3.0-or-later
"""Guarded upgrades (playbooks/safe_upgrade.yml, role helmops.unstick.guarded_upgrade, module helm_guard) end to
end: ansible-playbook against localkube, releases left stuck by the real helm CLI killed midway, upgrades run
by the real helm CLI (helm 4; the stuck path and the rescue also on helm 3), hosts from the
helmops.unstick.kubeconfig inventory plugin where the issue's user had them."""

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
from realhelm import RealHelm
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


def play(tmp_path, playbook, extra, env=None, hosts=None, inventory=None, args=()):
    """ansible-playbook PLAYBOOK with extra vars, over ``inventory`` (a path) or an inventory of ``hosts``
    (default: one cluster host "local" with nothing set)."""
    work = Path(tmp_path) / ("play-%d" % len(list(Path(tmp_path).glob("play-*"))))
    work.mkdir()
    if inventory is None:
        inventory = work / "clusters.yml"
        inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": hosts or {"local": {}}}}))
    extra_file = work / "vars.json"
    extra_file.write_text(json.dumps(dict(extra, ansible_python_interpreter=sys.executable)))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-e", "@%s" % extra_file,
           str(playbook)] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(work),
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", **(env or {})))
    return Play(proc)


def kubeconfig_inventory(tmp_path, *kubeconfigs):
    """An inventory source of the collection's own kubeconfig plugin: one host per context."""
    source = Path(tmp_path) / "clusters.kubeconfig.yml"
    source.write_text(yaml.safe_dump({"plugin": "helmops.unstick.kubeconfig", "kubeconfigs": [str(k) for k in kubeconfigs]}))
    return source


def with_dead_context(kubeconfig, name="eu-prod"):
    """Add a context whose API server answers nothing: a host a --limit must leave out."""
    doc = yaml.safe_load(open(kubeconfig))
    doc["clusters"].append({"name": name, "cluster": {"server": "http://127.0.0.1:1"}})
    doc["users"].append({"name": name, "user": {"token": "none"}})
    doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    Path(kubeconfig).write_text(yaml.safe_dump(doc))


def guard_vars(chart, helm=HELM_BIN, **extra):
    args = {"guarded_upgrade_helm_binary": str(helm), "guarded_upgrade_release": "web",
            "guarded_upgrade_namespace": "shop", "guarded_upgrade_chart": str(chart), "guarded_upgrade_timeout": "60s"}
    args.update(extra)
    return args


def one_cluster(kube):
    return {"local": {"stuck_releases_kubeconfig": kube.kubeconfig}}


def history(env, name="web", ns="shop"):
    return [(h["revision"], h["status"], h["chart"], h["description"]) for h in env.history(name, ns)]


def records(kube, ns="shop"):
    return sorted(json.dumps(o, sort_keys=True) for o in kube.store.list("secrets", ns))


def guard_requests(kube):
    """Requests for release records made by the modules (the Python client), not by helm."""
    return [(r["method"], r["path"].split("?")[0].rsplit("/", 1)[-1]) for r in kube.requests
            if "/secrets" in r["path"] and not (r["user_agent"] or "").startswith("Helm/")]


def stuck_web(real, kube, age=3600):
    """The seed's story with the real helm CLI: web installed, upgraded, then an upgrade killed midway
    (``age`` seconds ago)."""
    real.install("web", "shop")
    real.upgrade("web", "shop")
    # new values: helm 3 patches only what changed, and the stuck-maker kills it while it patches
    rev = helmfix.make_stuck_upgrade(real, kube, "web", "shop", values={"message": "half-done"})
    if age:
        helmfix.age_record(kube, "shop", "web", rev, age)
    assert "another operation" in real.refusal("web", "shop")
    return rev


@both_helms
def test_stuck_release_unstuck_then_upgraded_over_the_kubeconfig_inventory(kube, helm_env, real_helm, tmp_path,
                                                                           helm_bin):
    """The issue's second user: safe_upgrade.yml over the collection's own inventory plugin (which sets
    stuck_releases_kubeconfig/_context) unsticks the release and upgrades it."""
    rev = stuck_web(real_helm, kube)
    chart = helmfix.make_chart(tmp_path, "0.2.0")
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(chart, helm_bin, guarded_upgrade_values={"message": "v2"}),
               inventory=kubeconfig_inventory(tmp_path, kube.kubeconfig))
    assert run.rc == 0, run.text
    hist = history(helm_env)
    assert [(r, s) for r, s, _, _ in hist] == [
        (1, "superseded"), (2, "superseded"), (rev, "failed"), (rev + 1, "superseded"), (rev + 2, "deployed")]
    assert hist[rev][3] == "Rollback to %d" % (rev - 1)                    # the guard's rollback
    assert hist[-1][2:] == ("unstick-demo-0.2.0", "Upgrade complete")       # then the upgrade
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "v2"
    assert ("shop/web: revision %d was stuck in pending-upgrade" % rev) in run.stdout
    assert ("rolled back to revision %d, now revision %d); the upgrade starts from revision %d"
            % (rev - 1, rev + 1, rev + 1)) in run.stdout
    assert "shop/web: revision %d (deployed, unstick-demo-0.2.0)" % (rev + 2) in run.stdout
    assert re.search(r"localkube\s+: ok=\d+\s+changed=2\s+unreachable=0\s+failed=0", run.stdout), run.stdout


def test_check_mode_on_a_stuck_release_writes_nothing_and_says_what_would_happen(kube, real_helm, tmp_path):
    """The issue's first user: --check --limit us-prod over a kubeconfig inventory (the other context is a dead
    cluster the limit leaves out) exits 0, writes nothing and says what a real run would do; --diff shows the
    release before and after."""
    rev = stuck_web(real_helm, kube)
    kubeconfig = kube.write_kubeconfig(tmp_path / "fleet-kubeconfig", context="us-prod")
    with_dead_context(kubeconfig)
    before = records(kube)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(helmfix.make_chart(tmp_path, "0.2.0")),
               inventory=kubeconfig_inventory(tmp_path, kubeconfig), args=["--check", "--diff", "--limit", "us-prod"])
    assert run.rc == 0, run.text
    assert records(kube) == before                                          # nothing written, byte for byte
    assert ("check mode: shop/web: revision %d was stuck in pending-upgrade (36" % rev) in run.stdout
    assert "would roll back to revision %d, then upgrade" % (rev - 1) in run.stdout
    # the upgrade's own check compares with the stuck revision, not the one the rollback would leave: no prediction
    assert ("check mode: whether the upgrade would change shop/web cannot be known: it would start from the "
            "release as the guard leaves it (would roll back to revision %d" % (rev - 1)) in run.stdout, run.stdout
    assert "check mode: the upgrade would change shop/web" not in run.stdout
    assert "check mode: shop/web: would check that the upgrade landed" in run.stdout
    assert re.search(r"-\s+\"shop/web\": \"revision %d \(pending-upgrade, unstick-demo-0.1.0\)\"" % rev, run.stdout)
    assert re.search(r"\+\s+\"shop/web\": \"check mode: would roll back to revision %d\"" % (rev - 1), run.stdout)
    assert "eu-prod" not in run.stdout                                      # --limit: the dead cluster was not run
    assert helmfix.newest(kube, "shop", "web") == (rev, "pending-upgrade")


@both_helms
@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "rescue-rollback"])
def test_failed_upgrade_rescued_to_last_good(kube, helm_env, real_helm, tmp_path, atomic, helm_bin):
    real_helm.install("web", "shop")
    real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    bad = helmfix.make_chart(tmp_path, "0.3.0", bad=True)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(bad, helm_bin, guarded_upgrade_atomic=atomic),
               hosts=one_cluster(kube))
    assert run.rc != 0
    hist = history(helm_env)
    newest = hist[-1]
    assert newest[1:3] == ("deployed", "unstick-demo-0.2.0") and newest[3] == "Rollback to 2", hist
    assert hist[2][:2] == (3, "failed")                                    # the failed upgrade stays in history
    assert hist[2][3].startswith("Upgrade \"web\" failed")                 # with Helm's own error
    assert helmfix.newest(kube, "shop", "web") == (4, "deployed")          # not pending: Helm works
    msg = run.stdout
    assert "guarded upgrade of shop/web to %s failed: " % bad in msg
    # Helm's own message: helm 4 sends the object and relays the server's 400 naming it; helm 3 already
    # fails decoding it into a typed ConfigMap
    assert "UPGRADE FAILED" in msg and ("web-bad" if "helm-v4." in helm_bin else "ConfigMap.data") in msg
    assert "started from revision 2 | newest revision after the failure: " in msg
    if atomic:
        assert "after the failure: 4 (deployed, unstick-demo-0.2.0) | rescue: none needed (helm already rolled " \
               "back: revision 4, Rollback to 2)" in msg
    else:
        assert "after the failure: 3 (failed, unstick-demo-0.3.0) | rescue: restore: now deployed (rolled back to " \
               "revision 2, now revision 4)" in msg
    assert "now: revision 4 (deployed, unstick-demo-0.2.0), unlocked" in msg
    assert run.recap("rescued") == 1 and run.recap("failed") == 1
    # the failed upgrade wrote revisions 3 and 4 (helm's or the guard's rollback): the release changed
    assert run.recap("changed") == 1, msg
    real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.4.0"))   # not locked
    assert history(helm_env)[-1][1:3] == ("deployed", "unstick-demo-0.4.0")


def test_healthy_release_upgraded_then_idempotent_with_one_scan_per_phase(kube, helm_env, real_helm, tmp_path):
    real_helm.install("web", "shop")
    chart = helmfix.make_chart(tmp_path, "0.2.0")
    extra = guard_vars(chart, guarded_upgrade_values={"message": "v2"})
    kube.requests.clear()
    first = play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube))
    assert first.rc == 0, first.text
    # each phase: one list of the release's records (metadata), one GET of its newest record; nothing else
    assert guard_requests(kube) == [("GET", "secrets"), ("GET", "sh.helm.release.v1.web.v1"),
                                    ("GET", "secrets"), ("GET", "sh.helm.release.v1.web.v2")]
    assert "shop/web: not stuck; the upgrade starts from revision 1 (deployed, unstick-demo-0.1.0)" in first.stdout
    assert history(helm_env)[-1][:3] == (2, "deployed", "unstick-demo-0.2.0")
    assert first.recap("changed") == 1 and first.recap("rescued") == 0    # the upgrade, nothing else
    second = play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube))
    assert second.rc == 0, second.text
    assert second.recap("changed") == 0 and "shop/web: revision 2 (deployed, unstick-demo-0.2.0), unchanged" in \
        second.stdout
    assert len(helm_env.history("web", "shop")) == 2


@both_helms
@pytest.mark.parametrize("wait, failure, check_said", [
    (0, r"revision {rev} is pending-upgrade and only \d+s old \(min_age 15m\): another deploy may still be running, "
        r"so nothing was touched and no upgrade was started\. Retry later",
     "check mode: a real run would stop here: guarded upgrade of shop/web: revision {rev}"),
    ("4s", r"waited \d+s \(wait_for_pending 4s\) for revision {rev} \(pending-upgrade, \d+s old; description '[^']+'; "
           r"written by [^)]*\) to finish, and it is still in progress: .*Nothing was touched and no upgrade was started",
     "would wait up to 4s (wait_for_pending) for revision {rev} (pending-upgrade"),
], ids=["no-wait", "wait-runs-out"])
def test_young_pending_revision_stops_with_retry_later_and_is_left_alone(kube, real_helm, tmp_path, wait, failure,
                                                                         check_said, helm_bin):
    """wait_for_pending 0: the guard fails at once; 4s: it waits, then fails naming what it waited for (the wait
    that ends well: tests/e2e/test_guard_waits.py). Nothing written either way; check mode waits for nothing."""
    rev = stuck_web(real_helm, kube, age=0)                                 # just now: may be a live deploy
    extra = guard_vars(helmfix.make_chart(tmp_path, "0.2.0"), helm_bin, guarded_upgrade_wait_for_pending=wait)
    before = records(kube)
    run = play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube))
    assert run.rc != 0
    assert re.search("guarded upgrade of shop/web: " + failure.format(rev=rev), run.stdout), run.stdout
    assert records(kube) == before
    assert '"proceed": false' in run.stdout and '"stopped": true' in run.stdout, run.stdout   # no upgrade may start
    check = play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube), args=["--check"])
    assert check.rc == 0, check.text                                        # check mode: a warning, not a failure
    assert check_said.format(rev=rev) in check.text
    assert "the upgrade would" not in check.stdout and "would check that the upgrade landed" not in check.stdout
    assert records(kube) == before
    # min_age given as a number of seconds is shown with its unit (no wait: the message of the guard's own check)
    seconds = play(tmp_path, SAFE_UPGRADE, dict(extra, guarded_upgrade_min_age=7200, guarded_upgrade_wait_for_pending=0),
                   hosts=one_cluster(kube))
    assert seconds.rc != 0 and "s old (min_age 2h): another deploy" in seconds.stdout, seconds.stdout


@both_helms
def test_existing_deployment_playbook_with_the_guard_before_its_own_command(kube, helm_env, real_helm, tmp_path,
                                                                            helm_bin):
    rev = stuck_web(real_helm, kube)
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


def test_existing_deployment_playbook_runs_its_own_deploy_inside_the_guard(kube, helm_env, real_helm, tmp_path):
    """deploy_guarded.yml: `include_role ... tasks_from: guard` with guarded_upgrade_upgrade_tasks runs the
    playbook's own Deploy task (deploy-web.yml) between the two phases: a stuck release is rolled back and
    deployed; then a chart the API server rejects fails the Deploy, and the play fails with both errors."""
    rev = stuck_web(real_helm, kube)
    app = {"app_kubeconfig": kube.kubeconfig, "app_helm": str(HELM_BIN), "app_image_tag": "2.0",
           "app_chart": str(helmfix.make_chart(tmp_path, "0.2.0")), "app_values_file": str(tmp_path / "v.yaml")}
    run = play(tmp_path, EXISTING / "deploy_guarded.yml", app)
    assert run.rc == 0, run.text
    hist = history(helm_env)
    assert hist[rev][3] == "Rollback to %d" % (rev - 1)                     # the guard's rollback
    assert hist[-1][1:] == ("deployed", "unstick-demo-0.2.0", "Upgrade complete")   # the playbook's own Deploy
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "web 2.0"   # values file
    assert "TASK [helmops.unstick.guarded_upgrade : Deploy]" in run.stdout
    assert "deployed web 2.0 (1 stuck revision(s) fixed first)" in run.stdout     # the playbook went on
    good = hist[-1][0]
    bad = dict(app, app_image_tag="3.0", app_chart=str(helmfix.make_chart(tmp_path, "0.3.0", bad=True)))
    failed = play(tmp_path, EXISTING / "deploy_guarded.yml", bad)
    assert failed.rc != 0 and "guarded upgrade of shop/web to %s failed: Error: UPGRADE FAILED" % bad["app_chart"] \
        in failed.stdout
    # the Deploy's own --rollback-on-failure put it back first; the phase after checked and said so
    assert "rescue: none needed (helm already rolled back: revision %d, Rollback to %d)" % (good + 2, good) \
        in failed.stdout
    assert "deployed web 3.0" not in failed.stdout                          # the play stopped
    newest = history(helm_env)[-1]
    assert newest[1:] == ("deployed", "unstick-demo-0.2.0", "Rollback to %d" % good)
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "web 2.0"


def test_helm_too_old_fails_before_touching_anything(kube, helm_env, real_helm, tmp_path):
    real_helm.install("web", "shop")
    # no real helm 3.7 is built here: the stand-in says it is one (HELM_STANDIN_VERSION)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(helmfix.make_chart(tmp_path, "0.2.0"), HELM_STANDIN),
               env={"HELM_STANDIN_VERSION": "v3.7.2"}, hosts=one_cluster(kube))
    assert run.rc != 0
    assert "guarded upgrade of shop/web: helm 3.7.2 (%s) is older than 3.8.0" % HELM_STANDIN in run.stdout
    assert "Nothing was read or touched" in run.stdout
    assert len(helm_env.history("web", "shop")) == 1


def test_unreadable_helm_fails_before_touching_anything(kube, helm_env, real_helm, tmp_path):
    real_helm.install("web", "shop")
    missing = tmp_path / "no-such-helm"
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(helmfix.make_chart(tmp_path, "0.2.0"),
                                                  guarded_upgrade_helm_binary=str(missing)), hosts=one_cluster(kube))
    assert run.rc != 0
    assert "guarded upgrade of shop/web: helm_binary: %s is not an executable file; helm 3.x or 4.x is needed" \
        % missing in run.stdout
    assert len(helm_env.history("web", "shop")) == 1


def test_old_connection_variables_fail_naming_the_new_ones(kube, helm_env, real_helm, tmp_path):
    real_helm.install("web", "shop")
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(helmfix.make_chart(tmp_path, "0.2.0"),
                                                  guarded_upgrade_kubeconfig=kube.kubeconfig))
    assert run.rc != 0
    assert "guarded upgrade of shop/web: guarded_upgrade_kubeconfig is no longer read" in run.stdout
    assert "Rename guarded_upgrade_kubeconfig to stuck_releases_kubeconfig. Nothing was touched." in run.stdout
    assert len(helm_env.history("web", "shop")) == 1


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "no-atomic"])
def test_upgrade_that_leaves_the_release_pending_is_rescued(kube, helm_env, real_helm, tmp_path, atomic):
    """Helm dies on its last write (one 500 on the new revision's record): `helm upgrade` fails and
    the new revision stays pending-upgrade, the lock of the seed's story. The phase after unsticks it at
    any age (it is our own upgrade's, not someone else's) by rolling back to the last good revision."""
    real_helm.install("web", "shop")
    fault = kube.faults.error(500, verb="update", path=r"/secrets/sh\.helm\.release\.v1\.web\.v2$", count=1)
    run = play(tmp_path, SAFE_UPGRADE, guard_vars(helmfix.make_chart(tmp_path, "0.2.0"),
                                                  guarded_upgrade_atomic=atomic), hosts=one_cluster(kube))
    assert fault.fired == 1
    assert run.rc != 0, run.text
    msg = run.stdout
    assert "newest revision after the failure: 2 (pending-upgrade, unstick-demo-0.2.0)" in msg, msg[-3000:]
    assert "rescue: rollback: now deployed (rolled back to revision 1, now revision 3)" in msg
    assert "STILL LOCKED" not in msg and run.recap("rescued") == 1
    assert history(helm_env)[-1][1:] == ("deployed", "unstick-demo-0.1.0", "Rollback to 1")
    assert "now: revision 3 (deployed, unstick-demo-0.1.0), unlocked" in msg
    assert history(helm_env)[1][:2] == (2, "failed")                      # the pending one, marked failed
    real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.3.0"))   # Helm is unblocked
    assert history(helm_env)[-1][1:3] == ("deployed", "unstick-demo-0.3.0")


def test_a_list_of_releases_on_two_clusters(kube, helm_env, real_helm, tmp_path):
    """safe_upgrade.yml with guarded_upgrade_releases over two cluster hosts: the stuck release on one
    cluster is unstuck first, every release ends deployed on the new chart, each with its own values."""
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"us-token": None}) as other:
        us_kubeconfig = str(other.write_kubeconfig(tmp_path / "us-kubeconfig"))
        us_env, us_real = helmfix.HelmEnv(us_kubeconfig), RealHelm(us_kubeconfig, HELM_BIN)
        stuck_rev = stuck_web(real_helm, kube)                          # eu: web stuck an hour ago
        real_helm.install("api", "shop")
        us_real.install("web", "shop")
        us_real.install("api", "shop")
        chart = str(helmfix.make_chart(tmp_path, "0.2.0"))
        extra = {"guarded_upgrade_helm_binary": str(HELM_BIN), "guarded_upgrade_timeout": "60s",
                 "guarded_upgrade_releases": [
                     {"release": "web", "namespace": "shop", "chart": chart, "values": {"message": "web v2"}},
                     {"release": "api", "namespace": "shop", "chart": chart, "values": {"message": "api v2"}}]}
        run = play(tmp_path, SAFE_UPGRADE, extra, hosts={
            "eu": {"stuck_releases_kubeconfig": kube.kubeconfig},
            "us": {"stuck_releases_connection": {"kubeconfig": us_kubeconfig}}})
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


def test_the_guard_acts_only_on_the_cluster_it_checked(kube, helm_env, real_helm, tmp_path):
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
        real_helm.install("web", "shop")
        real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
        RealHelm(tmp_path / "other", HELM_BIN).install("web", "shop")
        untouched = sorted(json.dumps(o, sort_keys=True) for o in other.store.list("secrets", "shop"))
        bad = helmfix.make_chart(tmp_path, "0.3.0", bad=True)
        elsewhere = {"HELM_KUBECONTEXT": "eu-prod", "HELM_NAMESPACE": "kube-system",
                     "HELM_KUBEAPISERVER": other.url}
        run = play(tmp_path, SAFE_UPGRADE, guard_vars(bad, guarded_upgrade_atomic=False),
                   hosts={"local": {"stuck_releases_kubeconfig": str(both)}}, env=elsewhere)
        assert run.rc != 0 and "rolled back to revision 2, now revision 4" in run.stdout, run.stdout[-3000:]
        hist = history(helm_env)
        assert [h[:2] for h in hist] == [(1, "superseded"), (2, "superseded"), (3, "failed"), (4, "deployed")]
        assert hist[-1][3] == "Rollback to 2"
        assert sorted(json.dumps(o, sort_keys=True) for o in other.store.list("secrets", "shop")) == untouched


def test_the_guard_with_k8s_auth_only(tmp_path):
    """An AWX-style bearer-token credential (K8S_AUTH_* only, no connection variables): the check, the upgrade
    and the verification all reach the TLS cluster."""
    from localkube import LocalKube
    with LocalKube(tls=True, tokens={"awx-t0ken": None}) as kube:
        admin = kube.write_kubeconfig(tmp_path / "admin")
        env = helmfix.HelmEnv(admin)
        RealHelm(admin, HELM_BIN).install("web", "shop")
        chart = helmfix.make_chart(tmp_path, "0.2.0")
        run = play(tmp_path, SAFE_UPGRADE, guard_vars(chart), env={
            "K8S_AUTH_HOST": kube.url, "K8S_AUTH_API_KEY": "awx-t0ken", "K8S_AUTH_SSL_CA_CERT": kube.ca_file,
            "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)})
        assert run.rc == 0, run.text[-3000:]
        assert [(h["revision"], h["status"]) for h in env.history("web", "shop")] == [(1, "superseded"),
                                                                                      (2, "deployed")]
        assert "awx-t0ken" not in run.text
