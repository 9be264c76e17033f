# SPDX-License-Identifier: GPL-3.0-or-later
"""Summarise a suite profile (tests/support/suite_profile.py): where the wall time and the CPU go.

    HELMOPS_TEST_PROFILE=/tmp/profile.jsonl ./scripts/test -p suite_profile
    python bench/suite_profile.py /tmp/profile.jsonl [--top 30]

Prints the slowest tests (wall, and CPU with their subprocesses), the totals per test directory, and per worker
its busy time and when it finished (a worker finishing long after the others is the run's tail)."""

import argparse
import collections
import json


def load(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def directory(nodeid):
    parts = nodeid.split("::")[0].split("/")
    return "/".join(parts[:3]) if len(parts) > 3 else "/".join(parts[:-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    rows = load(args.profile)
    if not rows:
        raise SystemExit("%s holds no test" % args.profile)
    start = min(r["start"] for r in rows)
    end = max(r["start"] + r["wall"] for r in rows)
    cpu = sum(r["cpu"] + r["cpu_children"] for r in rows)
    print("%d tests, %.0f s from the first test's start to the last one's end, %.0f CPU-s (%.2f cores on average)"
          % (len(rows), end - start, cpu, cpu / max(end - start, 1)))
    print("\nslowest %d tests (wall s, CPU s incl. subprocesses, worker):" % args.top)
    for r in sorted(rows, key=lambda r: -r["wall"])[:args.top]:
        print("%7.1f %7.1f  %-4s %s" % (r["wall"], r["cpu"] + r["cpu_children"], r["worker"], r["test"]))
    print("\nmost CPU %d tests:" % args.top)
    for r in sorted(rows, key=lambda r: -(r["cpu"] + r["cpu_children"]))[:args.top]:
        print("%7.1f %7.1f  %-4s %s" % (r["wall"], r["cpu"] + r["cpu_children"], r["worker"], r["test"]))
    dirs = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for r in rows:
        d = dirs[directory(r["test"])]
        d[0] += 1
        d[1] += r["wall"]
        d[2] += r["cpu"] + r["cpu_children"]
    print("\nper directory: tests, wall s (summed over workers), CPU s")
    for name, (count, wall, used) in sorted(dirs.items(), key=lambda kv: -kv[1][1]):
        print("%5d %8.0f %8.0f  %s" % (count, wall, used, name))
    workers = collections.defaultdict(list)
    for r in rows:
        workers[r["worker"]].append(r)
    print("\nper worker: tests, busy s, finished at s (from the first test's start)")
    for name, mine in sorted(workers.items()):
        done = max(r["start"] + r["wall"] for r in mine) - start
        print("%-6s %5d %8.0f %8.0f" % (name, len(mine), sum(r["wall"] for r in mine), done))


if __name__ == "__main__":
    main()
