"""End-to-end fixtures: the module run through ansible-playbook against a
local API server holding releases that real Helm left stuck."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localkube import LocalKube

ROOT = Path(__file__).resolve().parents[2]
HELM_BIN = ROOT / "tests" / "support" / "bin" / "helm"


@pytest.fixture
def kube(tmp_path):
    with LocalKube() as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        yield server


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


def run_module(tmp_path, args, check=False, diff=False, env=None, verbosity=0):
    """Run helmops.unstick.helm_unstick once, the way a user would."""
    work = Path(tmp_path) / ("run-%d" % len(list(Path(tmp_path).glob("run-*"))))
    work.mkdir()
    out = work / "result.json"
    playbook = work / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: helm_unstick
              helmops.unstick.helm_unstick: %s
              register: unstick
              ignore_errors: true
            - name: keep the result
              ansible.builtin.copy:
                content: "{{ unstick | to_json }}"
                dest: "%s"
              check_mode: false
              diff: false
        """) % (json.dumps(args), out))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable,
           str(playbook)]
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


@pytest.fixture
def unstick(tmp_path):
    def _run(args, **kw):
        return run_module(tmp_path, args, **kw)
    return _run


@pytest.fixture
def helm_env(kube):
    import helmfix
    return helmfix.HelmEnv(kube.kubeconfig)


@pytest.fixture
def module_args(kube):
    """Module arguments for the kube fixture's cluster, with the test helm CLI."""
    def _args(**extra):
        args = {"kubeconfig": kube.kubeconfig, "helm_binary": str(HELM_BIN), "timeout": "60s"}
        args.update(extra)
        return args
    return _args
