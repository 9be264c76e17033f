# SPDX-License-Identifier: GPL-3.0-or-later
"""The molecule scenario (extensions/molecule/default) passes: create starts two
local clusters with releases real Helm left stuck plus an unreachable one,
converge runs playbooks/remediate.yml, idempotence finds nothing to change,
verify upgrades every formerly stuck release with real Helm, destroy stops
the servers."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def mark(name):
    """molecule's step marker: "default ➜ NAME: " (colour) or "[default > NAME] " (NO_COLOR)."""
    return r"default\s*(?:➜|>)\s*%s\]?:?\s*" % re.escape(name)


def molecule_env(tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    if not (Path(venv_bin) / "molecule").exists():
        pytest.fail("molecule is not installed in %s: requirements.txt pins it (molecule==26.10.0)" % venv_bin)
    env = dict(os.environ)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".venv" / "collections"))
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / "molecule")    # no clash with other runs
    env["NO_COLOR"] = "1"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def step(out, name):
    """The output of one molecule step (between its 'Executing' and 'Executed' lines)."""
    match = re.search(mark(name) + r"Executing\n(.*?)\n[^\n]*" + mark(name) + r"Executed: (\w+)", out, re.S)
    assert match, "molecule step %s did not run:\n%s" % (name, out[-3000:])
    return match.group(1), match.group(2)


def changed(recap_text):
    return {host: int(n) for host, n in re.findall(r"(\S+)\s+: ok=\d+\s+changed=(\d+)", recap_text)}


def test_molecule_scenario_passes(tmp_path):
    proc = subprocess.run([str(Path(sys.executable).parent / "molecule"), "test", "-s", "default"],
                          cwd=str(ROOT), env=molecule_env(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, stdin=subprocess.DEVNULL)
    out = ANSI.sub("", proc.stdout)
    assert proc.returncode == 0, out[-6000:]
    assert "Scenarios will be used from 'extensions/molecule'" in out       # collection layout
    assert "scenario test matrix: destroy, syntax, create, converge, idempotence, verify, destroy" in out
    assert re.search(r"Molecule executed 1 scenario \(1 successful\)", out)

    converge, result = step(out, "converge")
    assert result == "Successful"
    # (localhost: the playbook's host-pattern check)
    assert changed(converge) == {"eu-prod": 1, "us-prod": 1, "dead": 0, "localhost": 0}   # something really was fixed
    assert "cluster dead could not be checked" in converge
    idempotence, result = step(out, "idempotence")
    assert result == "Successful"                                          # the second converge ran ...
    assert changed(idempotence) == {"eu-prod": 0, "us-prod": 0, "dead": 0, "localhost": 0}  # ... and changed nothing
    verify, result = step(out, "verify")
    assert result == "Successful" and "failed=0" in verify
    assert "molecule-Secret-1" not in out                                    # release values never shown

    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "destroy left API servers running: %s" % leftovers


def test_scenario_runs_from_the_extensions_directory_too(tmp_path):
    """`cd extensions && molecule ...` finds the same scenario (molecule/default there)."""
    proc = subprocess.run([str(Path(sys.executable).parent / "molecule"), "syntax"], cwd=str(ROOT / "extensions"),
                          env=molecule_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = ANSI.sub("", proc.stdout)
    assert proc.returncode == 0, out
    assert step(out, "syntax")[1] == "Successful"
    assert "extensions/molecule/default/converge.yml" in out
