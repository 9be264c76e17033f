#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet benchmark: ``playbooks/remediate.yml`` over 1, 10 and 50 local clusters, forks 5 and 50.

Every cluster is its own localkube process (``python -m localkube`` on
127.0.0.1, a free port; idle between requests), loaded with R releases x V
revisions of real Helm records (seeded as in bench/scan.py: bench/common.py)
of which S are stuck in pending-upgrade for two hours. One process per cluster
rather than several servers in one helper process: clusters are independent
like real ones, and one helper's GIL would serialize the servers' answers.

Each run: fresh servers (every cluster stuck again), then ``ansible-playbook
playbooks/remediate.yml -f FORKS`` with ``stuck_releases_strategy: unlock``
(no helm CLI: the stuck revision is marked failed over the API; the role's
default ``rollback`` would run ``helm rollback`` per release), the role's
default report formats, report written to a temporary directory. Timed: the
whole ansible-playbook process. Checked: the fleet report says every stuck
release of every cluster was remediated, nothing remains, no errors.
Servers are stopped after each run; every wait has a deadline.

Run: ``scripts/bench fleet [--clusters 1,10,50 --forks 5,50 --releases 20 --revisions 5 --stuck 3]``.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BIN, ROOT, Server, ansible_env, machine, seed_objects, table,  # noqa: E402
                    template_record, write_state)

PLAYBOOK = ROOT / "playbooks" / "remediate.yml"


def ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


def start_fleet(tmp, n, state):
    """n localkube processes, each with its own copy of ``state``; all started before waiting."""
    servers, inventory = [], {}
    try:
        for i in range(n):
            d = Path(tmp) / ("c%02d" % i)
            d.mkdir()
            shutil.copy(str(state), str(d / "state.json"))
            servers.append(Server(d / "state.json", d / "kubeconfig", wait=False))
        for i, server in enumerate(servers):
            server.wait_url(60)
            inventory["cluster-%02d" % i] = {"stuck_releases_kubeconfig": str(Path(tmp) / ("c%02d" % i) / "kubeconfig"),
                                             "ansible_connection": "local",
                                             "ansible_python_interpreter": sys.executable}
    except BaseException:
        stop_fleet(servers)
        raise
    return servers, inventory


def stop_fleet(servers):
    for server in servers:
        if server.proc.poll() is None:
            server.proc.terminate()
    for server in servers:
        server.stop()


def run_playbook(tmp, inventory, forks, timeout):
    inv = Path(tmp) / "inventory.yml"
    inv.write_text(yaml.safe_dump({"helm_clusters": {"hosts": inventory}}))
    report = Path(tmp) / "report"
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inv), str(PLAYBOOK), "-f", str(forks),
           "-e", "stuck_releases_strategy=unlock", "-e", "stuck_releases_report_dir=%s" % report]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=tmp, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit("ansible-playbook failed (rc %d):\n%s" % (out.returncode, out.stdout[-4000:]))
    return seconds, cpu, json.loads((report / "stuck-releases.json").read_text())["summary"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=ints, default=[1, 10, 50], help="comma-separated (default 1,10,50)")
    ap.add_argument("--forks", type=ints, default=[5, 50], help="comma-separated (default 5,50)")
    ap.add_argument("--releases", type=int, default=20, help="releases per cluster")
    ap.add_argument("--revisions", type=int, default=5)
    ap.add_argument("--stuck", type=int, default=3, help="stuck releases per cluster")
    ap.add_argument("--repeat", type=int, default=3, help="runs per cell, fresh servers each (median seconds)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds one ansible-playbook run may take")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        objects, namespaces = seed_objects(template, args.releases, args.revisions, args.stuck, 5)
        state = Path(tmp) / "seed-state.json"
        write_state(state, objects, namespaces)
        for forks in args.forks:
            for n in args.clusters:
                runs = []
                for k in range(args.repeat):
                    run_dir = Path(tmp) / ("run-%d-%d-%d" % (n, forks, k))
                    run_dir.mkdir()
                    servers, inventory = start_fleet(run_dir, n, state)
                    try:
                        seconds, cpu, summary = run_playbook(run_dir, inventory, forks, args.timeout)
                    finally:
                        stop_fleet(servers)
                    shutil.rmtree(str(run_dir), ignore_errors=True)
                    want = n * args.stuck
                    if (summary.get("remediated"), summary.get("remaining"), summary.get("errors")) != (want, 0, 0):
                        raise SystemExit("%d clusters: expected %d remediated, report says %s" % (n, want, summary))
                    runs.append((seconds, cpu, summary["remediated"]))
                    print("  done: %d clusters, forks %d: %.1f s" % (n, forks, seconds), file=sys.stderr, flush=True)
                runs.sort()
                results[(n, forks)] = runs[len(runs) // 2]
    rows = []
    for forks in args.forks:
        one = results.get((min(args.clusters), forks), (None,))[0]
        for n in args.clusters:
            seconds, cpu, remediated = results[(n, forks)]
            rows.append([n, forks, remediated, "%.1f" % seconds, "%.1f" % cpu, "%.2f" % (seconds / n),
                         "%.1f×" % (seconds / one) if one else "-"])
    print(machine())
    print("playbooks/remediate.yml, strategy unlock; each cluster: a localkube process with %d releases x %d "
          "revisions, %d stuck (pending-upgrade, 2 h old)" % (args.releases, args.revisions, args.stuck))
    print("median of %d runs (by wall time); CPU s = user+system seconds of ansible-playbook and everything "
          "it ran (not the servers), %d cores" % (args.repeat, os.cpu_count()))
    print(table(["clusters", "forks", "remediated", "ansible-playbook s", "CPU s", "s per cluster",
                 "vs %d cluster(s), same forks" % min(args.clusters)], rows))


if __name__ == "__main__":
    main()
