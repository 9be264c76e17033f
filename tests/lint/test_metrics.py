# SPDX-License-Identifier: GPL-3.0-or-later
"""The prom report format and the example alert rules, checked by Prometheus' own promtool."""

import shutil
import subprocess
from pathlib import Path

import yaml

import fleet_sample
from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fleet_report
from ansible_collections.helmops.unstick.plugins.module_utils.report import render as fleet_render

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "helm-unstick-alerts.yml"
PROMTOOL = shutil.which("promtool")


def promtool(*args, stdin=None):
    assert PROMTOOL, "promtool is missing: scripts/bootstrap installs it (Debian prometheus)"
    return subprocess.run([PROMTOOL] + list(args), input=stdin, capture_output=True, text=True, timeout=60)


def test_metrics_of_a_fleet_pass_promtool_and_the_docs_name_every_metric():
    for check_mode in (False, True):
        fleet = fleet_report.build_fleet(fleet_sample.results(check_mode), fleet_sample.HOSTS, "x",
                                         generated_epoch=1795000000.0)
        text = fleet_render.render_prom(fleet)
        out = promtool("check", "metrics", stdin=text)
        assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), (out.stdout, out.stderr)
    docs = (ROOT / "docs" / "metrics.md").read_text()
    assert all("`%s`" % name in docs for name, _kind, _help in fleet_render.METRICS)


def test_alert_rules_load_and_fire_on_our_series(tmp_path):
    out = promtool("check", "rules", str(RULES))
    assert out.returncode == 0 and "SUCCESS: 3 rules found" in out.stdout, out.stdout + out.stderr
    series = ('helm_unstick_release_pending_age_seconds{cluster="prod",namespace="shop",release="cart",'
              'status="pending-upgrade",revision="7",state="stuck"}')
    tests = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series, "values": "7200+60x60"},
                         {"series": 'helm_unstick_release_pending_age_seconds{cluster="prod",namespace="shop",'
                                    'release="new",status="pending-upgrade",revision="2",state="in_progress"}',
                          "values": "60+60x60"},
                         {"series": 'helm_unstick_cluster_checked{cluster="dead"}', "values": "0x90"}],
        "alert_rule_test": [
            {"eval_time": "40m", "alertname": "HelmReleaseStillStuck", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "cluster": "prod", "namespace": "shop", "release": "cart",
                               "status": "pending-upgrade", "revision": "7", "state": "stuck"},
                "exp_annotations": {
                    "summary": "Helm release shop/cart on prod is stuck",
                    "description": "Revision 7 has been pending-upgrade for 2h 40m 0s (helmops.unstick state: stuck); "
                                   "every helm upgrade of it fails with \"another operation "
                                   "(install/upgrade/rollback) is in progress\"."}}]},
            {"eval_time": "20m", "alertname": "HelmReleaseStillStuck", "exp_alerts": []},     # "for: 30m"
            {"eval_time": "70m", "alertname": "HelmUnstickClusterNotChecked", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "cluster": "dead"},
                "exp_annotations": {
                    "summary": "helmops.unstick could not check cluster dead",
                    "description": "The last runs could not scan the cluster (unreachable, forbidden, bad "
                                   "credentials); see the fleet report."}}]}]}]}
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(tests))
    out = promtool("test", "rules", str(path))
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
