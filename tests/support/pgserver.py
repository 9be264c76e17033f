# SPDX-License-Identifier: GPL-3.0-or-later
"""A real PostgreSQL server for the tests and the bench: Debian's PostgreSQL 15 binaries (``initdb``,
``postgres``), a data directory in a fresh temporary directory (a copy of one made by initdb once per
machine), a free port on 127.0.0.1, started in well under a second (no fsync: nothing here must survive
the machine).

    with PgServer() as pg:
        db = pg.new_database()           # its own owner role (password auth) and database
        db.dsn                           # postgres://role:pw@127.0.0.1:PORT/db?sslmode=disable
        db.execute("SELECT 1")           # as that role; pg.admin() as the superuser
        pg.restart()                     # same port, same data (sessions are cut)

PostgreSQL refuses to run as root. When the suite runs as root the server runs as an unprivileged
account: ``postgres`` (created by Debian's postgresql-common package with the server), or, if that is
missing, a system account ``helmops-pg`` created here with ``useradd``; the processes are started with
``subprocess``'s ``user=``/``group=`` (setuid/setgid in the child), the data directory belongs to that
account. Not root: it runs as the current user. Missing binaries raise (the suite fails, never skips).
"""

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_MAJOR = "15"
#: where Debian puts the server binaries (PG_BIN overrides)
PG_BIN = Path(os.environ.get("PG_BIN") or "/usr/lib/postgresql/%s/bin" % PG_MAJOR)
SUPERUSER = "postgres"
RUN_ACCOUNTS = ("postgres", "helmops-pg")


_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def _die_with_parent():
    """In the server's process, before exec: SIGINT (PostgreSQL's fast shutdown) when the test process that
    started it dies, so a killed test run leaves no server behind (set after the switch to the unprivileged
    account, which would clear it)."""
    _LIBC.prctl(1, int(signal.SIGINT))   # PR_SET_PDEATHSIG


def missing_binaries():
    """Messages for each server binary that is not there (scripts/bootstrap installs postgresql-15)."""
    return ["%s is missing: PostgreSQL %s server binaries are needed (scripts/bootstrap installs Debian's "
            "postgresql-%s)" % (PG_BIN / name, PG_MAJOR, PG_MAJOR)
            for name in ("initdb", "postgres", "pg_ctl")
            if not os.access(str(PG_BIN / name), os.X_OK)]


