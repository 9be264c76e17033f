#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet benchmark (issue 28): the stuck_releases role over 1, 10, 50 and 500 clusters against what a user would
write without the collection, a shell loop of ``helm list``, on the same clusters in the same run; printed as
Markdown tables with the goals marked met or not.

For each fleet size N (default 1, 10, 50, 500), N localkube clusters are started, each holding R releases x V
revisions of real Helm records (seeded as in bench/scan.py: bench/common.py) of which S are stuck in
pending-upgrade for two hours; then, on those clusters:

1. ``playbooks/report.yml`` (the role's defaults, Ansible's default 5 forks);
2. for N in ``--helm-at`` (default 50, 500): a sequential loop of the real helm 4 CLI, ``helm list -A --pending
   -o json --kubeconfig KC``, and of helm 3, ``helm list -A --pending -a -o json --kubeconfig KC``;
3. ``playbooks/remediate.yml`` (``--strategy unlock`` by default: the stuck revision is marked failed over the
   API; the role's default ``rollback`` runs one ``helm rollback`` process per stuck release, which measures
   helm, not the fleet engine).

Measured: wall time, CPU seconds of the command and everything it ran (not the servers), peak RSS of that
process tree (sampled every 50 ms, summed over its processes). Checked: every run finds N x S stuck releases, and
remediate.yml remediates them all, none remaining, no errors. Goals: report.yml >= 2x faster than the helm 4 loop
over 50 clusters, >= 3x over 500; remediate.yml over 50 clusters < 2x one cluster's wall time, over 500 < 10x;
peak RSS at 500 clusters < 1 GB. The 1-minute load average is printed at the start of every run (the machine
is shared).

The API servers are localkube (tests/support/localkube) on 127.0.0.1: several servers per helper process
(``--per-process``, default 25, each server its own port, store and threads).

