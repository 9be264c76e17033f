#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Profile benchmark: where the module's own time goes on a big cluster (cProfile).

Seeds N releases x R revisions (default 10,000 x 10) with S stuck (default 100)
into localkube in its own process (bench/common.py), then, on the module's
code path (runner + REST storage, in this process, imports excluded):

* scan: report only (``remediate: false``) over the whole cluster;
* remediate: ``strategy: unlock`` of the S stuck releases (a fresh server
  loaded from the same seed for each run, so every run has S to unlock).

Each case runs without the profiler (wall and this process's CPU seconds,
median of --repeat), then once under cProfile; the profile's top functions
by own time, and the collection's functions by cumulative time, are printed.
The server runs in another process: its time shows as waiting on the socket.

Run: ``scripts/bench profile [--releases 10000 --revisions 10 --stuck 100 --save DIR]``.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Server, machine, measure, module_params, module_run, seed_objects, table,  # noqa: E402
                    template_record, write_state)

CASES = {"scan": dict(remediate=False),
         "remediate": dict(remediate=True, strategy="unlock")}


def one_by_one():
    """ReleaseStorage without batched histories: one history list per release (the scan before)."""
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage

    class OneByOne(ReleaseStorage):
        histories = None
    return OneByOne


def timed(kubeconfig, params, storage_class=None):
    cpu = time.process_time()
    out = module_run(kubeconfig, storage_class=storage_class, **params)
    out["cpu_seconds"] = time.process_time() - cpu
    return out


def profiled(kubeconfig, params):
    prof = cProfile.Profile()
    prof.enable()
    try:
        out = module_run(kubeconfig, **params)
    finally:
        prof.disable()
    return out, prof


def where(key):
    path, line, func = key
    if path == "~":
        return func
    parts = Path(path).parts
    short = "/".join(parts[parts.index("module_utils"):]) if "module_utils" in parts else "/".join(parts[-2:])
    return "%s:%d(%s)" % (short, line, func)


def top(prof, n, sort, only=None):
    stats = pstats.Stats(prof, stream=io.StringIO()).stats
    rows = []
    for key, (cc, nc, tt, ct, _) in stats.items():
        if only and only not in key[0]:
            continue
        rows.append((tt if sort == "tottime" else ct, nc, tt, ct, where(key)))
    rows.sort(reverse=True)
    return [[nc, "%.3f" % tt, "%.3f" % ct, name] for _, nc, tt, ct, name in rows[:n]]


def fresh(tmp, seed, tag):
    """A server loaded from a copy of the seed (a server saves its state into its file when stopped)."""
    d = Path(tmp) / tag
    d.mkdir()
    shutil.copy(str(seed), str(d / "state.json"))
    return Server(d / "state.json", d / "kubeconfig"), d / "kubeconfig"


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench profile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--releases", type=int, default=10000)
    ap.add_argument("--revisions", type=int, default=10)
    ap.add_argument("--stuck", type=int, default=100)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--ab", type=int, default=5, help="A/B scan runs each: batched vs one-by-one histories (0: skip)")
    ap.add_argument("--save", help="directory to write scan.prof and remediate.prof into")
    args = ap.parse_args()
    summary, profiles = [], {}
    module_params()          # imports done before anything is timed (the CPU column counts this process)
    import kubernetes  # noqa: F401
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner  # noqa: F401
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        objects, namespaces = seed_objects(template, args.releases, args.revisions, args.stuck, args.namespaces)
        seed = Path(tmp) / "seed.json"
        write_state(seed, objects, namespaces)
        del objects
        n = 0
        for case, params in CASES.items():
            runs, server = [], None
            try:
                for _ in range(args.repeat + 1):
                    if server is None or params["remediate"]:   # report only changes nothing: reuse
                        if server:
                            server.stop()
                        n += 1
                        server, kubeconfig = fresh(tmp, seed, "s%d" % n)
                    if len(runs) < args.repeat:
                        runs.append(measure(server, lambda: timed(kubeconfig, params)))
                    else:
                        out, prof = profiled(kubeconfig, params)
            finally:
                if server:
                    server.stop()
            if case == "scan":   # A/B on one server, alternating: histories batched per namespace vs one by one
                n += 1
                server, kubeconfig = fresh(tmp, seed, "s%d" % n)
                ab = {"batched": [], "one by one": []}
                with server:
                    for _ in range(args.ab):
                        ab["batched"].append(measure(server, lambda: timed(kubeconfig, params)))
                        ab["one by one"].append(measure(server, lambda: timed(kubeconfig, params, one_by_one())))
            profiles[case] = prof
            want = ("remediated" if params["remediate"] else "stuck", args.stuck)
            for run in runs + [(None, None, None, out)]:
                if run[3][want[0]] != want[1] or run[3]["errors"]:
                    raise SystemExit("%s: expected %s=%d, got %s" % (case, want[0], want[1], run[3]))
            summary.append([case, "%.3f" % statistics.median(r[3]["call_seconds"] for r in runs),
                            "%.3f" % statistics.median(r[3]["cpu_seconds"] for r in runs),
                            runs[0][2], "{:,}".format(runs[0][1]), runs[0][3][want[0]]])
            print("  done: %s" % case, file=sys.stderr, flush=True)
    print(machine())
    print("%d releases x %d revisions = %d records, %d stuck; module code in-process, median of %d "
          "(CPU = this process only; the server is another process)"
          % (args.releases, args.revisions, args.releases * args.revisions, args.stuck, args.repeat))
    print(table(["case", "call s", "client CPU s", "requests", "bytes", "stuck/remediated"], summary))
    if args.ab:
        print("\nscan, release histories read per namespace (batched) vs one list per release, "
              "alternating on one server, median of %d" % args.ab)
        print(table(["histories", "call s", "client CPU s", "requests", "bytes"],
                    [[k, "%.3f" % statistics.median(r[3]["call_seconds"] for r in v),
                      "%.3f" % statistics.median(r[3]["cpu_seconds"] for r in v), v[0][2], "{:,}".format(v[0][1])]
                     for k, v in ab.items()]))
    for case, prof in profiles.items():
        print("\n%s under cProfile: top %d by own time" % (case, args.top))
        print(table(["calls", "own s", "cumulative s", "function"], top(prof, args.top, "tottime")))
        print("\n%s: the collection's functions by cumulative time" % case)
        print(table(["calls", "own s", "cumulative s", "function"],
                    top(prof, args.top, "cumtime", only="module_utils")))
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            prof.dump_stats(os.path.join(args.save, "%s.prof" % case))


if __name__ == "__main__":
    main()
