#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start-up benchmark of the tests' API servers: the real kube-apiserver + etcd of tests/support/realkube
(goal: ready in under 10 s when built) and localkube, each started and stopped N times.

Ready means what the fixtures wait for: realkube answers /readyz 200 and its RBAC objects are applied
(etcd healthy first); localkube serves. Run: ``scripts/bench start [--runs 5]``.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402

from localkube import LocalKube  # noqa: E402
from realkube import RealKube  # noqa: E402
import tools  # noqa: E402


def timed(make, runs):
    starts, stops = [], []
    for _ in range(runs):
        began = time.monotonic()
        server = make().start()
        ready = time.monotonic()
        server.stop()
        starts.append(ready - began)
        stops.append(time.monotonic() - ready)
    return starts, stops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(machine())
    print("real server: kube-apiserver %s + etcd %s (.tools/)" % (tools.KUBE_VERSION, tools.ETCD_VERSION))
    rows = []
    for name, make in (("realkube (kube-apiserver + etcd)", RealKube), ("localkube (TLS)", lambda: LocalKube(tls=True))):
        starts, stops = timed(make, args.runs)
        rows.append([name, args.runs, "%.3f" % statistics.median(starts), "%.3f" % max(starts),
                     "%.3f" % statistics.median(stops)])
    print(table(["server", "runs", "ready s (median)", "ready s (max)", "stop s (median)"], rows))


if __name__ == "__main__":
    main()
