#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet benchmark (issue 16): the role's batch mode over 1 to 500 clusters, and against what a user would
write without the collection, printed as Markdown tables with the goals marked met or not.

1. ``playbooks/remediate.yml`` with the role's defaults (batch mode, concurrency 16, Ansible's default 5 forks)
   over 1, 10, 50 and 500 clusters, each holding R releases x V revisions of real Helm records (seeded as in
   bench/scan.py: bench/common.py) of which S are stuck in pending-upgrade for two hours; ``--strategy unlock``
   by default (the stuck revision is marked failed over the API): the role's default ``rollback`` runs one
   ``helm rollback`` process per stuck release, which measures helm, not the fleet engine. Per-host mode
   (``stuck_releases_batch: false``) is measured too up to ``--per-host-max`` clusters. Measured: wall time,
   CPU seconds of ansible-playbook and everything it ran (not the servers), peak RSS of that process tree
   (sampled every 50 ms, summed over its processes), ratio to one cluster. Checked: the report says every stuck
   release was remediated, none remains, no errors. Goals: 50 clusters < 2x one cluster's wall time, 500 <
   10x.
2. Without us, with the real helm CLIs of .tools/, same run: ``report.yml`` against a sequential loop of
   ``helm list -A --pending`` (helm 3) and ``helm list -A`` filtered on pending (helm 4 lists every state by default
   and has no ``-a``) over (a) the 50
   small clusters and (b) 10 clusters of 2,000 releases x 10 revisions. Goals: >= 3x faster on (a), >= 10x on
   (b). Every run must find the same stuck releases.
3. Memory: the controller's peak RSS at 500 clusters and its growth per cluster (from table 1).

The API servers are localkube (tests/support/localkube) on 127.0.0.1: several servers per helper process
(``--per-process``, default 25, each server its own port, store and threads; so 500 clusters are 20
processes, about 2 GB less than one process each). Servers are started fresh for every measured run.

Run: ``scripts/bench fleet [--clusters 1,10,50,500 --per-host-max 50 --big 10 --skip-helm]``.
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


def helm_loop(tmp, helm, kubeconfigs, pending_flag):
    """A user's script: one ``helm list`` per cluster, one after the other, keeping the pending releases;
    (seconds, CPU s, pending found)."""
    home = Path(tmp) / ("home-" + Path(str(helm)).parent.name)
    env = dict(os.environ, HOME=str(home), HELM_CONFIG_HOME=str(home / "config"),
               HELM_CACHE_HOME=str(home / "cache"), HELM_DATA_HOME=str(home / "data"))
    found = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for kubeconfig in kubeconfigs:
        argv = [str(helm), "list", "-A"] + ([pending_flag] if pending_flag else []) + [
            "--max", "0", "-o", "json", "--kubeconfig", kubeconfig]
        out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
        found += sum(1 for r in json.loads(out.stdout) if str(r.get("status", "")).startswith("pending"))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), found


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
    ap.add_argument("--per-host-max", type=int, default=50, help="also per-host mode up to this many clusters")
    ap.add_argument("--releases", type=int, default=20, help="releases per cluster")
    ap.add_argument("--revisions", type=int, default=5)
    ap.add_argument("--stuck", type=int, default=3, help="stuck releases per cluster")
    ap.add_argument("--strategy", default="unlock", choices=["unlock", "rollback"])
    ap.add_argument("--forks", type=int, default=5, help="ansible-playbook -f (default: Ansible's 5)")
    ap.add_argument("--per-process", type=int, default=25, help="localkube servers per helper process")
    ap.add_argument("--small", type=int, default=50, help="clusters of comparison (a)")
    ap.add_argument("--big", type=int, default=10, help="clusters of comparison (b)")
    ap.add_argument("--big-releases", type=int, default=2000)
    ap.add_argument("--big-revisions", type=int, default=10)
    ap.add_argument("--skip-helm", action="store_true", help="only table 1 (and 3)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds one run may take")
    args = ap.parse_args()
    extra = {"stuck_releases_strategy": args.strategy, "stuck_releases_helm_binary": str(_helm4())}
    load = []
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        small = seeded_state(tmp, template, "small.json", args.releases, args.revisions, args.stuck)

        def one(n, batch):
            run_dir = Path(tmp) / ("run-%d-%s" % (n, batch))
            run_dir.mkdir()
            fleet = Fleet(run_dir, n, small, args.per_process)
            try:
                load.append(os.getloadavg()[0])
                out = playbook(run_dir, fleet, "remediate.yml", dict(extra, stuck_releases_batch=batch),
                               args.timeout, args.forks)
            finally:
                fleet.stop()
                shutil.rmtree(str(run_dir), ignore_errors=True)
            summary = out[3]
            want = n * args.stuck
            if (summary["remediated"], summary["remaining"], summary["errors"]) != (want, 0, 0):
                raise SystemExit("%d clusters: expected %d remediated, report says %s" % (n, want, summary))
            print("  done: remediate.yml, %d clusters, batch %s: %.1f s" % (n, batch, out[0]), file=sys.stderr,
                  flush=True)
            return out

        results = {}
        for n in args.clusters:
            results[(n, True)] = one(n, True)
            if n <= args.per_host_max:
                results[(n, False)] = one(n, False)
        rows = []
        base = results[(min(args.clusters), True)]
        for n in args.clusters:
            for batch in (True, False):
                if (n, batch) not in results:
                    continue
                seconds, cpu, rss, summary = results[(n, batch)]
                ratio = seconds / base[0]
                target = {50: 2, 500: 10}.get(n) if batch else None
                rows.append([n, "batch" if batch else "per-host", summary["remediated"], "%.1f" % seconds,
                             "%.1f" % cpu, "%.0f" % rss, "%.1f×" % ratio,
                             "< %d×: %s" % (target, goal(ratio < target)) if target else ""])
        print(machine())
        print("\n1. playbooks/remediate.yml (role defaults: batch, concurrency 16; %d forks; strategy %s), each "
              "cluster %d releases x %d revisions, %d stuck (pending-upgrade, 2 h old); %d localkube servers per "
              "helper process" % (args.forks, args.strategy, args.releases, args.revisions, args.stuck,
                                  args.per_process))
        print(table(["clusters", "mode", "remediated", "wall s", "CPU s", "peak RSS MB", "vs 1 cluster (batch)",
                     "goal"], rows))
        big_n = max(args.clusters)
        if big_n > min(args.clusters):
            growth = (results[(big_n, True)][2] - base[2]) / (big_n - min(args.clusters))
            print("\n3. Memory: controller peak RSS (ansible-playbook and its children) %.0f MB at %d clusters, "
                  "%.0f MB at %d; growth %.2f MB per cluster" % (results[(big_n, True)][2], big_n, base[2],
                                                               min(args.clusters), growth))
        if not args.skip_helm:
            compare(args, tmp, template, small, extra, load)
        print("\nload average (1 min) at the start of each run: %s" % ", ".join("%.1f" % x for x in load))