def run_account():
    """(uid, gid, name) the server runs as: the current user, or an unprivileged account when root."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name
    for name in RUN_ACCOUNTS:
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid, name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_ACCOUNTS[1]],
                   check=True)
    entry = pwd.getpwnam(RUN_ACCOUNTS[1])
    return entry.pw_uid, entry.pw_gid, RUN_ACCOUNTS[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url(user, password, port, dbname, **params):
    from urllib.parse import quote, urlencode
    query = urlencode(dict({"sslmode": "disable"}, **params))
    return "postgres://%s:%s@127.0.0.1:%d/%s?%s" % (quote(user, safe=""), quote(password, safe=""), port,
                                                    quote(dbname, safe=""), query)


class Database:
    """One database of the server with its own owner role (what Helm connects as)."""

    def __init__(self, server, name, role, password):
        self.server, self.name, self.role, self.password = server, name, role, password

    @property
    def dsn(self):
        return url(self.role, self.password, self.server.port, self.name)

    @property
    def label(self):
        """What the module calls it in messages and reports."""
        return "127.0.0.1:%d/%s" % (self.server.port, self.name)

    def connect(self, **kw):
        import psycopg
        import psycopg.rows
        return psycopg.connect(self.dsn, autocommit=True, row_factory=psycopg.rows.dict_row, **kw)

    def execute(self, sql, params=None):
        """Rows (dicts) of one statement, as the owner role, on a connection of its own."""
        with self.connect() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def admin(self):
        """The superuser, connected to this database."""
        return self.server.admin(self.name)


class PgServer:
    def __init__(self):
        self.proc = None
        self.base = None
        self.port = None
        self.password = None
        self._databases = 0

    # -- life --------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _run_as(self):
        uid, gid, _ = self.account
        return {} if uid == os.getuid() else {"user": uid, "group": gid, "extra_groups": []}

    def _template(self):
        """A pristine data directory made by initdb once per machine and account (1.5 s), copied for each
        server (0.1 s); its superuser password beside it. Made in a scratch directory and renamed into place,
        so concurrent test workers never see half of one."""
        uid, gid, _ = self.account
        template = Path(tempfile.gettempdir()) / ("helmops-pg-template-%s-%d" % (PG_MAJOR, uid))
        if (template / "ready").exists():
            return template
        scratch = Path(tempfile.mkdtemp(prefix="helmops-pg-init-"))
        password = secrets.token_hex(12)
        pwfile = scratch / "pw"
        pwfile.write_text(password + "\n")
        os.chown(str(scratch), uid, gid)
        os.chown(str(pwfile), uid, gid)
        proc = subprocess.run([str(PG_BIN / "initdb"), "-D", str(scratch / "data"), "-U", SUPERUSER,
                               "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8", "--locale=C",
                               "--no-sync", "--no-instructions"],
                              capture_output=True, text=True, cwd=str(scratch), **self._run_as())
        if proc.returncode != 0:
            shutil.rmtree(str(scratch), ignore_errors=True)
            raise RuntimeError("initdb failed: %s %s" % (proc.stdout[-2000:], proc.stderr[-2000:]))
        pwfile.write_text(password)
        os.chmod(str(pwfile), 0o600)
        (scratch / "ready").write_text("")
        try:
            os.rename(str(scratch), str(template))
        except OSError:   # another worker was first: use its template
            shutil.rmtree(str(scratch), ignore_errors=True)
        return template

    def start(self):
        missing = missing_binaries()
        if missing:
            raise RuntimeError("; ".join(missing))
        self.account = run_account()
        template = self._template()
        self.password = (template / "pw").read_text().strip()
        self.base = Path(tempfile.mkdtemp(prefix="helmops-pg-"))
        self.data = self.base / "data"
        subprocess.run(["cp", "-a", str(template / "data"), str(self.data)], check=True)
        os.chown(str(self.base), self.account[0], self.account[1])
        self.port = free_port()
        try:
            self._spawn()
        except BaseException:
            self.stop()          # no server and no data directory left behind
            raise
        return self

    def _spawn(self, timeout=30):
        log = open(str(self.base / "postgres.log"), "ab")
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.base),
                    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                    "shared_buffers": "32MB", "max_connections": "60",
                    # a client killed while its statement waits (on a lock) is noticed and its statement aborted,
                    # as kube-apiserver drops the request of a client that went away
                    "client_connection_check_interval": "100ms"}
        argv = [str(PG_BIN / "postgres"), "-D", str(self.data)]
        for key, value in settings.items():
            argv += ["-c", "%s=%s" % (key, value)]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=str(self.base), preexec_fn=_die_with_parent, **self._run_as())
        log.close()
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited (%s): %s" % (self.proc.returncode, self.log_tail()))
            try:
                self.admin().close()
                return
            except Exception:   # not accepting connections yet
                if time.time() > deadline:
                    raise RuntimeError("postgres did not accept connections in %ss: %s" % (timeout, self.log_tail()))
                time.sleep(0.05)

    def log_tail(self, chars=3000):
        try:
            return (self.base / "postgres.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def halt(self, timeout=30):
        """Fast shutdown (every session is cut, as in a restart); the data stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.halt()
        self._spawn()

    def stop(self):
        self.halt()
        if self.base is not None:
            shutil.rmtree(str(self.base), ignore_errors=True)
            self.base = None

    # -- clients -------------------------------------------------------------
    def admin(self, dbname="postgres"):
        import psycopg
        import psycopg.rows
        return psycopg.connect(url(SUPERUSER, self.password, self.port, dbname), autocommit=True,
                               row_factory=psycopg.rows.dict_row, connect_timeout=5)

    def new_database(self, prefix="helm"):
        """A fresh database owned by a fresh role with a password (what a team gives Helm)."""
        self._databases += 1
        name = "%s_%d_%s" % (prefix, self._databases, secrets.token_hex(3))
        password = secrets.token_hex(10)
        with self.admin() as conn:
            conn.execute('CREATE ROLE "%s" LOGIN PASSWORD \'%s\'' % (name, password))
            conn.execute('CREATE DATABASE "%s" OWNER "%s"' % (name, name))
        return Database(self, name, name, password)

    def create_role(self, name, password, *grants, database=None):
        """A login role, then each SQL statement of ``grants`` as the superuser in ``database``."""
        with self.admin() as conn:
            conn.execute('CREATE ROLE "%s" LOGIN PASSWORD \'%s\'' % (name, password))
        if grants:
            with self.admin(database.name if database else "postgres") as conn:
                for statement in grants:
                    conn.execute(statement)
