# SPDX-License-Identifier: GPL-3.0-or-later
"""Liveness beyond age, on the real kube-apiserver with real helm: a pending revision older than min_age whose
pre-upgrade hook Job is still running (no controller-manager runs here, so it never finishes: a real "still
running") is left alone as possibly_running (and once unlocked regardless, with liveness_checks false, a later
helm upgrade makes helm_restore refuse to put it back); so is one whose objects helm wrote within min_age (a pre-upgrade
hook Pod that finished late, then helm applied the chart); and the seed's case (client gone, a Deployment
that never becomes ready, nothing written since) is still remediated, with a backup in the cluster that
helm_restore puts back byte for byte. Events of all of it in ``kubectl get events``."""

import json
import subprocess
import time

import pytest

import helmfix
from fleet_run import report_files, run_playbook, write_inventory
from playbook_run import ROOT, run_module
from realkube.stuck import kill, workload_chart

pytestmark = pytest.mark.slow
REPORT = ROOT / "playbooks" / "report.yml"

_JOB_HOOK = """apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    "helm.sh/hook": pre-upgrade
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.invalid/never-pulled:migrate
"""

_POD_HOOK = """apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-check
  annotations:
    "helm.sh/hook": pre-upgrade
spec:
  restartPolicy: Never
  containers:
    - name: check
      image: registry.invalid/never-pulled:check
"""


def hook_chart(tmp_path, version, hook, workload=False):
    chart = workload_chart(tmp_path, version) if workload else helmfix.make_chart(tmp_path, version)
    (chart / "templates" / "hook.yaml").write_text(hook)
    return chart


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "never: %s" % what
        time.sleep(0.1)


def records(kube, ns):
    """{record name: (data, labels)} of the Helm records of a namespace, as the real server holds them."""
    return {o["metadata"]["name"]: (o["data"], o["metadata"]["labels"])
            for o in kube.store.list("secrets", ns, label_selector="owner=helm")}


def in_process(kube, **params):
    """helm_unstick's run (runner.run, as the module calls it) against the real server, without ansible-playbook."""
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
    from module_client import module_client
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec
    connection = dict((k, None) for k in AUTH_ARG_SPEC)
    connection["kubeconfig"] = str(kube.kubeconfig)
    args = dict((name, spec.get("default")) for name, spec in argument_spec().items())
    args.update(params)
    return runner.run(args, ReleaseStorage(KubeApi(module_client(connection))), "realkube", "test@host")


def record(kube, ns, name, rev):
    return kube.store.get("secrets", ns, "sh.helm.release.v1.%s.v%d" % (name, rev))


def test_a_running_pre_upgrade_hook_job_is_possibly_running(tmp_path, kube, ns, real_helm, unstick, module_args):
    shop = ns("hookjob")
    real_helm.install("web", shop)
    proc = real_helm.start("upgrade", "web", shop, chart=hook_chart(tmp_path, "0.2.0", _JOB_HOOK),
                           extra=["--timeout", "30m"])
    try:
        wait_for("the hook Job", lambda: kube.request("GET", "/apis/batch/v1/namespaces/%s/jobs/web-migrate"
                                                      % shop)[0] == 200)
        wait_for("the pending revision", lambda: helmfix.newest(kube, shop, "web") == (2, "pending-upgrade"))
    finally:
        kill(proc)                                   # the client is gone; the Job runs on (forever, here)
    time.sleep(2.5)                                  # older than min_age by the server's clock
    rv = record(kube, shop, "web", 2)["metadata"]["resourceVersion"]
    run = unstick(module_args(strategy="unlock", min_age="2s", namespaces=[shop]))
    assert run.rc == 0, run.text
    [entry] = run["releases"]
    assert (entry["name"], entry["state"], entry["revision"]) == ("web", "possibly_running", 2), run.text
    assert "hook Job %s/web-migrate (pre-upgrade) has not finished" % shop in entry["reason"], run.text
    assert run["remediated"] == [] and run["changed"] is False, run.text
    assert record(kube, shop, "web", 2)["metadata"]["resourceVersion"] == rv       # not touched
    # the hook Job, then the chart's ConfigMap: two GETs for this release
    assert run["liveness_requests"] == 2, run.text
    events = kube.store.list("events", shop)
    assert [(e["reason"], e["type"]) for e in events] == [("Refused", "Warning")], events
    assert "has not finished" in events[0]["message"]
    # report.yml (report only: the liveness checks run there too) counts it in progress, and as a CI gate
    # (stuck_releases_fail_on_stuck) fails on it: a release pending past min_age needs a human
    inventory = write_inventory(tmp_path / "inventory.yml", {"c": {"stuck_releases_kubeconfig": kube.kubeconfig}})
    gate = run_playbook(tmp_path, REPORT, inventory, {"stuck_releases_min_age": "2s", "stuck_releases_namespaces": [shop],
                                                      "stuck_releases_fail_on_stuck": True,
                                                      "stuck_releases_report_dir": str(tmp_path / "gate")})
    assert gate.rc == 2 and gate.recap["c"]["failed"] == 1, gate.text
    assert "1 release(s) pending past min_age and possibly still running, left alone: %s/web revision 2" % shop \
        in " ".join(gate.stdout.split()), gate.text
    data = json.loads(report_files(tmp_path / "gate")["json"].read_text())
    assert (data["summary"]["in_progress"], data["summary"]["stuck"], data["summary"]["remaining"]) == (1, 0, 0)
    assert [(r["state"], r["action_taken"]) for r in data["releases"]] == [("possibly_running",
                                                                             "none (may still be running)")]
    assert record(kube, shop, "web", 2)["metadata"]["resourceVersion"] == rv       # still not touched

    off = unstick(module_args(strategy="unlock", min_age="2s", namespaces=[shop], liveness_checks=False,
                              backup=["cluster"]))
    assert [(e["name"], e["state"]) for e in off["releases"]] == [("web", "remediated")], off.text
    assert real_helm.history("web", shop)[-1] == (2, "failed")
    # a later helm upgrade moves the release on: the restore of that run is refused on the real server too
    real_helm.upgrade("web", shop, helmfix.make_chart(tmp_path, "0.3.0"))
    moved = records(kube, shop)
    back = run_module(tmp_path, {"kubeconfig": kube.kubeconfig, "run": off["run_id"]}, module="helm_restore")
    assert back["failed"] is True and back["releases"][0]["state"] == "refused", back.text
    assert "revision 3 (deployed) is new" in back["releases"][0]["reason"], back.text
    assert records(kube, shop) == moved


