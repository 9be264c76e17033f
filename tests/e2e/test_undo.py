# SPDX-License-Identifier: GPL-3.0-or-later
"""Undo and audit on localkube, with releases really stuck by the real helm CLI: helm_unstick remediates with
``backup: [cluster, file]``, every remediation shows in ``kubectl get events``, helm_restore puts the records
back byte for byte (data and labels; helm sees the release exactly as before), refuses a release that a later
``helm upgrade`` moved on, says "already restored" the second time, and restores from the file bundles too."""

import json
import subprocess

import pytest

import helmfix
from fleet_run import run_playbook, write_inventory
from playbook_run import run_module

pytestmark = pytest.mark.slow


def records(kube, ns, name):
    """{record name: (data, labels)} of a release, as the server holds them."""
    out = {}
    for obj in kube.store.list("secrets", ns):
        labels = obj["metadata"].get("labels") or {}
        if labels.get("owner") == "helm" and labels.get("name") == name:
            out[obj["metadata"]["name"]] = (obj["data"], labels)
    return out


def stuck(real_helm, kube, tmp_path, name, ns):
    real_helm.install(name, ns)
    rev = helmfix.make_stuck_upgrade(real_helm, kube, name, ns, chart=helmfix.make_chart(tmp_path, "0.2.0"))
    helmfix.age_record(kube, ns, name, rev, 3600)
    return rev


def restore(tmp_path, kube, check=False, diff=False, **args):
    return run_module(tmp_path, dict({"kubeconfig": kube.kubeconfig}, **args), check=check, diff=diff,
                      module="helm_restore")


def test_remediate_with_cluster_backups_then_restore_byte_for_byte(tmp_path, kube, real_helm, module_args):
    for name in ("web", "api", "db"):
        stuck(real_helm, kube, tmp_path, name, "shop")
    before = dict((n, records(kube, "shop", n)) for n in ("web", "api", "db"))
    history = dict((n, real_helm.history(n, "shop")) for n in ("web", "api", "db"))
    backups = tmp_path / "backups"

    # rolled back: helm writes revision 3 and supersedes the deployed revision 1
    run = run_module(tmp_path, module_args(namespaces=["shop"], backup=["cluster", "file"], backup_dir=str(backups)))
    assert run.rc == 0, run.text
    web = [e for e in run["remediated"] if e["name"] == "web"][0]
    assert (len(run["remediated"]), web["action"], web["cluster_backups"]) == (3, "rollback", [
        "helmops.unstick.backup.web.v2.%s" % run["run_id"], "helmops.unstick.backup.web.v1.%s" % run["run_id"]])
    saved = kube.store.get("secrets", "shop", web["cluster_backups"][0])
    assert saved["type"] == "helmops.unstick/backup" and "owner" not in saved["metadata"]["labels"]
    assert saved["data"] == before["web"]["sh.helm.release.v1.web.v2"][0]        # values stay in the cluster
    assert real_helm.history("web", "shop")[-1] == (3, "deployed")

    # the audit trail: one Event per remediation, on the release's record, from us
    listed = subprocess.run(["kubectl", "--kubeconfig", kube.kubeconfig, "get", "events", "-n", "shop", "-o", "json"],
                            capture_output=True, text=True, check=True)
    events = json.loads(listed.stdout)["items"]
    assert sorted((e["reason"], e["involvedObject"]["name"]) for e in events) == [
        ("RolledBack", "sh.helm.release.v1.%s.v2" % n) for n in ("api", "db", "web")]
    assert all(e["reportingComponent"] == "helmops.unstick" and "revision 2 (pending-upgrade)" in e["message"]
               and "rolled back to revision 1, now revision 3" in e["message"] for e in events), events
    table = subprocess.run(["kubectl", "--kubeconfig", kube.kubeconfig, "get", "events", "-n", "shop"],
                           capture_output=True, text=True, check=True).stdout
    assert "RolledBack" in table and "secret/sh.helm.release.v1.web.v2" in table, table

    real_helm.upgrade("api", "shop")                       # api moves on after our unlock
    moved = records(kube, "shop", "api")

    # check mode: judged, nothing written
    check = restore(tmp_path, kube, check=True, diff=True, releases=["web"], namespaces=["shop"])
    assert check.rc == 0 and [(e["name"], e["state"]) for e in check["releases"]] == [("web", "would_restore")]
    assert check["diff"]["after"]["shop/web"].startswith("would put back revision(s) 1, 2"), check.text
    assert records(kube, "shop", "web") != before["web"]

    out = restore(tmp_path, kube, releases=["web", "api"], namespaces=["shop"])
    assert out.get("failed") is True, out.text          # api refused: the task fails, web is restored anyway
    states = dict((e["name"], e) for e in out["releases"])
    assert states["web"]["state"] == "restored" and states["web"]["deleted"] == [3], out.text
    assert records(kube, "shop", "web") == before["web"]                   # byte for byte: data and labels
    assert real_helm.history("web", "shop") == history["web"]              # helm sees it as before
    assert "another operation" in real_helm.refusal("web", "shop")
    assert states["api"]["state"] == "refused", out.text
    assert "revision 4 (deployed) is new" in states["api"]["reason"], out.text
    assert records(kube, "shop", "api") == moved                           # nothing written

    again = restore(tmp_path, kube, releases=["web"], namespaces=["shop"])
    assert again.rc == 0 and again["changed"] is False, again.text
    assert again["releases"][0]["message"].startswith("already restored"), again.text

    # from the file bundles, through the playbook by its FQCN, for a cluster of the inventory
    inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {"stuck_releases_kubeconfig": kube.kubeconfig,
                                                                    "stuck_releases_backup_dir": str(backups)}})
    play = run_playbook(tmp_path, "helmops.unstick.restore", inventory,
                        {"restore_releases": ["db"], "restore_source": "file"})
    assert play.rc == 0 and play.recap["eu"]["changed"] == 1 and "db: restored" in play.stdout, play.text
    assert records(kube, "shop", "db") == before["db"]
    reasons = sorted(e["reason"] for e in kube.store.list("events", "shop"))
    assert reasons == ["Refused", "Restored", "Restored", "RolledBack", "RolledBack", "RolledBack"], reasons


