#!/usr/bin/env python3
"""Scan benchmark: helm_unstick's report-only run vs Helm's own list.

Seeds N releases x R revisions (real Helm records: one release is installed
with the real Helm SDK, its record is re-labelled and re-encoded for every
release/revision) into a local API server running as its own process, makes
S of them stuck, then measures on the same server in the same run:

* helm_unstick, report only, through ansible-playbook (what a user runs);
* the module's scan alone (the same code, called in-process: no Ansible start-up);
* Helm SDK ``list(all_states=True, all_namespaces=True)`` (what helm 4's ``helm list -A`` does; ``-A -a`` in helm 3).

Bytes are the response bytes the server sent; seconds are wall-clock.
Run: ``scripts/bench scan [--releases 2000 --revisions 10 --stuck 10]``.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Server, ansible_env, helm_list, machine, measure, module_scan,  # noqa: E402
                    seed_state, table, template_record)


def module_playbook(kubeconfig, tmp):
    play = Path(tmp) / "report.yml"
    out = Path(tmp) / "report.json"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - helmops.unstick.helm_unstick: {kubeconfig: '%s', remediate: false}\n      register: r\n"
        "    - ansible.builtin.copy: {content: '{{ r.summary | to_json }}', dest: '%s'}\n" % (kubeconfig, out))
    env = ansible_env()
    subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                    "-e", "ansible_python_interpreter=" + sys.executable, str(play)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def median_run(runs):
    """The run with the median call seconds (single runs vary on a busy 2-core machine)."""
    runs = sorted(runs, key=lambda r: r[3]["call_seconds"])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=10)
    ap.add_argument("--stuck", type=int, default=10)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="in-process scan runs (median)")
    ap.add_argument("--manifest-kb", type=int, default=0,
                    help="pad each release's manifest to about this many KB (0: the test chart as rendered)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        state = str(Path(tmp) / "state.json")
        count, avg = seed_state(state, template, args.releases, args.revisions, args.stuck,
                                  args.namespaces, args.manifest_kb)
        kubeconfig = str(Path(tmp) / "kubeconfig")
        server = Server(state, kubeconfig)
        try:
            rows = [
                ("helm_unstick report-only via ansible-playbook", measure(server, lambda: module_playbook(kubeconfig, tmp))),
                ("helm_unstick scan (module code, in-process), median of %d" % args.repeat,
                 median_run([measure(server, lambda: module_scan(kubeconfig)) for _ in range(args.repeat)])),
                ("Helm SDK list(all_states, all_namespaces)", measure(server, lambda: helm_list(kubeconfig))),
            ]
        finally:
            server.stop()
    print(machine())
    print("records: %d (%d releases x %d revisions, %d stuck), avg data.release %.0f bytes"
          % (count, args.releases, args.revisions, args.stuck, avg))
    body = []
    for name, (sec, nbytes, reqs, detail) in rows:
        call = detail.get("call_seconds")
        shown = dict((k, v) for k, v in detail.items() if k != "call_seconds")
        body.append((name, "%.2f" % sec, "%.3f" % call if call is not None else "-", nbytes, reqs,
                     json.dumps(shown)))
    print(table(("what", "process s", "call s", "bytes served", "requests", "result"), body))
    ours, helm = rows[1][1], rows[2][1]
    bytes_x = helm[1] / max(ours[1], 1)
    time_x = helm[3]["call_seconds"] / max(ours[3]["call_seconds"], 0.001)
    print("scan vs Helm's list: %.0fx fewer bytes (goal >= 50x: %s); %.1fx less time, call vs call "
          "(goal >= 20x: %s); %.1fx (ansible-playbook run vs helm list process)"
          % (bytes_x, "met" if bytes_x >= 50 else "NOT met", time_x, "met" if time_x >= 20 else "NOT met",
             helm[0] / rows[0][1][0]))

if __name__ == "__main__":
    main()
