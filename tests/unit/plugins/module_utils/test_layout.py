# SPDX-License-Identifier: GPL-3.0-or-later
"""The layout docs/architecture.md describes: no file directly in module_utils, every capability in its folder,
and the pure decisions apart from I/O (a pure module imports no module that talks to a cluster, a database, helm
or the network)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
PREFIX = "ansible_collections.helmops.unstick.plugins.module_utils."
CAPABILITIES = ["ansible_module", "cluster", "common", "guarded_upgrade", "release", "remediation", "report",
                "storage", "undo", "watch"]
#: decisions from values: the model and state machine, the plans, the reports
PURE = ["guarded_upgrade/turns.py", "common/errors.py", "common/duration.py", "common/scope.py", "common/deadline.py",
        "release/claims.py", "release/history.py", "release/liveness.py", "release/model.py", "release/records.py",
        "release/state.py",
        "remediation/plan.py", "guarded_upgrade/plan.py", "undo/plan.py", "undo/cluster_backup.py",
        "report/release_report.py", "report/fleet.py", "report/render.py", "watch/tracker.py"]
#: what does I/O from the standard library and the clients
IO_MODULES = ("subprocess", "socket", "urllib", "http", "ssl", "tempfile", "shutil", "kubernetes", "psycopg",
              "ansible.module_utils.basic")


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module + "." + a.name for a in node.names] if node.module + "." == PREFIX else []
            yield from names or [node.module]


def test_every_file_sits_in_a_capability_folder():
    assert sorted(p.name for p in MODULE_UTILS.glob("*.py")) == []
    assert sorted(p.name for p in MODULE_UTILS.iterdir() if p.is_dir() and p.name != "__pycache__") == CAPABILITIES


@pytest.mark.parametrize("name", [p for p in PURE if (MODULE_UTILS / p).exists()])
def test_a_pure_decision_imports_nothing_that_does_io(name):
    pure = set(PREFIX + p[:-3].replace("/", ".") for p in PURE)
    for module in imports(MODULE_UTILS / name):
        if module.startswith(PREFIX):
            assert module in pure, "%s imports %s, which is not a pure module" % (name, module)
        else:
            assert not module.startswith(IO_MODULES), "%s imports %s" % (name, module)


def test_no_file_in_plugins_is_over_450_lines():
    long = [(str(p.relative_to(ROOT)), n) for p in (ROOT / "plugins").rglob("*.py")
            for n in [len(p.read_text().splitlines())] if n > 450]
    assert long == []
