#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guarded upgrade benchmark: ``playbooks/safe_upgrade.yml`` on one release, path by path.

Each run: a fresh localkube (in this process), a release made with the real helm CLI of .tools/ (helm 4 by
default, ``--helm helm3``), then one ``ansible-playbook playbooks/safe_upgrade.yml`` over an inventory of
that one cluster. Paths:

* normal   web deployed (revision 2), upgraded to chart 0.2.0 with new values
* stuck    web's third revision left pending-upgrade by a helm upgrade SIGKILLed midway, aged one hour:
           unstuck (rolled back), then upgraded
* young    the same, but the pending revision is seconds old (a live deploy?): the guard stops, rc 2
* rescue   web deployed on 0.2.0, upgraded to a chart the API server rejects (atomic, the default):
           helm rolls back itself, the guard checks it and fails the play
* rescue-no-atomic   the same with guarded_upgrade_atomic false: the guard rolls back

Measured: the ansible-playbook process (wall seconds), module runs (tasks that sent a module to run,
by module; set_fact, debug, fail, assert and includes run on the controller only and are not counted),
counted by bench/callback_plugins/module_runs.py, and the requests the API server answered (helm's own
included). Checked: the play's rc and the release's newest revision are what the path expects.

``--inventory plugin`` (default) makes the inventory with the helmops.unstick.kubeconfig plugin;
``--inventory hand --kubeconfig-var NAME`` writes it by hand with the cluster's kubeconfig in NAME.
``--collection DIR`` runs another checkout of the collection (``git archive COMMIT | tar -x -C DIR``), e.g. the
role before helm_guard (``--inventory hand --kubeconfig-var guarded_upgrade_kubeconfig``), on the same machine
in the same minutes as this one.

Run: ``scripts/bench guard [--paths normal,stuck,young,rescue,rescue-no-atomic --repeat 3 --helm helm4]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, ROOT, ansible_env, machine, table  # noqa: E402

PLAYBOOK = ROOT / "playbooks" / "safe_upgrade.yml"
CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"
PATHS = ("normal", "stuck", "young", "rescue", "rescue-no-atomic")
#: (rc, newest status, newest description prefix) each path must end with
EXPECT = {
    "normal": (0, "deployed", "Upgrade complete"),
    "stuck": (0, "deployed", "Upgrade complete"),
    "young": (2, "pending-upgrade", ""),
    "rescue": (2, "deployed", "Rollback to 2"),
    "rescue-no-atomic": (2, "deployed", "Rollback to 2"),
}


def prepare(path, kube, helm, tmp):
    """Leave web in the state ``path`` starts from; returns the extra vars of the run."""
    import helmfix
    good = helmfix.make_chart(tmp, "0.2.0")
    helm.install("web", "shop")
    extra = {"guarded_upgrade_release": "web", "guarded_upgrade_namespace": "shop",
             "guarded_upgrade_helm_binary": helm.binary, "guarded_upgrade_timeout": "60s",
             "guarded_upgrade_chart": str(good), "guarded_upgrade_values": {"message": "v2"},
             # the guard without its Lease, as the table of docs/guarded-upgrades.md measures it (the Lease's
             # four requests: bench/guard_turns.py)
             "guarded_upgrade_take_turns": False}
    if path == "normal":
        helm.upgrade("web", "shop")
    elif path in ("stuck", "young"):
        helm.upgrade("web", "shop")
        # helm 3 patches only what changed: new values give the stuck-maker a write to interrupt
        values = {"message": "half-done"} if helm.major == 3 else None
        rev = helmfix.make_stuck_upgrade(helm, kube, "web", "shop", values=values)
        if path == "stuck":
            helmfix.age_record(kube, "shop", "web", rev, 3600)
        else:
            extra["guarded_upgrade_wait_for_pending"] = 0     # the guard stops at once, as this path measures
    else:
        helm.upgrade("web", "shop", good)
        extra["guarded_upgrade_chart"] = str(helmfix.make_chart(tmp, "0.3.0", bad=True))
        extra["guarded_upgrade_values"] = {}
        if path == "rescue-no-atomic":
            extra["guarded_upgrade_atomic"] = False
    return extra


