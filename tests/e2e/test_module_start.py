# SPDX-License-Identifier: GPL-3.0-or-later
"""Every cluster-facing module (module_utils/module_start.py) fails with Ansible's missing-library message, and
nothing else, when the kubernetes client cannot be imported on the host that runs it. One play runs them all."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

# each with just its required options (Ansible checks those first, in AnsibleModule itself)
MODULES = {"helm_guard": {"phase": "before", "namespace": "shop", "release": "cart"},
           "helm_release": {"namespace": "shop", "release": "cart"},
           "helm_restore": {},
           "helm_unstick": {},
           "helm_unstick_batch": {"clusters": {"eu-prod": {}}}}


def test_without_the_kubernetes_client_every_module_names_the_missing_library(tmp_path):
    hidden = tmp_path / "hidden" / "kubernetes"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('kubernetes hidden by the test')\n")
    out = tmp_path / "results.json"
    tasks = [{"name": name, "helmops.unstick.%s" % name: args, "register": "r_%s" % name, "ignore_errors": True}
             for name, args in MODULES.items()]
    tasks.append({"name": "keep", "ansible.builtin.copy": {
        "dest": str(out), "content": "{{ %s | to_json }}" % ("[" + ", ".join("r_%s" % n for n in MODULES) + "]")}})
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, PYTHONPATH=str(hidden.parent))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(play)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.exists(), proc.stdout + proc.stderr
    for name, result in zip(MODULES, json.loads(out.read_text())):
        assert result["failed"] is True, (name, result)
        assert result["msg"].startswith("Failed to import the required Python library (kubernetes)"), (name, result)
        assert result.get("changed") is False, (name, result)