def test_tidy_history_marks_older_pending_revisions_failed_and_restore_puts_them_back(tmp_path, kube, real_helm,
                                                                                      module_args):
    """A real ``helm rollback`` over a stuck upgrade leaves the pending revision in history (2); a later upgrade is
    stuck again (4). With tidy_history the rollback of 4 also marks 2 failed; a restore puts both back."""
    real_helm.install("web", "shop")
    helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop", chart=helmfix.make_chart(tmp_path, "0.2.0"))
    real_helm.rollback("web", "shop", 1)
    rev = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0"))
    helmfix.age_record(kube, "shop", "web", rev, 3600)
    assert real_helm.history("web", "shop") == [(1, "superseded"), (2, "pending-upgrade"), (3, "deployed"),
                                                (4, "pending-upgrade")]
    before = records(kube, "shop", "web")
    run = run_module(tmp_path, module_args(namespaces=["shop"], backup=["cluster"], tidy_history=True, events=False,
                                           backup_keep=1))
    assert run.rc == 0, run.text
    [entry] = run["remediated"]
    assert entry["message"].endswith("marked older pending revision(s) 2 failed (tidy_history)"), run.text
    assert real_helm.history("web", "shop") == [(1, "superseded"), (2, "failed"), (3, "superseded"), (4, "failed"),
                                                (5, "deployed")]
    assert sorted(n.rsplit(".", 2)[-2] for n in entry["cluster_backups"]) == ["v2", "v3", "v%d" % rev]
    assert kube.store.list("events", "shop") == []                           # events: false
    out = restore(tmp_path, kube, run=run["run_id"])
    assert out.rc == 0 and out["releases"][0]["state"] == "restored", out.text
    assert records(kube, "shop", "web") == before
    # backup_keep 1: the next remediation of web keeps its own backups only (helm's rollback wrote the release's
    # ConfigMap seconds ago: the liveness checks would rightly call it possibly running)
    again = run_module(tmp_path, module_args(namespaces=["shop"], backup=["cluster"], backup_keep=1, strategy="unlock",
                                             liveness_checks=False))
    assert again["remediated"][0]["cluster_backups"] == ["helmops.unstick.backup.web.v4.%s" % again["run_id"]]
    assert sorted(o["metadata"]["name"] for o in kube.store.list("secrets", "shop")
                  if o["metadata"]["name"].startswith("helmops.unstick.backup.")) == again["remediated"][0][
        "cluster_backups"]
