# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke test of ``scripts/bench scan --driver sql`` (bench/scan_sql.py) on a tiny size: a real PostgreSQL,
Helm's rows, the module's scan and Helm's own lists through the byte-counting relay."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def bench(*args, timeout=300):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
               PYTHONPATH=str(ROOT / "tests" / "support"))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "scan.py")] + list(args), cwd=str(ROOT), env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.startswith("machine: "), out.stdout
    return out.stdout


def header_and_rows(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| what"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return [c.strip() for c in lines[start].strip("|").split("|")], rows


def test_scan_sql():
    out = bench("--driver", "sql", "--releases", "12", "--revisions", "3", "--stuck", "2", "--namespaces", "3",
                "--repeat", "1")
    assert "rows: 36 (12 releases x 3 revisions, 2 stuck) in 3 namespaces" in out
    header, rows = header_and_rows(out)
    assert header[:5] == ["what", "process s", "call s", "bytes from server", "bytes to server"]
    by_what = dict((row[0].split(",")[0], row) for row in rows)
    ours = by_what["helm_unstick scan (module code"]
    helm = by_what["Helm SDK list(all_states"]
    assert '"stuck": 2' in ours[-1] and '"releases": 12, "pending": 2' in helm[-1]
    # the scan reads metadata of the odd rows and two bodies; Helm's list reads every body
    assert int(ours[3].replace(",", "")) < int(helm[3].replace(",", ""))
    assert '"releases": 12' in by_what["helm v3.21.4 CLI: helm list -A -a"][-1]
    assert '"releases": 12' in by_what["helm v4.2.4 CLI: helm list -A"][-1]
