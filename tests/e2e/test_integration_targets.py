# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's ansible-test integration targets (tests/integration/targets) pass, each run the way a
contributor runs it: `scripts/ansible-test integration --local TARGET` (ansible-test on a clean copy of the
tree; every target starts the local API server it needs through setup_localkube). One test per target, so
the workers share them."""

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGETS_DIR = ROOT / "tests" / "integration" / "targets"
TARGETS = sorted(p.name for p in TARGETS_DIR.iterdir()
                 if p.is_dir() and not p.name.startswith("setup_"))


def test_every_part_of_the_collection_has_a_target():
    assert TARGETS == ["fleet_report", "helm_unstick", "inventory_kubeconfig", "role_guarded_upgrade",
                       "role_stuck_releases"]


@pytest.mark.parametrize("target", TARGETS)
def test_integration_target_passes(target):
    proc = subprocess.run([str(ROOT / "scripts" / "ansible-test"), "integration", "--local", target],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    kind = "script" if (TARGETS_DIR / target / "runme.sh").exists() else "role"
    assert "Running %s integration test %s" % (target, kind) in out, out[-6000:]
    recaps = re.findall(r"^\S+\s+: ok=(\d+)\s+changed=\d+\s+unreachable=0\s+failed=0", out, re.M)
    assert recaps and all(int(ok) > 0 for ok in recaps), out[-6000:]
    assert "All assertions passed" in out
