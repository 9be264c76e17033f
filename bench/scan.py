#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
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

``--server real``: the same records on the real kube-apiserver + etcd of tests/support/realkube
(created over HTTPS by a thread pool), measured there by kube-apiserver's own /metrics
(apiserver_request_total: every request, by verb/resource/scope/code; apiserver_response_sizes, a
histogram kube-apiserver observes for GET and LIST only: its _sum is the response body bytes as written,
after gzip when the server compressed, headers excluded; its _count the responses it sized), the
delta between a scrape before and after each step. Besides the three steps above: the real helm CLIs,
helm 3 ``helm list -A -a`` and helm 4 ``helm list -A`` (admin kubeconfig), and for reference Helm's
list request (one unpaged LIST of ``owner=helm`` Secrets) sent by this script as JSON or protobuf, with
and without ``Accept-Encoding: gzip``.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Server, ansible_env, describe_requests, helm_cli_list, helm_list, machine,  # noqa: E402
                    measure, measure_real, module_scan, raw_list, seed_objects, seed_real, seed_state, table,
                    template_record)


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


def median_process(runs):
    """The run with the median wall seconds."""
    runs = sorted(runs, key=lambda r: r[0])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=10)
    ap.add_argument("--stuck", type=int, default=10)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="in-process scan runs (median); --server real: also SDK and CLI list runs")
    ap.add_argument("--manifest-kb", type=int, default=0,
                    help="pad each release's manifest to about this many KB (0: the test chart as rendered)")
    ap.add_argument("--server", choices=("localkube", "real"), default="localkube",
                    help="localkube (default) or the real kube-apiserver + etcd (tests/support/realkube)")
    ap.add_argument("--seed-threads", type=int, default=16, help="--server real: concurrent creates")
    ap.add_argument("--driver", choices=("secret", "sql"), default="secret",
                    help="sql: Helm's PostgreSQL storage driver on a real PostgreSQL (bench/scan_sql.py)")
    args, rest = ap.parse_known_args()
    if args.driver == "sql":
        import scan_sql
        return scan_sql.main(sys.argv[1:])
    args = ap.parse_args()
    if args.server == "real":
        return main_real(args)
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


def main_real(args):
    import tools
    from realkube import RealKube
    with tempfile.TemporaryDirectory() as tmp:
        template = template_record(tmp)
        objects, namespaces = seed_objects(template, args.releases, args.revisions, args.stuck, args.namespaces,
                                           args.manifest_kb)
        count, avg = len(objects), sum(len(o["data"]["release"]) for o in objects) / len(objects)
        with RealKube() as kube:
            version = kube.request("GET", "/version")[2].get("gitVersion")
            seed_seconds = seed_real(kube, objects, namespaces, args.seed_threads)
            del objects
            time.sleep(2)   # let the watch cache and the server settle after 20,000 writes
            kubeconfig = kube.kubeconfig
            rows = [
                ("helm_unstick report-only via ansible-playbook",
                 measure_real(kube, lambda: module_playbook(kubeconfig, tmp))),
                ("helm_unstick scan (module code, in-process), median of %d" % args.repeat,
                 median_run([measure_real(kube, lambda: module_scan(kubeconfig)) for _ in range(args.repeat)])),
                ("Helm SDK list(all_states, all_namespaces), median of %d" % args.repeat,
                 median_run([measure_real(kube, lambda: helm_list(kubeconfig)) for _ in range(args.repeat)])),
                ("helm %s CLI: helm list -A -a, median of %d" % (tools.HELM3_VERSION, args.repeat),
                 median_process([measure_real(kube, lambda: helm_cli_list(tools.HELM3, kubeconfig, tmp, True))
                                 for _ in range(args.repeat)])),
                ("helm %s CLI: helm list -A, median of %d" % (tools.HELM4_VERSION, args.repeat),
                 median_process([measure_real(kube, lambda: helm_cli_list(tools.HELM4, kubeconfig, tmp, False))
                                 for _ in range(args.repeat)])),
            ]
            for label, accept, gz in (("JSON", "application/json", False), ("JSON + gzip", "application/json", True),
                                      ("protobuf", "application/vnd.kubernetes.protobuf", False),
                                      ("protobuf + gzip", "application/vnd.kubernetes.protobuf", True)):
                rows.append(("reference: Helm's LIST request as %s" % label,
                             measure_real(kube, lambda: raw_list(kube, accept, gz))))
    print(machine())
    print("server: real kube-apiserver %s + etcd %s (tests/support/realkube), HTTPS on 127.0.0.1"
          % (version, tools.ETCD_VERSION))
    print("records: %d (%d releases x %d revisions, %d stuck) in %d namespaces, avg data.release %.0f bytes"
          % (count, args.releases, args.revisions, args.stuck, args.namespaces, avg))
    print("seeding: %d Secrets created in %.1f s (%.0f/s, %d threads, one keep-alive HTTPS connection each)"
          % (count, seed_seconds, count / seed_seconds, args.seed_threads))
    body, background = [], []
    for name, (sec, nbytes, reqs, detail, delta) in rows:
        call = detail.get("call_seconds")
        shown = dict((k, v) for k, v in detail.items() if k not in ("call_seconds", "states"))
        sized = sum(c for _, c in delta["sizes"].values())
        body.append((name, "%.2f" % sec, "%.3f" % call if call is not None else "-",
                     "%.3f" % delta["server_seconds"], reqs, delta["uncounted"],
                     describe_requests(delta["requests"], delta["sizes"]),
                     "{:,}".format(nbytes), sized, json.dumps(shown)))
        if delta["background"]:
            background.append("  %s: %s" % (name, describe_requests(delta["background"])))
    print(table(("what", "process s", "call s", "server s", "requests", "+ not in request_total",
                 "requests by verb, resource (scope) = response bytes", "response bytes", "responses sized",
                 "result"), body))
    print("requests: apiserver_request_total delta; response bytes: apiserver_response_sizes_sum delta "
          "(GET and LIST bodies as written, gzipped if compressed); responses sized: its _count delta; "
          "server s: apiserver_request_duration_seconds_sum delta (time kube-apiserver spent on them); "
          "+ not in request_total: requests API Priority and Fairness dispatched (apiserver_flowcontrol_"
          "dispatched_requests_total delta, less our own scrape) that apiserver_request_total does not count "
          "(kube-apiserver leaves GET /version and discovery out of it)")
    if background:
        print("kube-apiserver's own background requests in the same windows (not counted above):")
        print("\n".join(background))
    ours = rows[1][1]
    for i in (2, 3, 4):
        helm = rows[i][1]
        print("scan vs %s: %.0fx fewer response bytes, %d vs %d requests, call %.3f s vs %s"
              % (rows[i][0], helm[1] / max(ours[1], 1), ours[2], helm[2], ours[3]["call_seconds"],
                 "%.3f s (call)" % helm[3]["call_seconds"] if "call_seconds" in helm[3]
                 else "%.2f s (process)" % helm[0]))


if __name__ == "__main__":
    main()
