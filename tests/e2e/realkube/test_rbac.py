# SPDX-License-Identifier: GPL-3.0-or-later
"""The RBAC manifests of docs/rbac/ on the real kube-apiserver's RBAC authorizer: applied with the real
kubectl, the module runs as the ServiceAccount with a token from ``kubectl create token`` (TokenRequest).
The records role is enough to report and unlock, and each of its verbs on secrets is needed; rolling back
needs the rollback role too (without it the release is still unlocked, and granting it lets the next run
finish the rollback)."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import helmfix
import tools
from realhelm import RealHelm
from realkube.stuck import make_stuck, workload_chart
from tools import both_helms

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs" / "rbac"
RECORDS, ROLLBACK = str(DOCS / "helm-unstick-records.yaml"), str(DOCS / "helm-unstick-rollback.yaml")
SA = "system:serviceaccount:helm-ops:helm-unstick"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def kubectl(kube, *args, check=True):
    proc = subprocess.run([KUBECTL, "--kubeconfig", kube.kubeconfig] + list(args), capture_output=True,
                          text=True, timeout=60)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def settle(kube, verb, resource, allowed, timeout=15):
    """Wait until the real authorizer answers the ServiceAccount as ``allowed`` (RBAC reads its objects
    through informers: a change is seen shortly after kubectl returns, not at once)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = kubectl(kube, "auth", "can-i", verb, resource, "--as", SA, "--all-namespaces", check=False)
        if (proc.stdout.strip() == "yes") == allowed:
            return
        assert time.monotonic() < deadline, "can %s %s %s is still %r" % (SA, verb, resource, proc.stdout)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def sa_kubeconfig(real_server, tmp_path_factory):
    """The records role applied as documented; a kubeconfig with the ServiceAccount's token."""
    kube = real_server
    kubectl(kube, "apply", "-f", RECORDS)
    token = kubectl(kube, "-n", "helm-ops", "create", "token", "helm-unstick").stdout.strip()
    settle(kube, "update", "secrets", True)
    path = kube.write_kubeconfig(tmp_path_factory.mktemp("sa") / "kubeconfig", token=token,
                                 context="helm-unstick", extra_contexts={})
    yield path
    # back to a server that grants the ServiceAccount nothing (its namespace stays: no controller
    # would ever finish deleting it)
    kubectl(kube, "delete", "clusterrolebinding,clusterrole", "helm-unstick-records", "helm-unstick-rollback",
            "--ignore-not-found")


def stuck(tmp_path, kube, real_helm, name, namespace):
    """Revision 1 deployed (a ConfigMap: a rollback to it is ready at once), revision 2 stuck."""
    real_helm.install(name, namespace)
    return make_stuck(real_helm, kube, "upgrade", name, namespace, chart=workload_chart(tmp_path, "0.2.0"))


def records(kube, namespace):
    return {o["metadata"]["name"]: (o["metadata"]["resourceVersion"], o["metadata"]["labels"].get("status"))
            for o in kube.store.list("secrets", namespace, label_selector="owner=helm")}


def test_the_records_role_reports_and_unlocks(tmp_path, kube, ns, real_helm, sa_kubeconfig, unstick):
    shop = ns("records")
    rev = stuck(tmp_path, kube, real_helm, "web", shop)
    time.sleep(2)                     # older than min_age by the server's own creationTimestamp
    # a mistyped namespace is told, not read as "nothing stuck there" (the role lets it be listed)
    run = unstick({"kubeconfig": sa_kubeconfig, "strategy": "unlock", "min_age": "2s",
                   "namespaces": [shop, shop + "-typo"]})
    assert run.rc == 0, run.text
    assert [(r["name"], r["revision"], r["state"]) for r in run["releases"]] == [("web", rev, "remediated")]
    assert run["scan_warnings"] == ["cluster helm-unstick: namespace '%s-typo' (namespaces) does not exist" % shop]
    assert [(e["name"], e["action"]) for e in run["remediated"]] == [("web", "unlock")], run.text
    assert real_helm.history("web", shop)[-1] == (rev, "failed")
    real_helm.upgrade("web", shop)
    assert real_helm.history("web", shop)[-1] == (rev + 1, "deployed")


@both_helms
def test_rolling_back_needs_the_rollback_role(tmp_path, kube, ns, real_helm, sa_kubeconfig, unstick, module_args):
    shop = ns("rollback")
    rev = stuck(tmp_path, kube, real_helm, "api", shop)
    time.sleep(2)
    args = module_args(kubeconfig=sa_kubeconfig, strategy="rollback", min_age="2s", namespaces=[shop],
                       fail_on_error=False)
    # records only: unlocked (marked failed), then helm itself is refused by the real authorizer
    run = unstick(args)
    assert run.rc == 0 and run["remediated"] == [] and run["changed"] is True, run.text
    [failed] = [r for r in run["releases"] if r["name"] == "api"]
    assert failed["state"] == "failed" and "helm rollback failed" in failed["reason"], run.text
    assert "forbidden" in failed["reason"] and SA in failed["reason"], run.text
    assert real_helm.history("api", shop)[-1] == (rev, "failed")       # a later helm upgrade works again

    kubectl(kube, "apply", "-f", ROLLBACK)
    try:
        settle(kube, "create", "deployments.apps", True)
        run = unstick(args)                       # the claimed release: this run finishes its rollback
        assert run.rc == 0, run.text
        assert [(e["name"], e["action"], e["target_revision"]) for e in run["remediated"]] == [
            ("api", "resume", rev - 1)], run.text
        assert "rolled back to revision %d" % (rev - 1) in run["remediated"][0]["message"], run.text
        assert real_helm.history("api", shop)[-1] == (rev + 1, "deployed")
        assert kube.store.get("configmaps", shop, "api-config")["data"]["chartVersion"] == "0.1.0"
        deployment = "/apis/apps/v1/namespaces/%s/deployments/api-app" % shop
        assert kube.request("GET", deployment)[0] == 404                     # revision 2's, removed by helm
    finally:
        kubectl(kube, "delete", "-f", ROLLBACK, "--ignore-not-found")
        settle(kube, "create", "deployments.apps", False)


