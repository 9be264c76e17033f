#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Growth benchmark: what the module's scan costs as the stuck count and the history grow.

For each number of revisions per release (default 5 and 50) and each number of
stuck releases (default 1, 10, 100), N releases (default 2,000) of real Helm
records are served by localkube in its own process (seeding: bench/common.py,
the same as bench/scan.py), and the module's report-only run (its code in this
process, imports excluded) is measured: requests and response bytes counted by
the server, seconds (median of --repeat runs). Helm SDK's list (all states, all
namespaces) on the same server is shown next to it (--no-helm skips it).

The module's cost should follow the number of stuck releases and not the size
of the fleet's history: one filtered metadata list for the whole cluster, then
per stuck release one metadata list of its own revisions and one GET.

Run: ``scripts/bench growth [--releases 2000 --revisions 5,50 --stuck 1,10,100]``.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Server, decode, encode, helm_list, machine, measure, module_scan,  # noqa: E402
                    seed_objects, table, template_record, write_state)


def ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


def settle(obj):
    """A copy of a pending newest record as ``deployed`` (label and payload)."""
    rel = decode(obj["data"]["release"])
    rel["info"]["status"] = "deployed"
    meta = dict(obj["metadata"], labels=dict(obj["metadata"]["labels"], status="deployed"))
    return dict(obj, metadata=meta, data=dict(obj["data"], release=encode(rel)))


def cell(tmp, objects, namespaces, repeat, with_helm):
    state = Path(tmp) / "state.json"
    kubeconfig = Path(tmp) / "kubeconfig"
    write_state(state, objects, namespaces)
    with Server(state, kubeconfig) as server:
        runs = [measure(server, lambda: module_scan(kubeconfig)) for _ in range(repeat)]
        helm = measure(server, lambda: helm_list(kubeconfig)) if with_helm else None
    return runs, helm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=ints, default=[5, 50], help="comma-separated (default 5,50)")
    ap.add_argument("--stuck", type=ints, default=[1, 10, 100], help="comma-separated (default 1,10,100)")
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="module runs per cell (median seconds)")
    ap.add_argument("--no-helm", dest="helm", action="store_false", help="skip Helm's list")
    args = ap.parse_args()
    most = max(args.stuck)
    if most > args.releases:
        ap.error("--stuck cannot exceed --releases")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        for revisions in args.revisions:
            # seeded once with the most stuck releases; fewer stuck = the others' newest record settled
            objects, namespaces = seed_objects(template, args.releases, revisions, most, args.namespaces)
            settled = {}
            for stuck in sorted(args.stuck):
                cur = list(objects)
                for i in range(stuck, most):
                    k = i * revisions + revisions - 1
                    if k not in settled:
                        settled[k] = settle(objects[k])
                    cur[k] = settled[k]
                runs, helm = cell(tmp, cur, namespaces, args.repeat, args.helm)
                seconds = statistics.median(r[3]["call_seconds"] for r in runs)
                _, nbytes, reqs, detail = runs[0]
                if detail["stuck"] != stuck:
                    raise SystemExit("expected %d stuck, the module found %s" % (stuck, detail))
                row = [revisions, stuck, "{:,}".format(len(cur)), reqs, "{:,}".format(nbytes),
                       "{:,}".format(nbytes // stuck), "%.3f" % seconds]
                if helm:
                    row += ["{:,}".format(helm[1]), "%.3f" % helm[3]["call_seconds"]]
                rows.append(row)
                print("  done: %d revisions, %d stuck" % (revisions, stuck), file=sys.stderr, flush=True)
    print(machine())
    print("%d releases in %d namespaces; module = helm_unstick report-only (runner + REST, in-process, "
          "median of %d); bytes = response bytes served" % (args.releases, args.namespaces, args.repeat))
    headers = ["revisions/release", "stuck", "records", "module requests", "module bytes",
               "module bytes/stuck", "module scan s"]
    if args.helm:
        headers += ["Helm list bytes", "Helm list s"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
