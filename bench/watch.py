#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible benchmark: the event source helmops.unstick.stuck_releases
(extensions/eda/plugins/event_source/stuck_releases.py) against localkube on 127.0.0.1.

1. idle: the source (its own process) watches ``--clusters`` localkube servers of ``--releases`` releases x
   ``--revisions`` revisions each (real Helm records, seeded as bench/common.py does) and nothing happens for
   ``--idle`` seconds: its CPU (share of one core) and memory (RSS), what it read to start (bytes per record),
   and which requests it made (list and watch only, metadata only: no record body is read).
2. per stuck release: the source in this process, one localkube; a real ``helm upgrade`` killed mid-apply
   (SIGKILL) leaves the release stuck; the bytes the source's watch read for it until its event.
3. latency: the real ansible-rulebook runs the shipped rulebook (extensions/eda/rulebooks/remediate.yml) on
   one localkube; ``--latency-runs`` releases are left stuck the same way; for each, the time from "pending
   for min_age" (its record's creationTimestamp + min_age, server clock) to its newest revision deployed.

Goals (issue 30): latency <= 15 s; idle <= 1 % of a core and <= 150 MB over 10 clusters x 2,000 releases;
no record body read. Run: ``scripts/bench watch [--clusters 10 --releases 2000 --revisions 3 --idle 60]``.
"""

import argparse
import asyncio
import calendar
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COLLECTIONS, Server, machine, seed_objects, table, template_record, write_state  # noqa: E402

import helmfix  # noqa: E402
import tools  # noqa: E402
from eda_run import REMEDIATE_RULEBOOK, Rulebook  # noqa: E402
from fleet_run import write_inventory  # noqa: E402
from localkube import LocalKube  # noqa: E402
from realhelm import RealHelm  # noqa: E402

SOURCE = COLLECTIONS / "ansible_collections" / "helmops" / "unstick" / "extensions" / "eda" / "plugins" / \
    "event_source" / "stuck_releases.py"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def idle(args, tmp):
    template = template_record(tmp)
    objects, namespaces = seed_objects(template, args.releases, args.revisions, 0, 20)
    body = sum(len(o["data"]["release"]) for o in objects) / len(objects)
    state = tmp / "state.json"
    write_state(state, objects, namespaces)
    del objects
    servers = [Server(state, tmp / ("kubeconfig-%d" % i), wait=False) for i in range(args.clusters)]
    try:
        for server in servers:
            server.wait_url(120)
        clusters = [{"name": "c%02d" % i, "kubeconfig": str(tmp / ("kubeconfig-%d" % i))} for i in range(args.clusters)]
        source_args = json.dumps({"clusters": clusters, "min_age": "15m"})
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(SOURCE), source_args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            while not all(s.stats()["by_verb"].get("watch", {}).get("requests") for s in servers):
                if proc.poll() is not None or time.monotonic() - began > 600:
                    raise RuntimeError("the source never watched every cluster: %s" % proc.communicate()[1][-2000:])
                time.sleep(0.5)
            ready = time.monotonic() - began
            started_cpu = cpu_seconds(proc.pid)
            time.sleep(5)   # the lists' garbage collected, the threads parked in their watches
            stats = [s.stats() for s in servers]
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            peak = 0.0
            while time.monotonic() - t0 < args.idle:
                time.sleep(1)
                peak = max(peak, rss_mb(proc.pid))
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
    finally:
        for server in servers:
            server.stop()
    records = args.releases * args.revisions
    verbs = sorted(set(v for st in stats for v in st["by_verb"]))
    list_bytes = sum(st["by_verb"].get("list", {}).get("bytes", 0) for st in stats)
    print("\n1. idle: %d clusters x %d releases x %d revisions (%d records), nothing changing for %d s"
          % (args.clusters, args.releases, args.revisions, records * args.clusters, args.idle))
    print(table(["measure", "value", "goal"], [
        ["CPU while idle (share of one core)", "%.2f %% (%.2f CPU s in %.0f s)"
         % (100.0 * (cpu1 - cpu0) / (t1 - t0), cpu1 - cpu0, t1 - t0), "<= 1 %"],
        ["memory (RSS) at the end / peak while idle", "%.0f MB / %.0f MB" % (rss, peak), "<= 150 MB"],
        ["start: list and watch every cluster", "%.1f s, %.1f CPU s" % (ready, started_cpu), ""],
        ["read to start, per record (metadata)", "%.0f B (a record's body: %.0f B)" % (list_bytes / (records * args.clusters), body), ""],
        ["requests the servers saw, by verb", ", ".join(verbs), "list, watch only"],
        ["events (nothing is stuck)", str(len([line for line in out.splitlines() if line.strip()])), "0"],
    ]))
    assert verbs == ["list", "watch"], verbs


def per_stuck_release(tmp):
    """Watch bytes the source read for one release left stuck by a killed real helm upgrade (in-process)."""
    module = runpy.run_path(str(SOURCE))
    with LocalKube() as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp / "kubeconfig-bytes"))
        real = RealHelm(kubeconfig, tools.HELM4)
        real.install("web", "shop")
        settings = module["settings_from"]({"kubeconfig": kubeconfig, "min_age": 2})
        events, got = [], {}

        class Queue:
            @staticmethod
            def put_nowait(event):
                events.append(event)

        def started(hub, watches):
            got["watches"] = watches

        async def run():
            task = asyncio.ensure_future(module["watch"](Queue, settings, started))
            while not (got.get("watches") and kube.stats()["by_verb"].get("watch")):
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            before = sum(w.bytes_received for w in got["watches"])
            kube.requests.clear()
            thread = threading.Thread(target=helmfix.make_stuck_upgrade, args=(real, kube, "web", "shop"))
            thread.start()
            while thread.is_alive() or not events:
                await asyncio.sleep(0.1)
            after = sum(w.bytes_received for w in got["watches"])
            task.cancel()
            return after - before
        watched = asyncio.run(run())
        ours = [r for r in kube.requests if r.get("user_agent") == module["USER_AGENT"]]
    bodies = [r for r in ours if "as=PartialObjectMetadata" not in (r.get("accept") or "")]
    print("\n2. per stuck release (a real helm upgrade killed mid-apply, one localkube)")
    print(table(["measure", "value", "goal"], [
        ["watch bytes read for it, until its event", "%d B" % watched, ""],
        ["events", str(len(events)), "1"],
        ["the source's requests not metadata-only", str(len(bodies)), "0"],
    ]))
    assert len(events) == 1 and not bodies, (events, bodies)


def latency(args, tmp):
    rows = []
    with LocalKube() as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp / "kubeconfig-latency"))
        real = RealHelm(kubeconfig, tools.HELM4)
        inventory = write_inventory(tmp / "inventory.yml", {"eu": {
            "stuck_releases_kubeconfig": kubeconfig, "stuck_releases_helm_binary": str(tools.HELM4)}})
        with Rulebook(tmp, REMEDIATE_RULEBOOK, clusters=[{"name": "eu", "kubeconfig": kubeconfig}],
                      min_age=args.min_age, inventory=inventory) as rb:
            for run in range(args.latency_runs):
                name = "web-%d" % run
                real.install(name, "shop")
                revision = helmfix.make_stuck_upgrade(real, kube, name, "shop")
                record = kube.store.get("secrets", "shop", helmfix.record_name(name, revision))
                created = calendar.timegm(time.strptime(record["metadata"]["creationTimestamp"],
                                                        "%Y-%m-%dT%H:%M:%SZ"))
                due = created + args.min_age
                rb.wait_for(lambda: helmfix.newest(kube, "shop", name)[1] == "deployed", 300, name + " deployed")
                rows.append(kube.now() - due)
    print("\n3. latency from 'pending for min_age' to 'deployed' (real ansible-rulebook, shipped rulebook, "
          "min_age %d s, %d releases one after another)" % (args.min_age, args.latency_runs))
    print(table(["measure", "value", "goal"], [
        ["median", "%.1f s" % statistics.median(rows), "<= 15 s"],
        ["max", "%.1f s" % max(rows), ""],
        ["each", ", ".join("%.1f" % r for r in rows), ""],
    ]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=3)
    ap.add_argument("--idle", type=int, default=60, help="seconds of idle measured")
    ap.add_argument("--min-age", type=int, default=10)
    ap.add_argument("--latency-runs", type=int, default=3)
    ap.add_argument("--only", choices=["idle", "bytes", "latency"])
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "idle"):
            idle(args, tmp)
        if args.only in (None, "bytes"):
            per_stuck_release(tmp)
        if args.only in (None, "latency"):
            latency(args, tmp)


if __name__ == "__main__":
    main()
