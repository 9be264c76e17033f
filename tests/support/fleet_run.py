# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the collection's playbooks over an inventory of clusters the way an operator would, and read
what they wrote (tests only)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+"
                   r"skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.M)


class PlaybookRun:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = {}
        for m in RECAP.finditer(proc.stdout):
            self.recap[m.group(1)] = dict(zip(
                ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"),
                (int(g) for g in m.groups()[1:])))

    @property
    def text(self):
        return self.stdout + self.stderr


def run_playbook(work, playbook, inventory, extra=None, env=None, extra_args=()):
    """ansible-playbook -i INVENTORY PLAYBOOK, started from ``work`` (as an operator would)."""
    cmd = [PLAYBOOK_BIN, "-i", str(inventory), str(playbook)] + list(extra_args)
    if extra:
        cmd += ["-e", json.dumps(extra)]
    full_env = dict(os.environ, PWD=str(work))
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(work), env=full_env, timeout=300)
    return PlaybookRun(proc)


def write_inventory(path, hosts, group="helm_clusters"):
    path.write_text(yaml.safe_dump({group: {"hosts": hosts}}, sort_keys=False))
    return path


def report_files(report_dir):
    base = Path(report_dir) / "stuck-releases"
    return {fmt: base.with_suffix(ext) for fmt, ext in (("json", ".json"), ("markdown", ".md"), ("html", ".html"),
                                                       ("prom", ".prom"))}
