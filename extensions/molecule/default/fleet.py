#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The molecule scenario's fleet: local clusters with really stuck Helm releases.

    fleet.py create  EPHEMERAL_DIR   start the clusters, make releases stuck, write the inventory
    fleet.py verify  EPHEMERAL_DIR   real Helm: every stuck release upgrades again (prints JSON)
    fleet.py destroy EPHEMERAL_DIR   stop the clusters this scenario started

Every cluster is localkube (tests/support/localkube), our local Kubernetes API
server, run as its own background process (``python -m localkube``), so it
outlives the molecule step that started it. Releases are made stuck by
interrupting real Helm (the Helm SDK, tests/support/helmfix) through
helmfix.remote.RemoteKube, then aged past the scenario's min_age on the
server's clock (made while the server's clock was an hour behind, then the
server restarted on the same port with its records; one aged further over REST):

  eu-prod  plain HTTP         shop/cart      upgrade killed   -> pending-upgrade  (2 h old)
                              shop/checkout  install killed   -> pending-install  (1 h old)
                              ops/migrator   upgrade killed   -> pending-upgrade  (just now: in progress)
  us-prod  TLS + bearer token billing/api    rollback killed  -> pending-rollback (1 h old)
                              ops/healthy    deployed
  dead     a kubeconfig pointing at a closed port: the cluster cannot be reached

