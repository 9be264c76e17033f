# SPDX-License-Identifier: GPL-3.0-or-later
"""The integration targets' cluster: localkube (tests/support/localkube) in a process of its own, with a
release real Helm left stuck.

    cluster.py start DIR   start it, install shop/web, upgrade it, kill a second upgrade midway (real Helm
                           SDK) and date that pending revision an hour back; print JSON (kubeconfig, pid,
                           stuck revision, the test chart, the real helm 4 CLI)
    cluster.py stop DIR    stop the server DIR/state.json names

ansible-test runs the targets from a copy of them, so tests/support is looked up in the collection
ANSIBLE_COLLECTIONS_PATH points at (ansible-test sets it), then beside this file (a run in place).
"""

import json
import os
import sys
from pathlib import Path


def support_dir():
    here = Path(__file__).resolve()
    candidates = [Path(p) / "ansible_collections" / "helmops" / "unstick" / "tests" / "support"
                  for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    candidates.append(here.parents[3] / "support")
    for candidate in candidates:
        if (candidate / "localkube").is_dir():
            return candidate
    raise SystemExit("tests/support/localkube not found in %s" % ", ".join(str(c) for c in candidates))


def start(work):
    support = support_dir()
    sys.path.insert(0, str(support))
    import helmfix
    import tools
    from helmfix.remote import RemoteKube, spawn

    work.mkdir(parents=True, exist_ok=True)
    kubeconfig = work / "kubeconfig"
    proc, url = spawn(kubeconfig, detach=True, log=work / "localkube.log")
    (work / "state.json").write_text(json.dumps({"pid": proc.pid, "url": url}))
    kube = RemoteKube(url, kubeconfig)
    env = helmfix.HelmEnv(str(kubeconfig))
    env.install("web", "shop")
    env.upgrade("web", "shop")
    revision = helmfix.make_stuck_upgrade(env, kube, "web", "shop", values={"message": "half-done"})
    helmfix.age_record(kube, "shop", "web", revision, 3600)
    if not os.access(str(tools.HELM4), os.X_OK):
        raise SystemExit("%s is missing: scripts/bootstrap builds it" % tools.HELM4)
    print(json.dumps({"kubeconfig": str(kubeconfig), "url": url, "pid": proc.pid, "stuck_revision": revision,
                      "chart": str(helmfix.CHART), "helm": str(tools.HELM4)}))


def stop(work):
    sys.path.insert(0, str(support_dir()))
    from helmfix.remote import stop as stop_server

    state = work / "state.json"
    stopped = stop_server(json.loads(state.read_text())["pid"]) if state.exists() else False
    print(json.dumps({"stopped": stopped}))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit(__doc__)
    {"start": start, "stop": stop}[sys.argv[1]](Path(sys.argv[2]).resolve())
