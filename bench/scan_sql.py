#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scan benchmark on Helm's sql storage driver: helm_unstick's report-only run vs Helm's own list, the same
PostgreSQL database, the same run (``scripts/bench scan --driver sql``).

A real PostgreSQL 15 (tests/support/pgserver.py, 127.0.0.1) gets N releases x R revisions as Helm's own
rows: one release is installed by the real Helm SDK on the sql driver (so the table, its indexes, its
custom_labels_v1 and its migrations are Helm's), and its body is re-encoded for every release and revision
(name, namespace, version and status changed) and loaded with COPY; the first S releases' newest revision
is pending-upgrade, two hours old. Every client reaches the server through a TCP relay on 127.0.0.1 that
counts the bytes each way (sslmode=disable, so they are PostgreSQL's protocol bytes); each step is then run
again connected directly, for its seconds (the relay slows every round trip). The steps:

* helm_unstick report-only through ansible-playbook (what a user runs);
* the module's scan code in-process (the same code, no Ansible start-up), median of --repeat;
* Helm SDK ``list(all_states=True, all_namespaces=True)`` (what helm 4's ``helm list -A`` does);
* the real helm 3 ``helm list -A -a`` and helm 4 ``helm list -A`` CLIs.

Statements are counted by PostgreSQL (pg_stat_database.xact_commit of the database, less ours).
"""

import argparse
import base64
import gzip
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, CHART, Server, machine, module_params, table  # noqa: E402

NOW = time.time()


class Relay:
    """127.0.0.1:<port> → the server, counting bytes from the server (``down``) and to it (``up``)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.down = self.up = 0
        self.connections = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self.lock:
            self.down = self.up = self.connections = 0

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()

    def _pump(self, src, dst, way):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    setattr(self, way, getattr(self, way) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def dsn_via(db, port):
    return db.dsn.replace(":%d/" % db.server.port, ":%d/" % port)


def template_body(db, kubeconfig):
    """Install one release with the real Helm SDK on the sql driver; return its row."""
    code = ("import helm_python as h, sys; c = h.Config(kubeconfig_path=sys.argv[1], namespace='bench', "
            "storage_driver='sql'); c.install(sys.argv[2], 'seed', {'message': 'hello', 'auth': "
            "{'password': 'bench-secret'}}, create_namespace=True)")
    subprocess.run([sys.executable, "-c", code, kubeconfig, str(CHART)], check=True,
                   env=dict(os.environ, HELM_DRIVER_SQL_CONNECTION_STRING=db.dsn))
    return db.execute("SELECT * FROM releases_v1 WHERE name = 'seed'")[0]


def seed(db, template, releases, revisions, stuck, namespaces):
    """COPY releases x revisions rows (Helm's, re-encoded); returns (rows, average body bytes)."""
    base = json.loads(gzip.decompress(base64.b64decode(template["body"])))
    buf, total, count = io.StringIO(), 0, 0
    for i in range(releases):
        ns, name = "ns-%02d" % (i % namespaces), "app-%05d" % i
        for rev in range(1, revisions + 1):
            newest = rev == revisions
            status = "pending-upgrade" if newest and i < stuck else ("deployed" if newest else "superseded")
            rel = dict(base, name=name, namespace=ns, version=rev, info=dict(base["info"], status=status))
            body = base64.b64encode(gzip.compress(json.dumps(rel, separators=(",", ":")).encode(), 9)).decode()
            stamp = int(NOW - 7200 + rev)
            buf.write("\t".join(["sh.helm.release.v1.%s.v%d" % (name, rev), "helm.sh/release.v1", body, name, ns,
                                 str(rev), status, "helm", str(stamp), str(0 if newest and i < stuck else stamp)]))
            buf.write("\n")
            total += len(body)
            count += 1
    buf.seek(0)
    with db.connect() as conn:
        with conn.cursor().copy("COPY releases_v1 (key, type, body, name, namespace, version, status, owner, "
                                "createdat, modifiedat) FROM STDIN") as copy:
            copy.write(buf.read())
        conn.execute("ANALYZE releases_v1")
    return count, total / count


def commits(db):
    with db.admin() as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                            (db.name,)).fetchone()["xact_commit"]


def measure(db, relay, fn):
    """(wall s, bytes from the server, bytes to it, statements, connections, fn's result)."""
    relay.reset()
    before = commits(db)
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    time.sleep(1.1)   # each backend reports its counts when it ends or, while idle, at most once a second
    statements = commits(db) - before - 1   # less our own read of the counter
    return seconds, relay.down, relay.up, statements, relay.connections, out


def timed_run(fn):
    """(wall s, -, -, -, -, fn's result): the same shape as measure, without the relay."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, None, None, None, None, out


def module_scan(kubeconfig, dsn):
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import ClusterSession
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import Database
    from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.releases import SqlReleaseStorage
    params = module_params(remediate=False, storage_driver="sql", sql_connection_string=dsn, kubeconfig=kubeconfig)
    settings = options.validate(params, {})
    start = time.perf_counter()
    storage = SqlReleaseStorage(Database(settings.sql, settings.request_timeout))
    out = runner.run_session(settings, ClusterSession(storage, "bench", "bench"))
    storage.close()
    return dict(out["summary"], call_seconds=round(time.perf_counter() - start, 3), queries=storage.db.statements)


def module_playbook(kubeconfig, dsn, tmp):
    play, out = Path(tmp) / "report-sql.yml", Path(tmp) / "report-sql.json"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - helmops.unstick.helm_unstick: {kubeconfig: '%s', remediate: false, storage_driver: sql, "
                    "sql_connection_string: '%s'}\n      register: r\n"
                    "    - ansible.builtin.copy: {content: '{{ r.summary | to_json }}', dest: '%s'}\n"
                    % (kubeconfig, dsn, out))
    from common import ansible_env
    subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e",
                    "ansible_python_interpreter=" + sys.executable, str(play)], check=True, env=ansible_env(),
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def sdk_list(kubeconfig, dsn):
    code = ("import helm_python as h, sys, json, time; c = h.Config(kubeconfig_path=sys.argv[1], "
            "storage_driver='sql'); t = time.perf_counter(); r = c.list(all_states=True, all_namespaces=True); "
            "t = time.perf_counter() - t; print(json.dumps({'releases': len(r), 'pending': sum(1 for x in r if "
            "str(x.get('status', '')).startswith('pending')), 'call_seconds': round(t, 3)}))")
    out = subprocess.run([sys.executable, "-c", code, kubeconfig], check=True, capture_output=True, text=True,
                         env=dict(os.environ, HELM_DRIVER_SQL_CONNECTION_STRING=dsn))
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_list(helm, kubeconfig, dsn, tmp, all_states):
    home = Path(tmp) / ("home-" + Path(str(helm)).parent.name)
    env = dict(os.environ, HOME=str(home), HELM_CONFIG_HOME=str(home / "config"), HELM_CACHE_HOME=str(home / "cache"),
               HELM_DATA_HOME=str(home / "data"), HELM_DRIVER="sql", HELM_DRIVER_SQL_CONNECTION_STRING=dsn)
    argv = [str(helm), "list", "-A"] + (["-a"] if all_states else []) + ["--max", "0", "-o", "json",
                                                                         "--kubeconfig", kubeconfig]
    rels = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout)
    return {"releases": len(rels), "pending": sum(1 for r in rels if str(r.get("status", "")).startswith("pending"))}


def median(runs, key):
    runs = sorted(runs, key=key)
    return runs[len(runs) // 2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", choices=("sql",), default="sql")
    ap.add_argument("--releases", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=10)
    ap.add_argument("--stuck", type=int, default=10)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each in-process and CLI measurement (median)")
    args = ap.parse_args(argv)
    import tools
    from pgserver import PgServer
    with tempfile.TemporaryDirectory() as tmp, PgServer() as pg:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        (Path(tmp) / "state.json").write_text(json.dumps({"resourceVersion": 1, "objects": {}}))
        kube = Server(Path(tmp) / "state.json", kubeconfig)   # the cluster: helm and the module want one
        try:
            db = pg.new_database()
            template = template_body(db, kubeconfig)
            db.execute("DELETE FROM releases_v1")
            started = time.perf_counter()
            count, avg = seed(db, template, args.releases, args.revisions, args.stuck, args.namespaces)
            seeded = time.perf_counter() - started
            relay = Relay(pg.port)
            dsn, direct = dsn_via(db, relay.port), db.dsn
            by_call, by_process = (lambda r: r[5]["call_seconds"]), (lambda r: r[0])
            steps = [
                ("helm_unstick report-only via ansible-playbook", 1, by_process,
                 lambda url: lambda: module_playbook(kubeconfig, url, tmp)),
                ("helm_unstick scan (module code, in-process)", args.repeat, by_call,
                 lambda url: lambda: module_scan(kubeconfig, url)),
                ("Helm SDK list(all_states, all_namespaces)", args.repeat, by_call,
                 lambda url: lambda: sdk_list(kubeconfig, url)),
                ("helm %s CLI: helm list -A -a" % tools.HELM3_VERSION, args.repeat, by_process,
                 lambda url: lambda: cli_list(tools.HELM3, kubeconfig, url, tmp, True)),
                ("helm %s CLI: helm list -A" % tools.HELM4_VERSION, args.repeat, by_process,
                 lambda url: lambda: cli_list(tools.HELM4, kubeconfig, url, tmp, False)),
            ]
            rows = []
            for name, repeat, key, make in steps:
                # bytes and transactions through the relay; seconds without it (the relay, a Python thread per
                # direction, adds latency to every round trip, and Helm's list makes tens of thousands)
                relayed = median([measure(db, relay, make(dsn)) for _ in range(repeat)], key=key)
                timed = median([timed_run(make(direct)) for _ in range(repeat)], key=key)
                rows.append(("%s%s" % (name, ", median of %d" % repeat if repeat > 1 else ""), relayed, timed))
            version = db.execute("SHOW server_version")[0]["server_version"]
        finally:
            kube.stop()
    print(machine())
    print("server: PostgreSQL %s (tests/support/pgserver.py) on 127.0.0.1, through a byte-counting TCP relay"
          % version)
    print("rows: %d (%d releases x %d revisions, %d stuck) in %d namespaces, avg body %.0f bytes; COPY in %.1f s"
          % (count, args.releases, args.revisions, args.stuck, args.namespaces, avg, seeded))
    body = []
    for name, relayed, timed in rows:
        sec, down, up, statements, conns, out = relayed
        call = timed[5].get("call_seconds") if isinstance(timed[5], dict) else None
        shown = dict((k, v) for k, v in out.items() if k not in ("call_seconds", "states"))
        body.append((name, "%.2f" % timed[0], "%.3f" % call if call is not None else "-", "{:,}".format(down),
                     "{:,}".format(up), statements, conns, json.dumps(shown)))
    print(table(("what", "process s", "call s", "bytes from server", "bytes to server", "transactions",
                 "connections", "result"), body))
    print("bytes and transactions: through the relay (transactions: pg_stat_database.xact_commit delta); "
          "seconds: the same step again, connected directly (no relay)")
    ours = rows[1]
    for theirs in rows[2:]:
        print("scan vs %s: %.0fx fewer bytes from the server; %.3f s (call) vs %s"
              % (theirs[0], theirs[1][1] / max(ours[1][1], 1), ours[2][5]["call_seconds"],
                 "%.3f s (call)" % theirs[2][5]["call_seconds"] if "call_seconds" in theirs[2][5]
                 else "%.2f s (process)" % theirs[2][0]))


if __name__ == "__main__":
    main()