def test_a_recent_helm_write_is_left_alone_and_the_seeds_case_is_still_fixed(tmp_path, kube, ns, real_helm,
                                                                             unstick, module_args):
    shop = ns("recent")
    # the ServiceAccount admission wants the pod's account; no controller-manager makes "default" here
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": shop}})
    real_helm.install("web", shop, chart=workload_chart(tmp_path, "0.1.0"))
    chart = hook_chart(tmp_path, "0.2.0", _POD_HOOK, workload=True)
    proc = real_helm.start("upgrade", "web", shop, chart=chart, extra=real_helm.wait_flags() + ["--timeout", "30m"])
    pod = "/api/v1/namespaces/%s/pods/web-check" % shop
    deployment = "/apis/apps/v1/namespaces/%s/deployments/web-app" % shop
    try:
        wait_for("the hook Pod", lambda: kube.request("GET", pod)[0] == 200)
        time.sleep(4)                                # the hook takes its time; helm waits for it
        _, _, obj = kube.request("GET", pod)
        obj["status"] = dict(obj.get("status") or {}, phase="Succeeded")   # as the kubelet would report it
        code, _, body = kube.request("PUT", pod + "/status", obj)
        assert code == 200, body
        # then helm applies the chart (a real helm write) and waits for the Deployment, which never gets ready
        wait_for("helm's update of the Deployment", lambda: kube.request("GET", deployment)[2]["spec"]["template"][
            "spec"]["containers"][0]["image"].endswith(":0.2.0"))
    finally:
        kill(proc)
    # the module's run, in this process: ansible-playbook's start-up (seconds on a loaded machine) would blur
    # "helm wrote it less than min_age ago"
    run = in_process(kube, strategy="unlock", min_age="3s", namespaces=[shop])
    [entry] = run["releases"]
    # the record is older than min_age (helm last wrote it when the hook started), the Deployment is not
    assert entry["age_seconds"] >= 3 and entry["state"] == "possibly_running", run
    assert "Deployment %s/web-app was written by helm" % shop in entry["reason"], run
    assert run["liveness_requests"] == 3, run         # the hook Pod, the Deployment, the ConfigMap
    assert helmfix.newest(kube, shop, "web") == (2, "pending-upgrade")

    # the seed's case: the client is gone and nothing has been written for min_age: remediated, backed up
    # in the cluster; then restored on the real server, byte for byte
    time.sleep(3)
    before, history = records(kube, shop), real_helm.history("web", shop)
    fixed = unstick(module_args(strategy="unlock", min_age="3s", namespaces=[shop], backup=["cluster"]))
    assert [(e["name"], e["state"]) for e in fixed["releases"]] == [("web", "remediated")], fixed.text
    assert real_helm.history("web", shop)[-1] == (2, "failed")
    back = run_module(tmp_path, {"kubeconfig": kube.kubeconfig, "run": fixed["run_id"]}, module="helm_restore")
    assert back["releases"][0]["state"] == "restored", back.text
    assert records(kube, shop) == before and real_helm.history("web", shop) == history
    listed = subprocess.run(["kubectl", "--kubeconfig", kube.kubeconfig, "get", "events", "-n", shop, "-o", "json"],
                            capture_output=True, text=True, check=True)
    reasons = [(e["reason"], e["involvedObject"]["name"], e["reportingComponent"])
               for e in json.loads(listed.stdout)["items"]]
    assert sorted(reasons) == [("Refused", "sh.helm.release.v1.web.v2", "helmops.unstick"),
                               ("Restored", "sh.helm.release.v1.web.v2", "helmops.unstick"),
                               ("Unlocked", "sh.helm.release.v1.web.v2", "helmops.unstick")], reasons
