# SPDX-License-Identifier: GPL-3.0-or-later
"""Guarded upgrades of one release taking turns on its Lease (issue 29), on any API server the tests run
(localkube or the real kube-apiserver), with a real helm CLI: ``two_runs`` starts two playbooks/safe_upgrade.yml
runs together and checks both land, one after the other; ``killed_holder`` kills a controller while it holds
the Lease and checks the next run waits only until the Lease expires."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

import helmfix
from localkube.testing import raw
from playbook_run import ROOT
from realhelm import RealHelm

SAFE_UPGRADE = ROOT / "playbooks" / "safe_upgrade.yml"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/%s/leases/helmops-unstick-web"


def _argv(work, kube, helm_bin, space, extra):
    work.mkdir(parents=True)
    (work / "clusters.yml").write_text(yaml.safe_dump(
        {"helm_clusters": {"hosts": {"c": {"stuck_releases_kubeconfig": kube.kubeconfig}}}}))
    args = {"guarded_upgrade_helm_binary": helm_bin, "guarded_upgrade_release": "web",
            "guarded_upgrade_namespace": space, "guarded_upgrade_timeout": "60s", "guarded_upgrade_wait": False,
            "ansible_python_interpreter": sys.executable}
    args.update(extra)
    (work / "vars.json").write_text(json.dumps(args))
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(work / "clusters.yml"),
            "-e", "@%s" % (work / "vars.json"), str(SAFE_UPGRADE)]


def _run(argv, work, out, key):
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=str(work),
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    out[key] = (proc.returncode, proc.stdout + proc.stderr, started, time.monotonic())


def _lease(kube, space):
    request = kube.request if hasattr(kube, "request") else (lambda method, path: raw(kube, method, path))
    code, _, body = request("GET", LEASE % space)
    return body if code == 200 else None


def two_runs(tmp_path, kube, helm_bin, space):
    """Two runs started together on web in ``space``: both land, the second after its turn."""
    real = RealHelm(kube.kubeconfig, helm_bin)
    real.install("web", space, values={"message": "one"})
    chart = str(helmfix.make_chart(tmp_path, "0.2.0"))
    out, threads = {}, []
    for run in ("a", "b"):
        argv = _argv(tmp_path / run, kube, helm_bin, space,
                     {"guarded_upgrade_chart": chart, "guarded_upgrade_values": {"message": "from " + run}})
        threads.append(threading.Thread(target=_run, args=(argv, tmp_path / run, out, run)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run in ("a", "b"):
        assert out[run][0] == 0, out[run][1]
    landed = {run: int(re.search(r"%s/web: revision (\d+) \(deployed, unstick-demo-0\.2\.0\)" % space, out[run][1]).group(1))
              for run in ("a", "b")}
    assert sorted(landed.values()) == [2, 3], landed
    second = max(landed, key=landed.get)
    first = min(landed, key=landed.get)
    # the second waited for its turn on the Lease, held by the first; the first did not wait
    assert re.search(r"waited [\d.]+s for its turn on the Lease helmops-unstick-web \(held by [^)]+#[0-9a-f]+\)",
                     out[second][1]), out[second][1]
    assert "for its turn on the Lease" not in out[first][1]
    assert real.history("web", space) == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    lease = _lease(kube, space)
    assert lease is not None and not lease["spec"].get("holderIdentity")             # given back
    assert json.loads(lease["metadata"]["annotations"]["helmops.unstick/queue"]) == []


def killed_holder(tmp_path, kube, helm_bin, space):
    """A run killed while it holds the Lease (15 s); the next waits only until it expires."""
    real = RealHelm(kube.kubeconfig, helm_bin)
    real.install("web", space, values={"message": "one"})
    chart = str(helmfix.make_chart(tmp_path, "0.2.0"))
    hang = tmp_path / "hang.yml"
    hang.write_text("- name: An upgrade that never ends\n  ansible.builtin.pause:\n    seconds: 600\n")
    work = tmp_path / "killed"
    argv = _argv(work, kube, helm_bin, space, {"guarded_upgrade_chart": chart, "guarded_upgrade_lease_duration": "15s",
                                               "guarded_upgrade_upgrade_tasks": str(hang)})
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(work),
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1"), start_new_session=True)
    try:
        end = time.monotonic() + 180
        while time.monotonic() < end and not ((_lease(kube, space) or {}).get("spec") or {}).get("holderIdentity"):
            time.sleep(0.5)
        held = _lease(kube, space)["spec"]
        assert held["holderIdentity"] and held["leaseDurationSeconds"] == 15
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    out = {}
    argv = _argv(tmp_path / "next", kube, helm_bin, space, {"guarded_upgrade_chart": chart})
    _run(argv, tmp_path / "next", out, "next")
    rc, text, started, ended = out["next"]
    assert rc == 0, text
    waited = float(re.search(r"waited ([\d.]+)s for its turn on the Lease helmops-unstick-web \(held by %s\)"
                             % re.escape(held["holderIdentity"]), text).group(1))
    assert 0 < waited <= 15 + 10                        # until the abandoned Lease expired, not the wait's 10m
    assert real.history("web", space) == [(1, "superseded"), (2, "deployed")]
