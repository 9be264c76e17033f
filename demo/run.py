"""The demo: real stuck Helm releases on a local cluster, found and fixed.

1. starts localkube (our local Kubernetes API server, serving from a thread of
   this process: Helm and Ansible reach it over HTTP from their own processes);
2. makes real Helm (SDK v4.2.3) leave releases stuck by interrupting it:
   an upgrade, a first install and a rollback, plus a release healed by hand
   earlier (an old pending revision in its history), one whose upgrade is
   still running (too young to touch) and a healthy one;
3. shows `helm history` and real Helm refusing to upgrade;
4. runs demo/unstick.yml: report only, then remediate (with --diff);
5. upgrades every remediated release with real Helm, and shows the history.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import helmfix  # noqa: E402
from localkube import LocalKube  # noqa: E402

HELM = ROOT / "tests" / "support" / "bin" / "helm"
WORK = ROOT / ".demo"


def say(text):
    print("\n\033[1m== %s\033[0m" % text, flush=True)


def shell(*cmd):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], env=ENV).returncode


def main():
    global ENV
    ENV = dict(os.environ)
    ENV["PYTHONPATH"] = str(ROOT / "tests" / "support")
    WORK.mkdir(exist_ok=True)
    kubeconfig = WORK / "kubeconfig"
    backups = Path(tempfile.mkdtemp(prefix="backups-", dir=str(WORK)))
    say("Starting the local cluster (localkube)")
    kube = LocalKube().start()
    kube.write_kubeconfig(kubeconfig)
    print("API server: %s   kubeconfig: %s" % (kube.url, kubeconfig))
    env = helmfix.HelmEnv(str(kubeconfig))
    try:
        say("Real Helm deploys, then gets interrupted (process killed mid-operation)")
        env.install("cart", "shop", values={"auth": {"password": "demo-Secret-123"}})
        env.upgrade("cart", "shop")
        rev = helmfix.make_stuck_upgrade(env, kube, "cart", "shop")
        helmfix.age_record(kube, "shop", "cart", rev, 2 * 3600)
        print("shop/cart      upgrade killed -> revision %d pending-upgrade (2 h ago)" % rev)
        rev = helmfix.make_stuck_install(env, kube, "checkout", "shop")
        helmfix.age_record(kube, "shop", "checkout", rev, 3600)
        print("shop/checkout  first install killed -> revision %d pending-install (1 h ago)" % rev)
        env.install("api", "billing")
        env.upgrade("api", "billing")
        rev = helmfix.make_stuck_rollback(env, kube, "api", "billing", 1)
        helmfix.age_record(kube, "billing", "api", rev, 1800)
        print("billing/api    rollback killed -> revision %d pending-rollback (30 min ago)" % rev)
        env.install("ledger", "billing")
        rev = helmfix.make_stuck_upgrade(env, kube, "ledger", "billing")
        env.rollback("ledger", "billing", 1)
        print("billing/ledger stuck once, healed by a manual helm rollback (pending-upgrade stays in history)")
        env.install("migrator", "ops")
        rev = helmfix.make_stuck_upgrade(env, kube, "migrator", "ops")
        print("ops/migrator   upgrade started seconds ago -> revision %d pending-upgrade (maybe live)" % rev)
        env.install("healthy", "ops")
        print("ops/healthy    deployed")

        say("What an operator sees")
        shell(HELM, "--kubeconfig", kubeconfig, "history", "cart", "-n", "shop")
        shell(HELM, "--kubeconfig", kubeconfig, "history", "ledger", "-n", "billing")
        shell(HELM, "--kubeconfig", kubeconfig, "upgrade", "cart", helmfix.CHART, "-n", "shop")

        playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                    "-e", "ansible_python_interpreter=%s" % sys.executable,
                    "-e", "demo_kubeconfig=%s" % kubeconfig, "-e", "demo_helm=%s" % HELM,
                    "-e", "demo_backup_dir=%s" % backups, str(ROOT / "demo" / "unstick.yml")]
        say("helmops.unstick.helm_unstick, report only")
        shell(*playbook)
        say("helmops.unstick.helm_unstick, remediate (rollback to the last good revision; unlock pending-install)")
        shell(*(playbook + ["-e", "demo_remediate=true", "--diff"]))

        say("Real Helm works again")
        for ns, name in (("shop", "cart"), ("shop", "checkout"), ("billing", "api")):
            shell(HELM, "--kubeconfig", kubeconfig, "upgrade", name, helmfix.CHART, "--install", "-n", ns)
        shell(HELM, "--kubeconfig", kubeconfig, "history", "cart", "-n", "shop")

        say("Run it again: nothing left to do (idempotent)")
        shell(*(playbook + ["-e", "demo_remediate=true"]))
        print("\nBackups of the records changed (mode 0600, they hold release values): %s" % backups)
    finally:
        kube.stop()


if __name__ == "__main__":
    main()
