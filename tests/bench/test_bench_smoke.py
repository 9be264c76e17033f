# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke tests of the benchmarks (bench/*.py): each runs on a tiny size and
prints its table with the expected columns. Speed goals are not asserted:
the figures are for docs/benchmarks.md, produced by ``scripts/bench``."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def bench(name, *args, timeout=120):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
               PYTHONPATH=str(ROOT / "tests" / "support"))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / ("%s.py" % name))] + list(args),
                         cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.startswith("machine: "), out.stdout
    return out.stdout


def header_and_rows(text, first_header):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| " + first_header))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return header, rows


def test_scan():
    out = bench("scan", "--releases", "12", "--revisions", "3", "--stuck", "2", "--namespaces", "3")
    header, rows = header_and_rows(out, "what")
    assert header == ["what", "process s", "call s", "bytes served", "requests", "result"]
    assert [r[0].split()[0] for r in rows] == ["helm_unstick", "helm_unstick", "Helm"]
    assert '"stuck": 2' in rows[1][5] and '"releases": 12' in rows[2][5]
    assert "fewer bytes" in out


def test_growth():
    out = bench("growth", "--releases", "12", "--revisions", "2,3", "--stuck", "1,2", "--namespaces", "3",
                "--repeat", "1")
    header, rows = header_and_rows(out, "revisions/release")
    assert header == ["revisions/release", "stuck", "records", "module requests", "module bytes",
                      "module bytes/stuck", "module scan s", "Helm list bytes", "Helm list s"]
    assert [(r[0], r[1]) for r in rows] == [("2", "1"), ("2", "2"), ("3", "1"), ("3", "2")]
    # two cluster-wide lists (odd statuses, our claims), then a history list and a GET per stuck release, and
    # its liveness check (one GET: the chart's ConfigMap; report-only runs look too)
    assert [int(r[3]) for r in rows] == [5, 8, 5, 8]


def test_fleet():
    out = bench("fleet", "--clusters", "1,2", "--helm-at", "2", "--releases", "3", "--revisions", "2",
                "--stuck", "1", "--per-process", "2", timeout=240)
    header, rows = header_and_rows(out, "clusters")
    assert header == ["clusters", "run", "found", "wall s", "CPU s", "peak RSS MB", "load (1 min)", "goal"]
    runs = [(r[0], r[1].split(":")[0], r[2]) for r in rows]
    assert runs == [("1", "report.yml", "1"), ("1", "remediate.yml", "1"), ("2", "report.yml", "2"),
                    ("2", "helm v4.2.4", "2"), ("2", "helm v3.21.4", "2"), ("2", "remediate.yml", "2")], out
    assert all(float(r[3]) > 0 and float(r[4]) > 0 and float(r[5]) > 0 for r in rows), out
    # each comparison the goals are about is printed as a ratio
    assert re.fullmatch(r"\d+\.\d× faster than the helm 4 loop", rows[2][7]), rows[2]
    assert re.fullmatch(r"\d+\.\d× one cluster", rows[5][7]), rows[5]


def test_profile():
    out = bench("profile_module", "--releases", "12", "--revisions", "2", "--stuck", "2", "--namespaces", "3",
                "--repeat", "1", "--top", "5", "--ab", "1")
    header, rows = header_and_rows(out, "case")
    assert header == ["case", "call s", "client CPU s", "requests", "bytes", "stuck/remediated"]
    assert [(r[0], r[5]) for r in rows] == [("scan", "2"), ("remediate", "2")]
    header, rows = header_and_rows(out, "histories")
    assert header == ["histories", "call s", "client CPU s", "requests", "bytes"]
    assert [r[0] for r in rows] == ["batched", "one by one"]
    assert "scan under cProfile" in out and "remediate under cProfile" in out


def test_start():
    out = bench("start", "--runs", "1")
    for server in ("realkube (kube-apiserver + etcd)", "localkube (TLS)"):
        assert re.search(r"^\| %s +\| 1 +\| \d+\.\d{3} +\|" % re.escape(server), out, re.M), out


def test_guard():
    # the young path: the shortest (the guard stops after one module run); the helm 3 stuck-maker path too
    out = bench("guard", "--paths", "young", "--repeat", "1", "--helm", "helm3", timeout=300)
    header, rows = header_and_rows(out, "path")
    assert header == ["path", "module runs", "by module", "ansible-playbook s", "range s", "in modules s",
                      "API requests"]
    assert [(r[0], r[1], r[2], r[6]) for r in rows] == [("young", "1", "helm_guard 1", "2")]
