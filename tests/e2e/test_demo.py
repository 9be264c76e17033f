# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's demo command does what it says: real stuck releases on three
clusters are reported, remediated by playbooks/remediate.yml, a second run has
nothing to do, and the very `helm upgrade` real Helm refused at the start
succeeds at the end."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end():
    proc = subprocess.run([sys.executable, str(ROOT / "demo" / "run.py")], capture_output=True, text=True,
                          timeout=600, cwd=str(ROOT))
    out = proc.stdout
    everything = out + proc.stderr
    assert proc.returncode == 0, everything
    assert "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" in everything
    assert "@helm_clusters:" in out and "eu-prod" in out and "us-prod" in out      # inventory from kubeconfigs
    summaries = re.findall(r"Stuck Helm releases \((report only|remediate)\): 3 cluster\(s\), 0 could not be checked; "
                           r"(\d+) stuck, (\d+) remediated, (\d+) still stuck, (\d+) in progress, (\d+) error", out)
    # on a mismatch, say which release was not as expected and why (the reports' release lines)
    why = "\n".join(line for line in out.splitlines() if re.search(r"error|refused|unfinished|possibly", line, re.I))
    assert summaries == [("report only", "4", "0", "4", "1", "0"), ("remediate", "4", "4", "0", "1", "0"),
                         ("remediate", "0", "0", "0", "1", "0")], why[-6000:]
    assert "| eu-prod | shop | cart | pending-upgrade |" in out                    # the Markdown report
    # pg-prod's Helm keeps its records in PostgreSQL (the sql driver): found, rolled back, upgraded by helm
    assert re.search(r"\| pg-prod \| pg-prod \| http://127\.0\.0\.1:\d+ \| sql 127\.0\.0\.1:\d+/\S+ \| yes \| remediated \|", out)
    assert "- pg-prod shop/orders (pending-upgrade): remediated: rollback: now deployed (rolled back to revision 1, " \
           "now revision 3)" in out
    assert out.count('has been upgraded. Happy Helming!') == 4
    recaps = re.findall(r"(eu-prod|pg-prod|us-prod)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out)
    assert recaps == [("eu-prod", "0"), ("pg-prod", "0"), ("us-prod", "0"), ("eu-prod", "1"), ("pg-prod", "1"),
                      ("us-prod", "1"), ("eu-prod", "0"), ("pg-prod", "0"), ("us-prod", "0")]
    assert "demo-Secret-123" not in everything
    # the story's end, on screen: the same command helm refused at the start now upgrades shop/cart
    upgrades = re.findall(r"^\$ (\S+ --kubeconfig \S+ upgrade cart \S+ -n shop)$", out, re.M)
    assert len(upgrades) == 2 and upgrades[0] == upgrades[1], upgrades
    before, after = out.split("\n$ " + upgrades[0] + "\n")[1:]
    assert before.startswith("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"), \
        before[:400]
    assert "== The upgrade helm refused at the start, run again" in before.splitlines()[-1], before[-400:]
    assert after.startswith('Release "cart" has been upgraded. Happy Helming!'), after[:400]
    history = [line.split() for line in after.splitlines() if re.match(r"^\d+\s", line)]
    assert history[-1][0] == str(len(history)) and "deployed" in history[-1], history        # newest: deployed
    assert [row[0] for row in history if "deployed" in row] == [history[-1][0]], history    # and only it
    assert out.rstrip().endswith("helm's 'another operation (install/upgrade/rollback) is in progress' is gone."), \
        out[-400:]
