# SPDX-License-Identifier: GPL-3.0-or-later
"""Messages a new user meets (issue 26), through the stuck_releases role on localkube: a token with no RBAC gets
a 403 that carries the server's Date (no "sent no Date header" warning), the summary names the namespace, not
``shop/None (?)``, and the role's messages name the role variable the user set (``stuck_releases_namespaces``)."""

import json

import pytest

from fleet_run import run_playbook, write_inventory
from localkube import LocalKube
from playbook_run import HELM_BIN, ROOT

pytestmark = pytest.mark.slow

NO_RBAC = {"user": "system:serviceaccount:ops:nobody", "resources": ["nothing"]}


def test_forbidden_token_through_the_role(tmp_path):
    with LocalKube(tokens={"admin": None, "nobody": NO_RBAC}) as kube:
        kc = kube.write_kubeconfig(tmp_path / "nobody.kubeconfig", token="nobody")
        inventory = write_inventory(tmp_path / "inventory.yml", {"eu": {"stuck_releases_kubeconfig": str(kc)}})
        report_dir = tmp_path / "reports"
        extra = {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_report_dir": str(report_dir)}
        for namespaces in (["shop"], "shop"):     # a list, and a survey's string
            run = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory,
                               dict(extra, stuck_releases_namespaces=namespaces))
            assert run.rc == 0, run.text
            assert "Date header" not in run.text, run.text
            assert "None" not in run.stdout and "(?)" not in run.stdout, run.stdout
            assert "- eu namespace shop: error: cannot read namespace shop" in run.stdout, run.stdout
            report = json.loads((report_dir / "stuck-releases.json").read_text())
            [row] = report["releases"]
            assert row["namespace"] == "shop" and "forbidden" in row["result"], row

        # cluster-wide: the hint names the role variable
        run = run_playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory, extra)
        assert run.rc == 0, run.text
        assert "stuck_releases_namespaces" in run.stdout, run.stdout
        assert "(namespaces)" not in run.text and "'namespaces'" not in run.text, run.text
