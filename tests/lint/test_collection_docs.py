# SPDX-License-Identifier: GPL-3.0-or-later
"""`antsibull-docs lint-collection-docs --plugin-docs` passes: the docs of every module, plugin and role entry
point render for the Ansible docsite, and every reference in them points at something of this collection."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANTSIBULL_DOCS = Path(sys.executable).parent / "antsibull-docs"


def test_antsibull_docs_lint_collection_docs_passes(tmp_path):
    # antsibull-docs copies our dependencies with `git ls-files` when their directory is inside a git work tree,
    # as kubernetes.core in this checkout's .venv is (and git ignores .venv/): give it a copy outside
    import ansible_collections.kubernetes.core as k8s_core
    shutil.copytree(list(k8s_core.__path__)[0], tmp_path / "ansible_collections" / "kubernetes" / "core")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               NO_COLOR="1")
    proc = subprocess.run([str(ANTSIBULL_DOCS), "lint-collection-docs", "--plugin-docs", str(ROOT)], cwd=str(ROOT),
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and (proc.stdout + proc.stderr).strip() == "", proc.stdout + proc.stderr
