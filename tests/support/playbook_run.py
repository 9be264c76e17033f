# SPDX-License-Identifier: GPL-3.0-or-later
"""Run helmops.unstick.helm_unstick through ansible-playbook, the way a user
would, and hand back its result and everything it printed (tests only)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tools import HELM as HELM_BIN, ROOT  # noqa: F401  (the real helm 4 CLI; tests import it from here)


class ModuleRun:
    """The outcome of one ansible-playbook run of helm_unstick."""

    def __init__(self, result, proc):
        self.result = result
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.rc = proc.returncode

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def text(self):
        """Everything the run printed plus everything it returned."""
        return self.stdout + self.stderr + json.dumps(self.result)


def module_command(work, args, result=None, module="helm_unstick"):
    """Write ``work``/play.yml, one task running helm_unstick with ``args`` (with ``result``: a path,
    also a task keeping the module's result there as JSON); return the ansible-playbook command."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    keep = "" if result is None else textwrap.dedent("""\
              register: unstick
              ignore_errors: true
            - name: keep the result
              ansible.builtin.copy:
                content: "{{ unstick | to_json }}"
                dest: "%s"
              check_mode: false
              diff: false
        """) % result
    playbook = work / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: %s
              helmops.unstick.%s: %s
        """) % (module, module, json.dumps(args)) + textwrap.indent(keep, "    "))
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)]


def run_module(tmp_path, args, check=False, diff=False, env=None, verbosity=0, module="helm_unstick"):
    """Run helmops.unstick.helm_unstick (or another ``module`` of the collection) once, the way a user would."""
    work = Path(tmp_path) / ("run-%d" % len(list(Path(tmp_path).glob("run-*"))))
    work.mkdir()
    out = work / "result.json"
    cmd = module_command(work, args, result=out, module=module)
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=600, cwd=str(work))
    if not out.exists():
        raise AssertionError("ansible-playbook did not run the module:\n%s\n%s" % (proc.stdout, proc.stderr))
    return ModuleRun(json.loads(out.read_text()), proc)


