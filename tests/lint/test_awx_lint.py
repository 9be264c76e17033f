# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX config-as-code playbook (awx/) and the execution environment definition pass
`ansible-playbook --syntax-check` and ansible-lint's production profile."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(cmd):
    env = dict(os.environ, NO_COLOR="1", ANSIBLE_LINT_NODEPS="0")
    proc = subprocess.run([str(c) for c in cmd], cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_awx_playbook_syntax_check():
    rc, out = run([BIN / "ansible-playbook", "--syntax-check", "awx/configure.yml"])
    assert rc == 0, out
    assert "playbook: awx/configure.yml" in out, out


def test_ansible_lint_production_profile_passes_on_awx_and_the_ee():
    rc, out = run([BIN / "ansible-lint", "--offline", "-vv", "awx/", "execution-environment.yml",
                   "meta/execution-environment.yml"])
    assert rc == 0, out
    assert "Profile 'production' was required, and it passed." in out, out
    # linted as what they are (the playbook as a playbook, the EE file against the EE schema)
    for path, kind in (("awx/configure.yml", "playbook"), ("execution-environment.yml", "execution-environment"),
                       ("meta/execution-environment.yml", "execution-environment"),
                       ("awx/inventory/clusters.kubeconfig.yml", "inventory")):
        assert re.search(r"Examining %s of type %s\b" % (re.escape(path), kind), out), (path, out)
    assert "of type role" not in out, out


def test_awx_playbook_loads_its_settings_and_checks_the_mode():
    """Run for real up to its first task (no controller needed): the settings load and template."""
    rc, out = run([BIN / "ansible-playbook", "awx/configure.yml", "-e", "helmops_awx_mode=bogus"])
    assert rc == 2, out
    assert "helmops_awx_mode must be kubeconfig or token, not bogus" in out, out
