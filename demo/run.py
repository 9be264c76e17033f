# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo: real stuck Helm releases on two local clusters, found and fixed
by the collection's main job.

1. starts two local clusters (localkube, our local Kubernetes API server; one
   plain HTTP, one with TLS and a bearer token), serving from threads of this
   process: Helm and Ansible reach them over HTTP(S) from their own processes;
   and a third whose Helm keeps its records in PostgreSQL (Helm's sql driver,
   a real PostgreSQL 15 on 127.0.0.1, tests/support/pgserver.py);
2. makes the real helm 4 CLI (built by scripts/bootstrap) leave releases stuck
   by killing it mid-operation: an upgrade, a first install and a rollback, plus a release healed by hand
   earlier (an old pending revision in its history), one whose upgrade is
   still running (too young to touch) and a healthy one;
3. shows `helm history` and the real helm CLI refusing to upgrade;
4. builds the inventory from the clusters' kubeconfigs with the
   helmops.unstick.kubeconfig inventory plugin;
5. runs playbooks/report.yml, then playbooks/remediate.yml (--diff), and
   prints the fleet report;
6. runs remediate.yml again: nothing left to do;
7. runs the very `helm upgrade` that was refused in step 3: it succeeds, and so
   do the upgrades of the other remediated releases.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import helmfix  # noqa: E402
from helmfix import sql as helm_sql  # noqa: E402
from localkube import LocalKube  # noqa: E402
from pgserver import PgServer, missing_binaries  # noqa: E402
from realhelm import RealHelm  # noqa: E402
from tools import HELM  # noqa: E402  (the real helm 4 CLI)
WORK = ROOT / ".demo"


STARTED = time.monotonic()


def say(text):
    """A step's heading, with the seconds since the demo started (where the time goes, on screen)."""
    print("\n\033[1m== %s\033[0m \033[2m[%d s]\033[0m" % (text, time.monotonic() - STARTED), flush=True)


def shell(*cmd):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    # stderr joins stdout, so a refusal shows right under its command, captured or not
    return subprocess.run([str(c) for c in cmd], env=ENV, stderr=subprocess.STDOUT).returncode


def eu_paid_releases(eu, env_eu):
    """eu-prod's shop: an upgrade and a first install, killed mid-operation an hour or two ago."""
    env_eu.install("cart", "shop", values={"auth": {"password": "demo-Secret-123"}})
    env_eu.upgrade("cart", "shop")
    rev = helmfix.make_stuck_upgrade(env_eu, eu, "cart", "shop")
    helmfix.age_record(eu, "shop", "cart", rev, 2 * 3600)
    lines = ["eu-prod shop/cart       upgrade killed -> revision %d pending-upgrade (2 h ago)" % rev]
    rev = helmfix.make_stuck_install(env_eu, eu, "checkout", "shop")
    helmfix.age_record(eu, "shop", "checkout", rev, 3600)
    return lines + ["eu-prod shop/checkout   first install killed -> revision %d pending-install (1 h ago)" % rev]


def eu_other_releases(eu, env_eu):
    """eu-prod's release healed by hand earlier and one whose upgrade is still running."""
    env_eu.install("ledger", "billing")
    helmfix.make_stuck_upgrade(env_eu, eu, "ledger", "billing")
    env_eu.rollback("ledger", "billing", 1)
    lines = ["eu-prod billing/ledger  stuck once, healed by a manual helm rollback (pending-upgrade stays in history)"]
    env_eu.install("migrator", "ops")
    rev = helmfix.make_stuck_upgrade(env_eu, eu, "migrator", "ops")
    return lines + ["eu-prod ops/migrator    upgrade started seconds ago -> revision %d pending-upgrade (maybe live)" % rev]


def us_releases(us, env_us):
    env_us.install("api", "billing")
    env_us.upgrade("api", "billing")
    rev = helmfix.make_stuck_rollback(env_us, us, "api", "billing", 1)
    helmfix.age_record(us, "billing", "api", rev, 1800)
    env_us.install("healthy", "ops")
    return ["us-prod billing/api     rollback killed -> revision %d pending-rollback (30 min ago)" % rev,
            "us-prod ops/healthy     deployed"]


def stuck_on_sql(pg_kube, db, env_pg):
    """One release whose records are rows of Helm's sql driver, left stuck the same way."""
    env_pg.install("orders", "shop")
    rev = helm_sql.make_stuck(env_pg, pg_kube, db, "upgrade", "orders", "shop")
    helm_sql.age_release(db, "shop", "orders", rev, 3600)
    return ["pg-prod shop/orders     upgrade killed -> revision %d pending-upgrade (1 h ago), a row in PostgreSQL" % rev]


