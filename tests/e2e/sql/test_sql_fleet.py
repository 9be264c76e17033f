# SPDX-License-Identifier: GPL-3.0-or-later
"""SQL-backed clusters in a fleet: the kubeconfig inventory plugin sets the driver and the connection string
per host (``compose``), playbooks/remediate.yml runs the role over a SQL-backed cluster and a Secret-backed
one, and the fleet report says which driver (and which database) each cluster's Helm uses."""

import json
import textwrap

import pytest

import helmfix
from fleet_run import report_files, run_playbook
from helmfix import sql as hsql
from localkube import LocalKube
from tools import ROOT

pytestmark = pytest.mark.slow


def test_inventory_role_and_report_over_a_sql_backed_and_a_secret_backed_cluster(tmp_path, pg, sqldb, helm_bin):
    with LocalKube() as pg_kube, LocalKube() as k8s_kube:
        kc_pg = pg_kube.write_kubeconfig(tmp_path / "pg.kubeconfig", context="pg-eu-1")
        kc_k8s = k8s_kube.write_kubeconfig(tmp_path / "k8s.kubeconfig", context="k8s-eu-1")
        on_sql = helmfix.HelmEnv(str(kc_pg), driver="sql", sql_connection_string=sqldb.dsn)
        on_sql.install("web", "shop")
        rev = hsql.make_stuck(on_sql, pg_kube, sqldb, "upgrade", "web", "shop")
        hsql.age_release(sqldb, "shop", "web", rev, 3600)
        on_secrets = helmfix.HelmEnv(str(kc_k8s))
        on_secrets.install("api", "apps")
        api_rev = helmfix.make_stuck_upgrade(on_secrets, k8s_kube, "api", "apps")
        helmfix.age_record(k8s_kube, "apps", "api", api_rev, 3600)

        # the connection string reaches the host from the controller's environment (a vault or an AWX
        # credential in life), never from a file of the inventory
        src = tmp_path / "clusters.kubeconfig.yml"
        src.write_text("plugin: helmops.unstick.kubeconfig\n" + textwrap.dedent("""\
            kubeconfigs: [pg.kubeconfig, k8s.kubeconfig]
            compose:
              stuck_releases_storage_driver: "'sql' if inventory_hostname.startswith('pg-') else 'secret'"
              stuck_releases_sql_connection_string: >-
                lookup('ansible.builtin.env', 'PG_EU_1_HELM_DSN') if inventory_hostname.startswith('pg-') else ''
            """))
        report_dir = tmp_path / "reports"
        run = run_playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", src,
                           {"stuck_releases_report_dir": str(report_dir), "stuck_releases_strategy": "rollback",
                            "stuck_releases_helm_binary": helm_bin, "stuck_releases_timeout": "60s"},
                           env={"PG_EU_1_HELM_DSN": sqldb.dsn})
        assert run.rc == 0, run.text
        assert run.recap["pg-eu-1"]["failed"] == 0 and run.recap["k8s-eu-1"]["failed"] == 0, run.recap
        fleet = json.loads(report_files(report_dir)["json"].read_text())
        clusters = dict((c["host"], c) for c in fleet["clusters"])
        assert (clusters["pg-eu-1"]["storage_driver"], clusters["pg-eu-1"]["database"]) == ("sql", sqldb.label)
        assert clusters["pg-eu-1"]["records"] == "sql " + sqldb.label
        assert (clusters["k8s-eu-1"]["storage_driver"], clusters["k8s-eu-1"]["database"]) == ("secret", "")
        assert sorted((r["cluster"], r["name"], r["state"]) for r in fleet["releases"]) == [
            ("k8s-eu-1", "api", "remediated"), ("pg-eu-1", "web", "remediated")]
        markdown = report_files(report_dir)["markdown"].read_text()
        assert "| sql 127.0.0.1:%d/" % pg.port in markdown         # the Records column
        for path in report_files(report_dir).values():
            assert sqldb.password not in path.read_text()
        assert sqldb.password not in run.text
        assert hsql.history(sqldb, "shop", "web")[-1] == (rev + 1, "deployed")   # rolled back on the database
        assert pg_kube.store.list("secrets", "shop") == []
        on_sql.upgrade("web", "shop")
        assert hsql.newest(sqldb, "shop", "web") == (rev + 2, "deployed")