def inventory(work, kube, how, kubeconfig_var):
    if how == "plugin":
        source = work / "clusters.kubeconfig.yml"
        source.write_text(yaml.safe_dump({"plugin": "helmops.unstick.kubeconfig", "kubeconfigs": [kube.kubeconfig]}))
        return source
    source = work / "clusters.yml"
    source.write_text(yaml.safe_dump({"helm_clusters": {"hosts": {"local": {
        kubeconfig_var: kube.kubeconfig, "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable}}}}))
    return source


def collections_path(work, checkout):
    """ANSIBLE_COLLECTIONS_PATH running ``checkout`` as helmops.unstick (None: this checkout)."""
    if not checkout:
        return None
    link = Path(work) / "collections" / "ansible_collections" / "helmops" / "unstick"
    link.parent.mkdir(parents=True)
    link.symlink_to(Path(checkout).resolve())
    return str(Path(work) / "collections")


def one_run(path, helm_id, how, kubeconfig_var, timeout, checkout=None):
    import tools
    from localkube import LocalKube
    from realhelm import RealHelm
    with tempfile.TemporaryDirectory() as tmp, LocalKube() as kube:
        work = Path(tmp)
        kube.kubeconfig = str(kube.write_kubeconfig(work / "kubeconfig"))
        helm = RealHelm(kube.kubeconfig, tools.REAL_HELMS[helm_id])
        extra = prepare(path, kube, helm, work)
        (work / "vars.json").write_text(json.dumps(extra))
        counts = work / "module-runs.json"
        playbook = Path(checkout).resolve() / "playbooks" / "safe_upgrade.yml" if checkout else PLAYBOOK
        cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory(work, kube, how, kubeconfig_var)),
               "-e", "@%s" % (work / "vars.json"), str(playbook)]
        env = ansible_env(ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="module_runs",
                          MODULE_RUNS_FILE=str(counts), ANSIBLE_NOCOLOR="1")
        other = collections_path(work, checkout)
        if other:
            env["ANSIBLE_COLLECTIONS_PATH"] = other
        kube.reset_stats()
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=timeout)
        seconds = time.perf_counter() - start
        requests = kube.stats()["requests"]
        newest = helm.run("history", "web", "-o", "json", namespace="shop")
        last = json.loads(newest.stdout)[-1]
        rc, status, description = EXPECT[path]
        if out.returncode != rc or last["status"] != status or not last["description"].startswith(description):
            raise SystemExit("%s: expected rc %d and newest %s %r, got rc %d and %s %r:\n%s"
                             % (path, rc, status, description, out.returncode, last["status"], last["description"],
                                out.stdout[-5000:]))
        modules = json.loads(counts.read_text())["modules"]
    return seconds, modules, requests


def describe(modules):
    return ", ".join("%s %d" % (name.replace("helmops.unstick.", "").replace("kubernetes.core.", "k.c."), m["runs"])
                     for name, m in sorted(modules.items(), key=lambda kv: (-kv[1]["runs"], kv[0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths", default=",".join(PATHS), help="comma-separated, of: %s" % ", ".join(PATHS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per path (median seconds)")
    ap.add_argument("--helm", default="helm4", choices=["helm3", "helm4"])
    ap.add_argument("--inventory", default="plugin", choices=["plugin", "hand"])
    ap.add_argument("--kubeconfig-var", default="stuck_releases_kubeconfig",
                    help="with --inventory hand: the host variable holding the kubeconfig path")
    ap.add_argument("--timeout", type=int, default=600, help="seconds one ansible-playbook run may take")
    ap.add_argument("--collection", default=None, help="another checkout of the collection to run (default: this one)")
    args = ap.parse_args()
    rows = []
    for path in [p.strip() for p in args.paths.split(",") if p.strip()]:
        if path not in PATHS:
            raise SystemExit("unknown path %r (one of %s)" % (path, ", ".join(PATHS)))
        runs = []
        for _ in range(args.repeat):
            runs.append(one_run(path, args.helm, args.inventory, args.kubeconfig_var, args.timeout, args.collection))
            print("  done: %s %.1f s" % (path, runs[-1][0]), file=sys.stderr, flush=True)
        seconds = [r[0] for r in runs]
        modules = runs[0][1]
        if any(describe(r[1]) != describe(modules) for r in runs):
            raise SystemExit("%s: the module runs differ between runs: %s" % (path, [describe(r[1]) for r in runs]))
        module_seconds = statistics.median(sum(m["seconds"] for m in r[1].values()) for r in runs)
        rows.append([path, sum(m["runs"] for m in modules.values()), describe(modules),
                     "%.1f" % statistics.median(seconds), "%.1f–%.1f" % (min(seconds), max(seconds)),
                     "%.1f" % module_seconds, statistics.median(r[2] for r in runs)])
    print(machine())
    import tools
    print("playbooks/safe_upgrade.yml on one release, %s (%s), inventory %s, collection %s; median of %d runs"
          % (args.helm, os.path.basename(os.path.dirname(str(tools.REAL_HELMS[args.helm]))), args.inventory,
             args.collection or ROOT, args.repeat))
    print(table(["path", "module runs", "by module", "ansible-playbook s", "range s", "in modules s",
                 "API requests"], rows))


if __name__ == "__main__":
    main()
