# SPDX-License-Identifier: GPL-3.0-or-later
"""The seed's story on Helm's ``sql`` storage driver, end to end: records in a real PostgreSQL, the chart's
objects in the cluster, releases left stuck by killing real Helm (helm 3 and helm 4 CLIs, and the SDK),
Helm refusing, helm_unstick fixing them, Helm upgrading again. Plus the in-progress guard, check mode and
backups of rows."""

import json
import os
import stat

import pytest

import helmfix
from helmfix import sql as hsql
from realhelm import RealHelm
from tools import both_helms

pytestmark = pytest.mark.slow


def snapshot(db):
    """Every row, exactly (row version included): what "nothing written" compares."""
    return [(r["namespace"], r["key"], r["status"], r["modifiedat"], r["body"], r["row_version"])
            for r in hsql.rows(db)]


@both_helms
def test_rollback_on_sql_unblocks_real_helm(tmp_path, kube, sqldb, sql_helm, unstick, sql_args):
    sql_helm.install("web", "shop")
    sql_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    # the CLI killed while its UPDATE of revision 2 waits (a CI runner killed mid-upgrade)
    rev = hsql.make_stuck(sql_helm, kube, sqldb, "upgrade", "web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0"))
    assert sql_helm.history("web", "shop")[-1] == (rev, "pending-upgrade")
    hsql.age_release(sqldb, "shop", "web", rev, 3600)
    assert "UPGRADE FAILED: another operation" in sql_helm.refusal("web", "shop")
    assert kube.store.list("secrets", "shop") == []            # no record outside the database
    run = unstick(sql_args(strategy="rollback", backup_dir=str(tmp_path / "b")))
    assert not run.get("failed"), run.text
    assert (run["storage_driver"], run["database"]) == ("sql", sqldb.label)
    assert [(e["name"], e["revision"], e["action"], e["target_revision"], e["state"]) for e in run["releases"]] == [
        ("web", rev, "rollback", rev - 1, "remediated")]
    assert sqldb.password not in run.text                       # the connection string never shows
    hist = sql_helm.history("web", "shop")
    assert hist[-1] == (rev + 1, "deployed")                    # helm rollback, on the same database
    assert hist[rev - 1] == (rev, "failed")                     # the stuck one, claimed and marked failed
    claim = hsql.claim_labels(sqldb, "shop", "web", rev)
    assert (claim["helmops.unstick/claim"], claim["helmops.unstick/claim-revision"],
            claim["helmops.unstick/claim-target"]) == ("rollback", str(rev), str(rev - 1))
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["chartVersion"] == "0.2.0"
    sql_helm.upgrade("web", "shop")                             # the same CLI works again
    assert sql_helm.history("web", "shop")[-1] == (rev + 2, "deployed")
    again = unstick(sql_args(strategy="rollback"))
    assert not again.get("failed") and again["changed"] is False and again["releases"] == [], again.text
    [backup] = list((tmp_path / "b").rglob("*.json"))
    assert stat.S_IMODE(os.stat(str(backup)).st_mode) == 0o600
    row = json.load(open(str(backup)))
    assert (row["kind"], row["table"], row["metadata"]["name"]) == (
        "HelmReleaseRow", "releases_v1", "sh.helm.release.v1.web.v%d" % rev)
    assert hsql.decode_body(row["data"]["release"])["info"]["status"] == "pending-upgrade"   # as it was


# each helm once, each pending_install rule once (both helms and both rules are covered above and on Kubernetes)
@pytest.mark.parametrize("helm_bin, pending_install", [("helm3", "unlock"), ("helm4", "uninstall")],
                         indirect=["helm_bin"])
def test_pending_install_on_sql(kube, sqldb, sql_helm, unstick, sql_args, pending_install):
    rev = hsql.make_stuck(sql_helm, kube, sqldb, "install", "fresh", "shop")
    hsql.age_release(sqldb, "shop", "fresh", rev, 3600)
    assert sql_helm.history("fresh", "shop") == [(1, "pending-install")]
    sql_helm.refusal("fresh", "shop")
    run = unstick(sql_args(pending_install=pending_install))
    assert not run.get("failed"), run.text
    assert [(e["status"], e["action"], e["state"]) for e in run["releases"]] == [
        ("pending-install", pending_install, "remediated")]
    if pending_install == "uninstall":
        assert hsql.history(sqldb, "shop", "fresh") == []      # helm uninstall removed the rows
        assert sqldb.execute("SELECT count(*) AS n FROM custom_labels_v1")[0]["n"] == 0   # and our claim with them
    else:
        assert hsql.history(sqldb, "shop", "fresh") == [(1, "failed")]
    sql_helm.upgrade("fresh", "shop", None, "--install")       # helm upgrade --install can retry
    assert sql_helm.history("fresh", "shop")[-1][1] == "deployed"
    assert unstick(sql_args(pending_install=pending_install))["changed"] is False


def test_sdk_pending_rollback_unlocked_and_helm_upgrades(tmp_path, kube, sqldb, sql_env, unstick, sql_args):
    sql_env.install("api", "shop")
    sql_env.upgrade("api", "shop", chart=helmfix.make_chart(tmp_path, "0.2.0"))
    rev = hsql.make_stuck(sql_env, kube, sqldb, "rollback", "api", "shop", revision=1)
    hsql.age_release(sqldb, "shop", "api", rev, 3600)
    assert "another operation" in helmfix.assert_locked(sql_env, "api", "shop")
    run = unstick(sql_args(strategy="unlock"), diff=True)
    assert not run.get("failed"), run.text
    assert run["diff"]["before"]["shop/api"] == "pending-rollback (revision %d)" % rev
    assert run["diff"]["after"]["shop/api"] == "failed (revision %d)" % rev
    described = [h["description"] for h in sql_env.history("api", "shop")]
    assert described[-1].startswith("helmops.unstick: marked failed by ")
    sql_env.upgrade("api", "shop")
    assert hsql.newest(sqldb, "shop", "api") == (rev + 1, "deployed")


