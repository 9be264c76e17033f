#!/usr/bin/env python3
"""Scan benchmark: helm_unstick's report-only run vs Helm's own list.

Seeds N releases x R revisions (real Helm records: one release is installed
with the real Helm SDK, its record is re-labelled and re-encoded for every
release/revision) into a local API server running as its own process, makes
S of them stuck, then measures on the same server in the same run:

* helm_unstick, report only, through ansible-playbook (what a user runs);
* the module's scan alone (the same code, called in-process: no Ansible start-up);
* Helm SDK ``list(all_states=True, all_namespaces=True)`` (what ``helm list -A -a`` does).

Bytes are the response bytes the server sent; seconds are wall-clock.
Run: ``scripts/bench scan [--releases 2000 --revisions 10 --stuck 10]``.
"""

import argparse
import base64
import copy
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / ".venv" / "collections"))

CHART = ROOT / "tests" / "support" / "helmfix" / "chart"
NOW = time.time()


def decode(data):
    return json.loads(gzip.decompress(base64.b64decode(base64.b64decode(data))))


def encode(release):
    inner = base64.b64encode(gzip.compress(json.dumps(release, separators=(",", ":")).encode(), 9))
    return base64.b64encode(inner).decode()


def template_record(tmp):
    """Install one release with real Helm on a throwaway server; return its Secret."""
    from localkube import LocalKube
    with LocalKube() as kube:
        kubeconfig = str(kube.write_kubeconfig(Path(tmp) / "seed-kubeconfig"))
        code = ("import helm_python as h, sys; "
                "c = h.Config(kubeconfig_path=sys.argv[1], namespace='bench'); "
                "c.install(sys.argv[2], 'seed', {'message': 'hello', 'auth': {'password': 'bench-secret'}}, "
                "create_namespace=True)")
        subprocess.run([sys.executable, "-c", code, kubeconfig, str(CHART)], check=True)
        secret = [o for o in kube.store.list("secrets", "bench") if o["metadata"]["name"].startswith("sh.helm")][0]
    return secret


def seed_state(path, template, releases, revisions, stuck, namespaces, manifest_kb=0):
    base = decode(template["data"]["release"])
    if manifest_kb:  # a bigger chart: more rendered objects in the manifest
        doc = base["manifest"]
        base["manifest"] = "\n".join(doc.replace("-config", "-config-%d" % i)
                                     for i in range(max(1, manifest_kb * 1024 // max(len(doc), 1))))
    objects = []
    for i in range(releases):
        ns = "ns-%02d" % (i % namespaces)
        name = "app-%05d" % i
        for rev in range(1, revisions + 1):
            newest = rev == revisions
            status = "deployed" if newest else "superseded"
            if newest and i < stuck:
                status = "pending-upgrade"
            rel = copy.deepcopy(base)
            rel.update(name=name, namespace=ns, version=rev)
            rel["info"]["status"] = status
            obj = copy.deepcopy(template)
            meta = obj["metadata"]
            for key in ("uid", "resourceVersion", "managedFields", "creationTimestamp"):
                meta.pop(key, None)
            meta.update(name="sh.helm.release.v1.%s.v%d" % (name, rev), namespace=ns)
            meta["labels"].update(name=name, status=status, version=str(rev),
                                  modifiedAt=str(int(NOW - 7200 + rev)))
            obj["data"]["release"] = encode(rel)
            objects.append(obj)
    nss = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-%02d" % n}} for n in range(namespaces)]
    with open(path, "w") as fh:
        json.dump({"resourceVersion": 1, "objects": {"secrets": objects, "namespaces": nss}}, fh)
    return len(objects), sum(len(o["data"]["release"]) for o in objects) / len(objects)


class Server:
    def __init__(self, state, kubeconfig):
        self.proc = subprocess.Popen([sys.executable, "-m", "localkube", "--state-file", state,
                                      "--kubeconfig", kubeconfig], stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT / "tests" / "support")))
        self.url = self.proc.stdout.readline().strip()

    def stats(self):
        with urllib.request.urlopen(self.url + "/_localkube/stats") as r:
            return json.load(r)

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/_localkube/stats", method="DELETE")).read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def measure(server, fn):
    server.reset()
    start = time.perf_counter()
    detail = fn()
    seconds = time.perf_counter() - start
    stats = server.stats()
    return seconds, stats.get("bytes", stats.get("total_bytes")), stats.get("requests", stats.get("total_requests")), detail


def module_playbook(kubeconfig, tmp):
    play = Path(tmp) / "report.yml"
    out = Path(tmp) / "report.json"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - helmops.unstick.helm_unstick: {kubeconfig: '%s', remediate: false}\n      register: r\n"
        "    - ansible.builtin.copy: {content: '{{ r.summary | to_json }}', dest: '%s'}\n" % (kubeconfig, out))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"))
    subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                    "-e", "ansible_python_interpreter=" + sys.executable, str(play)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def module_scan(kubeconfig):
    """The module's own code path (runner + REST storage) in this process: imports
    done beforehand, the timed part is client creation plus the whole run."""
    import kubernetes
    from ansible_collections.helmops.unstick.plugins.module_utils import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import KubeApi
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.releases import ReleaseStorage
    from ansible_collections.helmops.unstick.plugins.module_utils.module_args import UNSTICK_ARG_SPEC
    params = dict((k, v.get("default")) for k, v in UNSTICK_ARG_SPEC.items())
    params["remediate"] = False
    start = time.perf_counter()
    client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    out = runner.run(params, ReleaseStorage(KubeApi(client)), "bench", "bench")
    return dict(out["summary"], call_seconds=round(time.perf_counter() - start, 3))