Run: ``scripts/bench fleet [--clusters 1,10,50,500 --helm-at 50,500 --forks 5]``.
"""

import argparse
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, ROOT, SUPPORT, ansible_env, machine, seed_objects, table, template_record, write_state  # noqa: E402

PLAYBOOKS = ROOT / "playbooks"


def ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


# -- servers: several localkube servers in one helper process --------------------------------------------
def serve(pairs):
    """``--serve STATE KUBECONFIG ...``: one localkube per pair in this process; prints ``ready``; runs until
    SIGTERM. The state is loaded once and never written back (``state_file`` dropped after the load)."""
    sys.path.insert(0, str(SUPPORT))
    from localkube import LocalKube
    kubes = []
    for state, kubeconfig in zip(pairs[::2], pairs[1::2]):
        kube = LocalKube(state_file=state).start()
        kube.state_file = None
        kube.write_kubeconfig(kubeconfig)
        kubes.append(kube)
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    for kube in kubes:
        kube.stop()


class Fleet:
    """``n`` clusters loaded from ``state``, ``per_process`` servers per helper process; ``inventory`` holds one
    host per cluster (its kubeconfig)."""

    def __init__(self, tmp, n, state, per_process):
        self.procs, self.inventory = [], {}
        pairs = []
        for i in range(n):
            d = Path(tmp) / ("c%03d" % i)
            d.mkdir()
            shutil.copy(str(state), str(d / "state.json"))
            pairs.append((str(d / "state.json"), str(d / "kubeconfig")))
            self.inventory["cluster-%03d" % i] = {"stuck_releases_kubeconfig": str(d / "kubeconfig"),
                                                  "ansible_connection": "local",
                                                  "ansible_python_interpreter": sys.executable}
        try:
            for k in range(math.ceil(n / per_process)):
                group = [x for pair in pairs[k * per_process:(k + 1) * per_process] for x in pair]
                self.procs.append(subprocess.Popen([sys.executable, __file__, "--serve"] + group,
                                                   stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True))
            for proc in self.procs:
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("a localkube helper did not start")
        except BaseException:
            self.stop()
            raise

    def kubeconfigs(self):
        return [h["stuck_releases_kubeconfig"] for h in self.inventory.values()]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- measuring -----------------------------------------------------------------------------------------------
def _tree_rss(root_pid):
    """Summed RSS (bytes) of ``root_pid`` and its descendants, from /proc."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * resource.getpagesize()
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def timed(cmd, cwd, timeout, env=None):
    """(wall s, CPU s, peak tree RSS MB, CompletedProcess-like) of ``cmd`` and everything it runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or ansible_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak[0] / 1e6, subprocess.CompletedProcess(cmd, proc.returncode, out)


def playbook(tmp, fleet, name, extra, timeout, forks):
    inv = Path(tmp) / "inventory.yml"
    inv.write_text(yaml.safe_dump({"helm_clusters": {"hosts": fleet.inventory}}))
    report = Path(tmp) / ("report-" + name.replace(".yml", ""))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inv), str(PLAYBOOKS / name), "-f", str(forks),
           "-e", json.dumps(dict(extra, stuck_releases_report_dir=str(report)))]
    seconds, cpu, rss, out = timed(cmd, tmp, timeout)
    if out.returncode != 0:
        raise SystemExit("%s failed (rc %d):\n%s" % (name, out.returncode, out.stdout[-4000:]))
    return seconds, cpu, rss, json.loads((report / "stuck-releases.json").read_text())["summary"]


def helm_loop(tmp, helm, kubeconfigs, flags):
    """A user's script: one ``helm list -A <flags> -o json --kubeconfig KC`` per cluster, one after the other,
    counting the pending releases; (wall s, CPU s, peak RSS MB, pending found)."""
    home = Path(tmp) / ("home-" + Path(str(helm)).parent.name)
    env = dict(os.environ, HOME=str(home), HELM_CONFIG_HOME=str(home / "config"),
               HELM_CACHE_HOME=str(home / "cache"), HELM_DATA_HOME=str(home / "data"))
    found, peak = 0, 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for kubeconfig in kubeconfigs:
        out = subprocess.run([str(helm), "list", "-A"] + flags + ["-o", "json", "--kubeconfig", kubeconfig],
                             check=True, capture_output=True, text=True, env=env)
        found += sum(1 for r in json.loads(out.stdout) if str(r.get("status", "")).startswith("pending"))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = after.ru_maxrss / 1e3   # the largest helm process (kB)
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), peak, found


def seeded_state(tmp, template, name, releases, revisions, stuck):
    objects, namespaces = seed_objects(template, releases, revisions, stuck, 5, prefix="app")
    path = Path(tmp) / name
    write_state(path, objects, namespaces)
    return path


def goal(ok):
    return "met" if ok else "NOT met"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=ints, default=[1, 10, 50, 500], help="comma-separated (default 1,10,50,500)")
    ap.add_argument("--helm-at", type=ints, default=[50, 500], help="fleet sizes with the helm loops (50,500)")
    ap.add_argument("--releases", type=int, default=20, help="releases per cluster")
    ap.add_argument("--revisions", type=int, default=5)
    ap.add_argument("--stuck", type=int, default=3, help="stuck releases per cluster")
    ap.add_argument("--strategy", default="unlock", choices=["unlock", "rollback"])
    ap.add_argument("--forks", type=int, default=5, help="ansible-playbook -f (default: Ansible's 5)")
    ap.add_argument("--per-process", type=int, default=25, help="localkube servers per helper process")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds one run may take")
    args = ap.parse_args()
    sys.path.insert(0, str(SUPPORT))
    import tools
    extra = {"stuck_releases_strategy": args.strategy, "stuck_releases_helm_binary": str(tools.HELM4)}
    loads, rows, results = [], [], {}

    def load():
        loads.append(os.getloadavg()[0])
        return "%.1f" % loads[-1]

    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        small = seeded_state(tmp, template, "small.json", args.releases, args.revisions, args.stuck)
        for n in args.clusters:
            run_dir = Path(tmp) / ("run-%d" % n)
            run_dir.mkdir()
            fleet = Fleet(run_dir, n, small, args.per_process)
            want = n * args.stuck
            try:
                at = load()
                report = playbook(run_dir, fleet, "report.yml", extra, args.timeout, args.forks)
                if report[3]["stuck"] != want:
                    raise SystemExit("%d clusters: report.yml found %s stuck, expected %d" % (n, report[3], want))
                results[(n, "report")] = report + (at,)
                if n in args.helm_at:
                    for label, helm, flags in (("helm %s" % tools.HELM4_VERSION, tools.HELM4, ["--pending"]),
                                               ("helm %s" % tools.HELM3_VERSION, tools.HELM3, ["--pending", "-a"])):
                        at = load()
                        out = helm_loop(run_dir, helm, fleet.kubeconfigs(), flags)
                        if out[3] != want:
                            raise SystemExit("%d clusters: %s found %d pending, expected %d" % (n, label, out[3], want))
                        results[(n, label)] = out + (at, "helm list -A %s -o json, in a loop" % " ".join(flags))
                at = load()
                fixed = playbook(run_dir, fleet, "remediate.yml", extra, args.timeout, args.forks)
                summary = fixed[3]
                if (summary["remediated"], summary["remaining"], summary["errors"]) != (want, 0, 0):
                    raise SystemExit("%d clusters: expected %d remediated, report says %s" % (n, want, summary))
                results[(n, "remediate")] = fixed + (at,)
            finally:
                fleet.stop()
                shutil.rmtree(str(run_dir), ignore_errors=True)
            print("  done: %d clusters" % n, file=sys.stderr, flush=True)

    one = results.get((min(args.clusters), "remediate"))
    helm4 = "helm %s" % tools.HELM4_VERSION
    for n in args.clusters:
        for what in ("report", "remediate"):
            seconds, cpu, rss, summary, at = results[(n, what)]
            goal_text = ""
            if what == "report" and (n, helm4) in results:
                speedup = results[(n, helm4)][0] / seconds
                target = {50: 2, 500: 3}.get(n)
                goal_text = "%.1f× faster than the helm 4 loop" % speedup + (
                    "; ≥ %d×: %s" % (target, goal(speedup >= target)) if target else "")
            if what == "remediate" and one:
                ratio = seconds / one[0]
                target = {50: 2, 500: 10}.get(n)
                goal_text = "%.1f× one cluster" % ratio + ("; < %d×: %s" % (target, goal(ratio < target))
                                                           if target else "")
            if n == 500:
                goal_text += "; peak < 1 GB: %s" % goal(rss < 1000)
            rows.append([n, "%s.yml" % what, summary["stuck"] if what == "report" else summary["remediated"],
                         "%.1f" % seconds, "%.1f" % cpu, "%.0f" % rss, at, goal_text.lstrip("; ")])
            if what != "report":
                continue
            for label in (helm4, "helm %s" % tools.HELM3_VERSION):
                if (n, label) in results:
                    seconds, cpu, rss, found, at, command = results[(n, label)]
                    rows.append([n, "%s: %s" % (label, command), found, "%.1f" % seconds, "%.1f" % cpu,
                                 "%.0f" % rss, at, ""])
    print(machine())
    print("\nThe role (Ansible's default %d forks, strategy %s) and a shell loop of helm list, on the same localkube "
          "clusters (each %d releases x %d revisions, %d stuck in pending-upgrade, 2 h old; %d servers per helper "
          "process). found: stuck releases (report.yml, helm) or remediated (remediate.yml). Peak RSS: the "
          "command's process tree (helm: its largest process)."
          % (args.forks, args.strategy, args.releases, args.revisions, args.stuck, args.per_process))
    print(table(["clusters", "run", "found", "wall s", "CPU s", "peak RSS MB", "load (1 min)", "goal"],
                rows))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2:])
    else:
        main()