def test_live_operation_is_left_alone_and_finishes(tmp_path, kube, sqldb, sql_env, unstick, sql_args):
    """In-progress guard: a Helm upgrade that is alive (its new revision pending, Helm waiting on the
    database) is reported in_progress and nothing is written; then it finishes on its own."""
    sql_env.install("web", "shop")
    proc, lock = hsql.start_blocked(sql_env, sqldb, "upgrade", "web", "shop", chart=helmfix.make_chart(tmp_path, "0.2.0"))
    try:
        before = snapshot(sqldb)
        run = unstick(sql_args(strategy="unlock"))
        assert not run.get("failed"), run.text
        assert [(e["name"], e["revision"], e["state"]) for e in run["releases"]] == [("web", 2, "in_progress")]
        assert run["changed"] is False and snapshot(sqldb) == before
    finally:
        lock.release()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert hsql.history(sqldb, "shop", "web") == [(1, "superseded"), (2, "deployed")]


def test_check_mode_writes_nothing_and_says_would(tmp_path, kube, sqldb, sql_env, unstick, sql_args):
    sql_env.install("web", "shop")
    rev = hsql.make_stuck(sql_env, kube, sqldb, "upgrade", "web", "shop", chart=helmfix.make_chart(tmp_path, "0.2.0"))
    hsql.age_release(sqldb, "shop", "web", rev, 3600)
    before = snapshot(sqldb)
    run = unstick(sql_args(strategy="rollback", backup_dir=str(tmp_path / "b")), check=True, diff=True)
    assert not run.get("failed"), run.text
    [entry] = run["releases"]
    assert (entry["state"], entry["message"]) == ("would_remediate", "check mode: would roll back to revision 1")
    assert run["changed"] is True and snapshot(sqldb) == before and not (tmp_path / "b").exists()
    report = unstick(sql_args(remediate=False))
    assert [(e["name"], e["state"]) for e in report["releases"]] == [("web", "stuck")] and snapshot(sqldb) == before


def test_helm_driver_from_the_environment_like_helm(kube, sqldb, sql_env, unstick, helm_bin):
    """HELM_DRIVER=sql and HELM_DRIVER_SQL_CONNECTION_STRING, the variables helm reads, are enough."""
    rev = hsql.make_stuck(sql_env, kube, sqldb, "install", "fresh", "apps")
    hsql.age_release(sqldb, "apps", "fresh", rev, 3600)
    env = {"HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": sqldb.dsn}
    run = unstick({"kubeconfig": kube.kubeconfig, "helm_binary": helm_bin}, env=env, verbosity=3)
    assert not run.get("failed"), run.text
    assert [(e["name"], e["action"], e["state"]) for e in run["releases"]] == [("fresh", "unlock", "remediated")]
    assert sqldb.password not in run.text                      # masked, though no option carried it
    real = RealHelm(kube.kubeconfig, helm_bin, driver="sql", sql_connection_string=sqldb.dsn)
    real.upgrade("fresh", "apps", None, "--install")
    assert real.history("fresh", "apps")[-1][1] == "deployed"


def test_a_claim_whose_helm_failed_is_resumed_by_the_next_run(tmp_path, kube, sqldb, sql_helm, unstick, sql_args):
    """The claim is written (one transaction: the row marked failed, the claim's custom labels), then helm
    rollback fails (the cluster's API answers 503: helm gives up before writing). The run says so; the
    next one finds the unfinished claim with its scan, takes it over and finishes the rollback."""
    sql_helm.install("web", "shop")
    sql_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    rev = hsql.make_stuck(sql_helm, kube, sqldb, "upgrade", "web", "shop", chart=helmfix.make_chart(tmp_path, "0.3.0"))
    hsql.age_release(sqldb, "shop", "web", rev, 3600)
    down = kube.faults.error(503)
    try:
        first = unstick(sql_args(strategy="rollback"))
    finally:
        kube.faults.remove(down.id)
    [entry] = first["releases"]
    assert (entry["state"], entry["changed"]) == ("failed", True), first.text
    assert "helm rollback failed" in entry["reason"] and entry["reason"].endswith("the next run resumes it")
    assert hsql.history(sqldb, "shop", "web")[-1] == (rev, "failed")          # claimed; helm wrote nothing
    claim = hsql.claim_labels(sqldb, "shop", "web", rev)
    assert claim["helmops.unstick/claim"] == "rollback"
    assert int(claim["helmops.unstick/claim-until"]) <= int(claim["helmops.unstick/claim-at"]) + 1   # released
    report = unstick(sql_args(remediate=False))
    assert [(e["name"], e["state"]) for e in report["releases"]] == [("web", "unfinished")], report.text
    second = unstick(sql_args(strategy="rollback"))
    [done] = second["releases"]
    assert (done["action"], done["state"]) == ("resume", "remediated"), second.text
    assert "resumed the rollback" in done["message"]
    assert hsql.history(sqldb, "shop", "web")[-1] == (rev + 1, "deployed")
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["chartVersion"] == "0.2.0"
    assert unstick(sql_args(strategy="rollback"))["changed"] is False