@pytest.fixture(scope="module")
def shared_stuck(real_server, sa_kubeconfig, tmp_path_factory):
    """One stuck release for the runs that may write nothing (each checks that it did not)."""
    kube = real_server
    shop = "rbac-verbs"
    kube.create_namespace(shop)
    tmp = tmp_path_factory.mktemp("verbs")
    rev = stuck(tmp, kube, RealHelm(kube.kubeconfig, tools.HELM), "web", shop)
    time.sleep(2)
    yield shop, rev
    # no stuck release left behind for the other tests of this server
    code, _, body = kube.request("DELETE", "/api/v1/namespaces/%s/secrets?labelSelector=owner%%3Dhelm" % shop)
    assert code == 200, (code, body)


@pytest.mark.parametrize("verb, rows", [
    ("list", [(None, "error")]),        # the scan itself: the namespace cannot be read
    ("get", [("web", "error")]),        # found, but its record cannot be read whole
    ("update", [("web", "refused")]),   # found and planned, the write refused: reported, nothing written
], ids=["list", "get", "update"])
def test_each_verb_of_the_records_role_is_needed(kube, sa_kubeconfig, shared_stuck, unstick, verb, rows):
    shop, rev = shared_stuck
    before = records(kube, shop)
    verbs = [v for v in ("get", "list", "update") if v != verb]
    kubectl(kube, "patch", "clusterrole", "helm-unstick-records", "--type=json",
            "-p", json.dumps([{"op": "replace", "path": "/rules/0/verbs", "value": verbs}]))
    try:
        settle(kube, verb, "secrets", False)
        run = unstick({"kubeconfig": sa_kubeconfig, "strategy": "unlock", "min_age": "2s", "namespaces": [shop],
                       "fail_on_error": False})
    finally:
        kubectl(kube, "apply", "-f", RECORDS)        # the documented role again
        settle(kube, verb, "secrets", True)
    assert run["remediated"] == [] and run["changed"] is False, run.text
    assert [(r.get("name"), r["state"]) for r in run["releases"]] == rows, run.text
    [reason] = [e["reason"] for e in run["errors"]]
    assert 'forbidden: User "%s" cannot %s resource "secrets"' % (SA, verb) in reason, run.text
    assert records(kube, shop) == before                                  # not one write
    assert helmfix.newest(kube, shop, "web") == (rev, "pending-upgrade")


GUARD_LEASE = str(DOCS / "helm-unstick-guard-lease.yaml")


def test_taking_turns_needs_the_guard_lease_role(tmp_path, kube, ns, real_helm, sa_kubeconfig, unstick):
    """helm_guard's phase before with take_turns, as the ServiceAccount: the records role alone cannot take the
    Lease (a clear failure, nothing written); bound to the documented Lease role, it takes it and the phase
    after gives it back."""
    shop = ns("lease")
    real_helm.install("web", shop)
    before = records(kube, shop)
    args = {"kubeconfig": str(sa_kubeconfig), "namespace": shop, "release": "web", "take_turns": True,
            "helm_binary": str(tools.HELM)}
    run = unstick(dict(args, phase="before"), module="helm_guard")
    assert run["failed"] is True, run.text
    assert run["msg"].startswith("guarded upgrade of %s/web: cannot take its turn on the Lease %s/helmops-unstick-web: "
                                 "API error 403" % (shop, shop)), run["msg"]
    assert "docs/rbac/helm-unstick-guard-lease.yaml" in run["msg"] and records(kube, shop) == before
    kubectl(kube, "apply", "-f", GUARD_LEASE)
    kubectl(kube, "-n", shop, "create", "rolebinding", "guard-lease", "--clusterrole=helm-unstick-guard-lease",
            "--serviceaccount=helm-ops:helm-unstick")
    try:
        deadline = time.monotonic() + 15      # RBAC sees the new binding shortly after kubectl returns
        while kubectl(kube, "auth", "can-i", "update", "leases.coordination.k8s.io", "-n", shop, "--as", SA,
                      check=False).stdout.strip() != "yes":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        took = unstick(dict(args, phase="before"), module="helm_guard")
        assert not took.get("failed"), took.text
        holder = took["lease"]["holder"]
        assert kube.request("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/helmops-unstick-web"
                            % shop)[2]["spec"]["holderIdentity"] == holder
        after = unstick(dict(args, phase="after", from_revision=1, lease_holder=holder), module="helm_guard")
        assert not after.get("failed") and after["lease"]["given_back"] == "given back", after.text
    finally:
        kubectl(kube, "delete", "-f", GUARD_LEASE, "--ignore-not-found")
