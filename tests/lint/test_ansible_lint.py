# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-lint (production profile, offline; config in .ansible-lint) passes on
the collection's roles and playbooks, the EDA rulebooks and the molecule scenario (awx/ and the EE:
test_awx_lint.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ansible_lint_production_profile_passes_on_roles_playbooks_and_molecule():
    lint = Path(sys.executable).parent / "ansible-lint"
    env = dict(os.environ, NO_COLOR="1", ANSIBLE_LINT_NODEPS="0")
    proc = subprocess.run([str(lint), "--offline", "-vv", "roles/", "playbooks/", "extensions/molecule/default/",
                           "extensions/eda/rulebooks/"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Profile 'production' was required, and it passed." in out, out
    processed = re.search(r"in (\d+) files processed", out)
    assert processed and int(processed.group(1)) >= 8, out  # the role's files and both playbooks were linted
    # the molecule scenario's playbooks were linted as playbooks
    for step in ("create", "converge", "verify", "destroy"):
        assert "Examining extensions/molecule/default/%s.yml of type playbook" % step in out, (step, out)
    # the rulebooks were linted as rulebooks (ansible-rulebook's schema)
    for rulebook in ("remediate", "remediate_awx"):
        assert "Examining extensions/eda/rulebooks/%s.yml of type rulebook" % rulebook in out, (rulebook, out)