def side_by_side(*stories):
    """Run the stories at once (each its own releases; helmfix's stuck-makers are safe side by side on one
    server) and print their lines in the order given; the first failure is raised."""
    results = [None] * len(stories)
    failures = []

    def run(index, story):
        try:
            results[index] = story()
        except BaseException as exc:  # pylint: disable=broad-except  (re-raised below, in the main thread)
            failures.append(exc)
    threads = [threading.Thread(target=run, args=(i, story)) for i, story in enumerate(stories)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    for lines in results:
        print("\n".join(lines), flush=True)


def main():
    global ENV
    # the demo needs one helm (scripts/bootstrap demo builds it) and PostgreSQL's server binaries
    missing = missing_binaries() + ([] if os.access(str(HELM), os.X_OK) else
                                    ["%s is missing: run scripts/demo (it builds helm with Go)" % HELM])
    if missing:
        sys.exit("\n".join(missing))
    ENV = {k: v for k, v in os.environ.items() if not k.startswith("HELM_") and k != "KUBECONFIG"}
    ENV["PYTHONPATH"] = str(ROOT / "tests" / "support")
    WORK.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=str(WORK)))
    say("Starting three local clusters (localkube); pg-prod's Helm keeps its records in PostgreSQL")
    eu = LocalKube().start()
    us = LocalKube(tls=True, tokens={"demo-token": None}).start()
    pg_kube = LocalKube().start()
    pg = PgServer().start()
    try:
        eu_config = eu.write_kubeconfig(run_dir / "eu-prod.kubeconfig", context="eu-prod")
        us_config = us.write_kubeconfig(run_dir / "us-prod.kubeconfig", context="us-prod", token="demo-token")
        pg_config = pg_kube.write_kubeconfig(run_dir / "pg-prod.kubeconfig", context="pg-prod")
        db = pg.new_database()
        # the connection string reaches the inventory from the environment, as a vault or AWX credential would
        ENV["PG_PROD_HELM_DSN"] = db.dsn
        print("eu-prod: %s\nus-prod: %s (TLS, bearer token)\npg-prod: %s, records in PostgreSQL %s"
              % (eu.url, us.url, pg_kube.url, db.label))
        env_eu = RealHelm(eu_config)
        env_us = RealHelm(us_config)
        env_pg = RealHelm(pg_config, driver="sql", sql_connection_string=db.dsn)

        say("helm %s deploys, then gets interrupted (process killed mid-operation)" % HELM.parent.name[5:])
        side_by_side(lambda: eu_paid_releases(eu, env_eu), lambda: eu_other_releases(eu, env_eu),
                     lambda: us_releases(us, env_us), lambda: stuck_on_sql(pg_kube, db, env_pg))

        say("What an operator sees")
        shell(HELM, "--kubeconfig", eu_config, "history", "cart", "-n", "shop")
        refused_upgrade = (HELM, "--kubeconfig", eu_config, "upgrade", "cart", helmfix.CHART, "-n", "shop")
        shell(*refused_upgrade)

        say("The inventory: every kubeconfig context is a cluster (helmops.unstick.kubeconfig)")
        inventory = run_dir / "clusters.kubeconfig.yml"
        inventory.write_text("plugin: helmops.unstick.kubeconfig\nkubeconfigs:\n  - %s\n  - %s\n  - %s\n"
                             "compose:\n"
                             "  stuck_releases_storage_driver: \"'sql' if inventory_hostname == 'pg-prod' else ''\"\n"
                             "  stuck_releases_sql_connection_string: \"lookup('ansible.builtin.env', "
                             "'PG_PROD_HELM_DSN') if inventory_hostname == 'pg-prod' else ''\"\n"
                             % (eu_config, us_config, pg_config))
        print(inventory.read_text().replace(str(run_dir) + "/", ""))
        shell(str(Path(sys.executable).parent / "ansible-inventory"), "-i", inventory, "--graph")

        playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                    "-e", "stuck_releases_helm_binary=%s" % HELM,
                    "-e", "stuck_releases_report_dir=%s" % (run_dir / "report"),
                    "-e", "stuck_releases_backup_dir=%s" % (run_dir / "backups"),
                    "-e", "stuck_releases_timeout=60s"]
        say("playbooks/report.yml: report only")
        shell(*(playbook + [str(ROOT / "playbooks" / "report.yml")]))
        say("playbooks/remediate.yml: roll back to the last good revision; unlock a stuck first install")
        shell(*(playbook + [str(ROOT / "playbooks" / "remediate.yml"), "--diff"]))
        say("The fleet report (also as JSON and a sortable HTML page in %s)" % (run_dir / "report"))
        print((run_dir / "report" / "stuck-releases.md").read_text())

        say("Run it again: nothing left to do (idempotent)")
        shell(*(playbook + [str(ROOT / "playbooks" / "remediate.yml")]))
        print("\nBackups of the records changed (mode 0600, they hold release values): %s" % (run_dir / "backups"))

        say("helm works again: the other remediated releases upgrade")
        for config, ns, name in ((eu_config, "shop", "checkout"), (us_config, "billing", "api")):
            shell(HELM, "--kubeconfig", config, "upgrade", name, helmfix.CHART, "--install", "-n", ns)
        print("$ HELM_DRIVER=sql helm --kubeconfig %s upgrade orders %s -n shop" % (pg_config, helmfix.CHART))
        print(env_pg.upgrade("orders", "shop").strip())

        say("The upgrade helm refused at the start, run again")
        code = shell(*refused_upgrade)
        shell(HELM, "--kubeconfig", eu_config, "history", "cart", "-n", "shop")
        if code != 0:
            sys.exit("helm upgrade of shop/cart failed again (exit %d)" % code)
        print("\nshop/cart upgraded: helm's 'another operation (install/upgrade/rollback) is in progress' is gone.")
    finally:
        eu.stop()
        us.stop()
        pg_kube.stop()
        pg.stop()


if __name__ == "__main__":
    main()
