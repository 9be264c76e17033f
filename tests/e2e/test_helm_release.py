# SPDX-License-Identifier: GPL-3.0-or-later
"""helmops.unstick.helm_release through ansible-playbook (the guarded_upgrade role no longer uses it, so it
is exercised here on its own): one release's history from its records, and a helm rollback verified on the
cluster, against localkube with the real helm CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import helmfix

pytestmark = pytest.mark.slow


def helm_release(tmp_path, args, check=False):
    """Run helm_release once with ``args``; returns its registered result."""
    work = Path(tmp_path) / ("run-%d" % len(list(Path(tmp_path).glob("run-*"))))
    work.mkdir()
    out = work / "result.json"
    (work / "play.yml").write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "helm_release", "helmops.unstick.helm_release": args, "register": "rel", "ignore_errors": True},
        {"name": "keep", "ansible.builtin.copy": {"content": "{{ rel | to_json }}", "dest": str(out)},
         "check_mode": False}]}]))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, str(work / "play.yml")] + (["--check"] if check else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(work), env=dict(os.environ))
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_history_then_a_verified_rollback(kube, real_helm, helm_bin, tmp_path):
    real_helm.install("web", "shop")
    real_helm.upgrade("web", "shop", helmfix.make_chart(tmp_path, "0.2.0"))
    args = {"kubeconfig": kube.kubeconfig, "namespace": "shop", "release": "web", "helm_binary": helm_bin,
            "timeout": "60s"}
    read = helm_release(tmp_path, args)
    assert [(h["revision"], h["status"], h["chart"]) for h in read["history"]] == [
        (1, "superseded", "unstick-demo-0.1.0"), (2, "deployed", "unstick-demo-0.2.0")]
    assert read["last_good_revision"] == 1 and read["changed"] is False
    would = helm_release(tmp_path, dict(args, rollback_to=1), check=True)
    assert would["changed"] and would["msg"] == "cluster localkube: shop/web: would roll back to revision 1"
    assert real_helm.history("web", "shop") == [(1, "superseded"), (2, "deployed")]
    done = helm_release(tmp_path, dict(args, rollback_to=1))
    assert done["revision"] == 3 and done["msg"] == ("cluster localkube: shop/web: rolled back to revision 1 "
                                                     "(now revision 3)")
    assert real_helm.history("web", "shop") == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    missing = helm_release(tmp_path, dict(args, rollback_to=9))
    assert missing["failed"] and missing["msg"] == "cluster localkube: shop/web has no revision 9 to roll back to"
