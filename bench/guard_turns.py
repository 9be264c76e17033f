#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What waiting one's turn costs (issue 29), on a fresh localkube (in this process) with the real helm CLI.

* overhead: helm_guard's phase before (and after) on a deployed release, nothing to wait for, run as a module
  (``ansible-playbook`` of one task) ``--repeat`` times per setting: ``wait_for_pending`` 0 and no Lease (the
  guard as it was), ``wait_for_pending`` 10m (the default: nothing pending, so no poll), and 10m with
  ``take_turns`` (the Lease: read, created or taken; given back after). Printed: the API requests the module
  made (exact) and the module's own ``duration_seconds`` (median, min-max: rough on a shared machine).
* timeline: two ``playbooks/safe_upgrade.yml`` runs started together on one release; who held the Lease, who
  waited and how long, when each ended, and the release's history.

Run: ``scripts/bench guard_turns [--repeat 5 --helm helm4]``.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, ROOT, ansible_env, machine  # noqa: E402

SETTINGS = (("wait_for_pending 0, no Lease", {"wait_for_pending": 0}),
            ("wait_for_pending 10m, no Lease", {"wait_for_pending": "10m"}),
            ("wait_for_pending 10m, take_turns", {"wait_for_pending": "10m", "take_turns": True}))


def _module_requests(kube, since):
    return [r for r in list(kube.requests)[since:] if not (r["user_agent"] or "").startswith("Helm/")]


def overhead(kube, helm_bin, repeat, work):
    from playbook_run import run_module
    base = {"kubeconfig": kube.kubeconfig, "namespace": "shop", "release": "web", "helm_binary": helm_bin}
    rows = []
    for name, extra in SETTINGS:
        counts, seconds = [], []
        for _ in range(repeat):
            mark = len(kube.requests)
            before = run_module(work, dict(base, phase="before", **extra), module="helm_guard")
            assert before.rc == 0, before.text
            holder = (before["lease"] or {}).get("holder") if before.get("lease") else None
            after = run_module(work, dict(base, phase="after", from_revision=before["from_revision"],
                                          **({"lease_holder": holder} if holder else {})), module="helm_guard")
            assert after.rc == 0, after.text
            reqs = _module_requests(kube, mark)
            counts.append((len([r for r in reqs if "/leases" in r["path"]]), len(reqs)))
            seconds.append((before["duration_seconds"], after["duration_seconds"]))
        rows.append((name, counts, seconds))
    return rows


def timeline(kube, helm, helm_bin, work):
    import helmfix
    chart = str(helmfix.make_chart(work, "0.2.0"))
    results, threads, t0 = {}, [], time.monotonic()

    def run(who):
        sub = work / ("run-" + who)
        sub.mkdir()
        (sub / "inv.yml").write_text(json.dumps({"helm_clusters": {"hosts": {"c": {
            "stuck_releases_kubeconfig": kube.kubeconfig, "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable}}}}))
        (sub / "vars.json").write_text(json.dumps({
            "guarded_upgrade_release": "web", "guarded_upgrade_namespace": "shop", "guarded_upgrade_chart": chart,
            "guarded_upgrade_helm_binary": helm_bin, "guarded_upgrade_timeout": "60s",
            "guarded_upgrade_values": {"message": "from " + who}}))
        start = time.monotonic() - t0
        out = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(sub / "inv.yml"), "-e", "@%s" % (sub / "vars.json"),
                              str(ROOT / "playbooks" / "safe_upgrade.yml")], cwd=str(sub), text=True,
                             env=ansible_env(ANSIBLE_NOCOLOR="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        results[who] = (start, time.monotonic() - t0, out.returncode, out.stdout)
    for who in ("A", "B"):
        threads.append(threading.Thread(target=run, args=(who,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = []
    for who, (start, end, rc, text) in sorted(results.items()):
        waited = re.search(r"waited ([\d.]+)s for its turn on the Lease (\S+) \(held by ([^)]+)\)", text)
        landed = re.search(r"shop/web: revision (\d+) \(deployed", text)
        lines.append("run %s: started %5.1fs, %s, revision %s deployed, ended %5.1fs (rc %d)" % (
            who, start, "waited %ss for the Lease (held by %s)" % (waited.group(1), waited.group(3)) if waited
            else "took the Lease at once", landed.group(1) if landed else "?", end, rc))
    history = helm.run("history", "web", "-o", "json", namespace="shop")
    lines.append("history: " + ", ".join("%s %s %s" % (h["revision"], h["status"], h["description"])
                                         for h in json.loads(history.stdout)))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--helm", default="helm4", choices=["helm3", "helm4"])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".venv" / "collections"))
    import tools
    from localkube import LocalKube
    from realhelm import RealHelm
    helm_bin = str(tools.REAL_HELMS[args.helm])
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, LocalKube() as kube:
        work = Path(tmp)
        kube.kubeconfig = str(kube.write_kubeconfig(work / "kubeconfig"))
        helm = RealHelm(kube.kubeconfig, helm_bin)
        helm.install("web", "shop")
        print("\noverhead, nothing to wait for (%d runs each of phase before + phase after, %s):" % (args.repeat, args.helm))
        for name, counts, seconds in overhead(kube, helm_bin, args.repeat, work):
            befores = [b for b, _ in seconds]
            afters = [a for _, a in seconds]
            print("  %-34s requests %s (Lease %s)  before %.3fs (%.3f-%.3f)  after %.3fs (%.3f-%.3f)" % (
                name, sorted(set(c for _, c in counts)), sorted(set(n for n, _ in counts)),
                statistics.median(befores), min(befores), max(befores),
                statistics.median(afters), min(afters), max(afters)))
        print("\ntimeline, two safe_upgrade.yml runs started together:")
        for line in timeline(kube, helm, helm_bin, work):
            print("  " + line)


if __name__ == "__main__":
    main()