State (PIDs, URLs, kubeconfigs, logs) lives in EPHEMERAL_DIR/fleet/state.json;
the inventory for converge is EPHEMERAL_DIR/inventory/fleet.yml (molecule
passes that whole directory to ansible-playbook as the inventory).
"""

import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]          # extensions/molecule/default/fleet.py -> repo root
sys.path.insert(0, str(ROOT / "tests" / "support"))

import yaml  # noqa: E402

import helmfix  # noqa: E402
from helmfix.remote import RemoteKube, free_port, spawn, stop  # noqa: E402

HELM = ROOT / "tests" / "support" / "bin" / "helm"
MIN_AGE_SECONDS = 600            # converge.yml runs with stuck_releases_min_age: 10m
TOKEN = "molecule-token"

#: what verify expects: (cluster, namespace, release, how it got stuck)
STUCK = [("eu-prod", "shop", "cart", "upgrade"), ("eu-prod", "shop", "checkout", "install"),
         ("us-prod", "billing", "api", "rollback")]
IN_PROGRESS = [("eu-prod", "ops", "migrator")]
HEALTHY = [("us-prod", "ops", "healthy")]


def paths(ephemeral):
    base = Path(ephemeral).resolve()
    return {"dir": base / "fleet", "state": base / "fleet" / "state.json",
            "inventory": base / "inventory" / "fleet.yml"}


def load_state(ephemeral):
    state_file = paths(ephemeral)["state"]
    if not state_file.exists():
        return {"clusters": {}}
    return json.loads(state_file.read_text())


def save_state(ephemeral, state):
    state_file = paths(ephemeral)["state"]
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(state_file)


PAST = 3600       # stuck releases are made while the servers' clocks are an hour behind


def eu_prod_past(kube):
    env = helmfix.HelmEnv(kube.kubeconfig)
    env.install("cart", "shop", values={"auth": {"password": "molecule-Secret-1"}})
    env.upgrade("cart", "shop")
    helmfix.make_stuck_upgrade(env, kube, "cart", "shop")
    helmfix.make_stuck_install(env, kube, "checkout", "shop")


def eu_prod_now(kube):
    env = helmfix.HelmEnv(kube.kubeconfig)
    rev, _ = helmfix.newest(kube, "shop", "cart")
    helmfix.age_record(kube, "shop", "cart", rev, 2 * 3600)          # over REST: labels and payload
    env.install("migrator", "ops")
    helmfix.make_stuck_upgrade(env, kube, "migrator", "ops")        # young: an upgrade maybe still running


def us_prod_past(kube):
    env = helmfix.HelmEnv(kube.kubeconfig)
    env.install("api", "billing")
    env.upgrade("api", "billing")
    helmfix.make_stuck_rollback(env, kube, "api", "billing", 1)


def us_prod_now(kube):
    helmfix.HelmEnv(kube.kubeconfig).install("healthy", "ops")


CLUSTERS = {"eu-prod": {"tls": False, "token": None, "past": eu_prod_past, "now": eu_prod_now},
            "us-prod": {"tls": True, "token": TOKEN, "past": us_prod_past, "now": us_prod_now}}


def _each_cluster(step, kubes):
    """Run ``step`` on both clusters at once (each Helm call is its own process)."""
    failures = []

    def run(name):
        try:
            CLUSTERS[name][step](kubes[name])
        except BaseException as err:        # reported below, after both are done
            failures.append("%s (%s): %s: %s" % (name, step, type(err).__name__, err))

    threads = [threading.Thread(target=run, args=(name,)) for name in CLUSTERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit("fleet set-up failed: " + "; ".join(failures))


def _serve(ephemeral, state, name, phase, **kw):
    """Start (or restart) one cluster's server; its PID is saved at once, so destroy
    finds it even if a later step fails."""
    p = paths(ephemeral)
    spec = CLUSTERS[name]
    kubeconfig = p["dir"] / ("%s.kubeconfig" % name)
    proc, url = spawn(kubeconfig, tls=spec["tls"], token=spec["token"], detach=True,
                      log=p["dir"] / ("%s.%s.log" % (name, phase)),
                      state_file=p["dir"] / ("%s.state.json" % name), **kw)
    state["clusters"][name] = {"pid": proc.pid, "url": url, "kubeconfig": str(kubeconfig),
                               "tls": spec["tls"], "reachable": True}
    save_state(ephemeral, state)
    return proc, RemoteKube(url, kubeconfig)


def create(ephemeral):
    p = paths(ephemeral)
    p["dir"].mkdir(parents=True, exist_ok=True)
    p["inventory"].parent.mkdir(parents=True, exist_ok=True)
    state = load_state(ephemeral)
    if state["clusters"]:
        raise SystemExit("fleet already created (%s): run destroy first" % p["state"])

    # 1. an hour ago: real Helm deploys and gets killed mid-operation. A real API server
    #    cannot be told to backdate a record's creationTimestamp (what dates a record with
    #    no modifiedAt label, like a pending-install), so the servers' clocks are set back
    #    instead, then the servers are restarted on the same ports with their records.
    procs, kubes = {}, {}
    for name in CLUSTERS:
        procs[name], kubes[name] = _serve(ephemeral, state, name, "past", clock_offset=-PAST)
    _each_cluster("past", kubes)
    for name in CLUSTERS:
        stop(procs[name])
        port = int(kubes[name].url.rsplit(":", 1)[1])
        procs[name], kubes[name] = _serve(ephemeral, state, name, "now", port=port)
    # 2. now: one record aged further over REST, a young stuck upgrade, a healthy release
    _each_cluster("now", kubes)

    dead = p["dir"] / "dead.kubeconfig"
    dead_url = "http://127.0.0.1:%d" % free_port()
    dead.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": dead_url}}],
        "users": [{"name": "dead", "user": {"token": "nobody-listens"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}]}))
    state["clusters"]["dead"] = {"pid": None, "url": dead_url, "kubeconfig": str(dead), "tls": False,
                                 "reachable": False}
    save_state(ephemeral, state)

    for cluster, ns, name, _ in STUCK + [c + (None,) for c in IN_PROGRESS]:
        env = helmfix.HelmEnv(state["clusters"][cluster]["kubeconfig"])
        helmfix.assert_locked(env, name, ns)          # really stuck: real Helm refuses

    hosts = {name: {"stuck_releases_kubeconfig": info["kubeconfig"],
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable}
             for name, info in state["clusters"].items()}
    # nothing will ever answer there: give up after three refused attempts (else 7.5 s of back-offs per run)
    hosts["dead"]["stuck_releases_cluster_timeout"] = "3s"
    p["inventory"].write_text("# Molecule managed: written by fleet.py create\n"
                              + yaml.safe_dump({"helm_clusters": {"hosts": hosts}}, sort_keys=False))
    state["created_at"] = time.time()
    save_state(ephemeral, state)
    print(json.dumps({name: {"url": c["url"], "pid": c["pid"]} for name, c in state["clusters"].items()}))


def verify(ephemeral):
    """Real Helm upgrades every release that was stuck; the young one stays untouched."""
    state = load_state(ephemeral)
    clusters = state["clusters"]
    if not clusters:
        raise SystemExit("no fleet: run create first")
    out = {"upgraded": [], "in_progress_untouched": [], "healthy": []}
    for cluster, ns, name, how in STUCK:
        env = helmfix.HelmEnv(clusters[cluster]["kubeconfig"])
        history = env.history(name, ns)
        if history[-1]["status"].startswith("pending-"):
            raise SystemExit("%s %s/%s is still %s" % (cluster, ns, name, history[-1]["status"]))
        try:
            env.upgrade(name, ns, install=True, values={"message": "after molecule converge"})
        except helmfix.HelmFailed as err:
            raise SystemExit("real Helm cannot upgrade %s %s/%s (stuck by a killed %s): %s"
                             % (cluster, ns, name, how, err))
        after = env.history(name, ns)[-1]
        if after["status"] != "deployed":
            raise SystemExit("%s %s/%s: upgrade left %s" % (cluster, ns, name, after["status"]))
        out["upgraded"].append({"cluster": cluster, "namespace": ns, "release": name, "stuck_by": how,
                                "revision": after["revision"]})
    for cluster, ns, name in IN_PROGRESS:
        kube = RemoteKube(clusters[cluster]["url"], clusters[cluster]["kubeconfig"])
        env = helmfix.HelmEnv(clusters[cluster]["kubeconfig"])
        rev, status = helmfix.newest(kube, ns, name)
        record = kube.store.get("secrets", ns, helmfix.record_name(name, rev))
        labels = record["metadata"]["labels"]
        age = kube.now() - int(labels.get("modifiedAt") or labels["createdAt"])
        if age < MIN_AGE_SECONDS - 30:            # still younger than min_age: must not have been touched
            if status != "pending-upgrade":
                raise SystemExit("%s %s/%s was %s although its upgrade may still run"
                                 % (cluster, ns, name, status))
            helmfix.assert_locked(env, name, ns)
            out["in_progress_untouched"].append({"cluster": cluster, "namespace": ns, "release": name,
                                                 "age_seconds": int(age)})
    for cluster, ns, name in HEALTHY:
        env = helmfix.HelmEnv(clusters[cluster]["kubeconfig"])
        if [h["status"] for h in env.history(name, ns)] != ["deployed"]:
            raise SystemExit("%s %s/%s was touched: %s" % (cluster, ns, name, env.history(name, ns)))
        out["healthy"].append({"cluster": cluster, "namespace": ns, "release": name})
    print(json.dumps(out))


def _is_our_localkube(pid, kubeconfig):
    """The PID still runs `python -m localkube ... --kubeconfig KUBECONFIG` (not a reused PID)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            args = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return False
    return "localkube" in args and kubeconfig in args


def destroy(ephemeral):
    state = load_state(ephemeral)
    stopped = []
    for name, info in state["clusters"].items():
        if info.get("pid") and _is_our_localkube(info["pid"], info["kubeconfig"]):
            stop(info["pid"])
            stopped.append(name)
    p = paths(ephemeral)
    for path in (p["state"], p["inventory"]):
        if path.exists():
            path.unlink()
    print(json.dumps({"stopped": stopped}))


def main(argv):
    if len(argv) != 3 or argv[1] not in ("create", "verify", "destroy"):
        raise SystemExit(__doc__)
    {"create": create, "verify": verify, "destroy": destroy}[argv[1]](argv[2])


if __name__ == "__main__":
    main(sys.argv)
