"""The README's demo command does what it says: real stuck releases are
reported, remediated, and real Helm upgrades them afterwards."""

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
    assert proc.returncode == 0, out + proc.stderr
    assert "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" in everything
    summaries = re.findall(r"summary: \{'stuck': (\d+), 'in_progress': (\d+), 'remediated': (\d+), 'errors': (\d+)\}",
                           out)
    assert summaries == [("3", "1", "0", "0"), ("3", "1", "3", "0"), ("0", "1", "0", "0")]
    assert out.count('has been upgraded. Happy Helming!') == 3
    recaps = re.findall(r"localhost\s+: ok=\d+\s+changed=(\d+)", out)
    assert recaps == ["0", "1", "0"]
    assert "demo-Secret-123" not in everything