def helm_list(kubeconfig):
    code = ("import helm_python as h, sys, json, time; "
            "c = h.Config(kubeconfig_path=sys.argv[1]); t = time.perf_counter(); "
            "r = c.list(all_states=True, all_namespaces=True); t = time.perf_counter() - t; "
            "print(json.dumps({'releases': len(r), 'pending': sum(1 for x in r if str(x.get('status', '')).startswith('pending')), "
            "'call_seconds': round(t, 3)}))")
    out = subprocess.run([sys.executable, "-c", code, kubeconfig], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=10)
    ap.add_argument("--stuck", type=int, default=10)
    ap.add_argument("--namespaces", type=int, default=20)
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
                ("helm_unstick scan (module code, in-process)", measure(server, lambda: module_scan(kubeconfig))),
                ("Helm SDK list(all_states, all_namespaces)", measure(server, lambda: helm_list(kubeconfig))),
            ]
        finally:
            server.stop()
    print("machine: %s, %d cores, Python %s" % (platform.processor() or platform.machine(), os.cpu_count(),
                                                platform.python_version()))
    print("records: %d (%d releases x %d revisions, %d stuck), avg data.release %.0f bytes"
          % (count, args.releases, args.revisions, args.stuck, avg))
    print("%-44s %9s %9s %14s %9s  %s" % ("what", "process s", "call s", "bytes served", "requests", "result"))
    for name, (sec, nbytes, reqs, detail) in rows:
        call = detail.get("call_seconds")
        shown = dict((k, v) for k, v in detail.items() if k != "call_seconds")
        print("%-44s %9.2f %9s %14s %9s  %s" % (name, sec, "%.3f" % call if call is not None else "-",
                                               nbytes, reqs, json.dumps(shown)))
    ours, helm = rows[1][1], rows[2][1]
    print("scan vs Helm's list: %.0fx fewer bytes; %.1fx less time (call vs call), "
          "%.1fx (ansible-playbook run vs helm list process)"
          % (helm[1] / max(ours[1], 1), helm[3]["call_seconds"] / ours[3]["call_seconds"],
             helm[0] / rows[0][1][0]))


if __name__ == "__main__":
    main()