def _helm4():
    sys.path.insert(0, str(SUPPORT))
    import tools
    return tools.HELM4


def compare(args, tmp, template, small, extra, load):
    sys.path.insert(0, str(SUPPORT))
    import tools
    rows = []
    big = seeded_state(tmp, template, "big.json", args.big_releases, args.big_revisions, args.stuck)
    for label, n, state, target in (("(a) %d clusters x %d releases x %d revisions" % (args.small, args.releases,
                                                                                    args.revisions),
                                     args.small, small, 3),
                                    ("(b) %d clusters x %d releases x %d revisions" % (args.big, args.big_releases,
                                                                                    args.big_revisions),
                                     args.big, big, 10)):
        run_dir = Path(tmp) / ("compare-%d" % n)
        run_dir.mkdir()
        per_process = 1 if state == big else args.per_process   # big stores: one server per process
        fleet = Fleet(run_dir, n, state, per_process)
        try:
            load.append(os.getloadavg()[0])
            ours = playbook(run_dir, fleet, "report.yml", extra, args.timeout, args.forks)
            helm3 = helm_loop(run_dir, tools.HELM3, fleet.kubeconfigs(), "--pending")
            helm4 = helm_loop(run_dir, tools.HELM4, fleet.kubeconfigs(), None)
        finally:
            fleet.stop()
            shutil.rmtree(str(run_dir), ignore_errors=True)
        want = n * args.stuck
        if (ours[3]["stuck"], helm3[2], helm4[2]) != (want, want, want):
            raise SystemExit("%s: expected %d stuck everywhere, got report.yml %d, helm 3 %d, helm 4 %d"
                             % (label, want, ours[3]["stuck"], helm3[2], helm4[2]))
        print("  done: comparison %s" % label, file=sys.stderr, flush=True)
        rows.append([label, "report.yml (batch)", want, "%.1f" % ours[0], "%.1f" % ours[1], "", ""])
        for name, res in (("helm %s: helm list -A --pending, in a loop" % tools.HELM3_VERSION, helm3),
                          ("helm %s: helm list -A (every state), filtered, in a loop" % tools.HELM4_VERSION, helm4)):
            speedup = res[0] / ours[0]
            rows.append([label, name, res[2], "%.1f" % res[0], "%.1f" % res[1], "%.1f×" % speedup,
                         "≥ %d×: %s" % (target, goal(speedup >= target))])
    print("\n2. Without us: report.yml against a sequential loop of helm list (real helm CLIs), same fleets")
    print(table(["fleet", "run", "pending found", "wall s", "CPU s", "report.yml faster by", "goal"], rows))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2:])
    else:
        main()
