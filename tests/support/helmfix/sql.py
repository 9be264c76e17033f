# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Helm on its ``sql`` storage driver (records in PostgreSQL, the chart's objects in the cluster), and
releases left stuck there for real.

    db = pg.new_database()                                  # pgserver.PgServer
    env = HelmEnv(kube.kubeconfig, driver="sql", sql_connection_string=db.dsn)   # or RealHelm(..., driver="sql", ...)
    env.install("web", "shop"); env.upgrade("web", "shop", chart=...)
    rev = make_stuck(env, kube, db, "upgrade", "web", "shop", chart=...)   # Helm killed mid-upgrade
    age_release(db, "shop", "web", rev, 3600)                               # as if an hour ago

How Helm is interrupted, honestly:

* ``upgrade`` and ``rollback``: Helm first INSERTs the new revision (``pending-*``, committed at once),
  applies the chart, then UPDATEs the previous revision to ``superseded``. We hold a row lock on that
  previous row (``SELECT … FOR UPDATE`` in an open transaction, as any other writer would), wait until
  PostgreSQL shows Helm's UPDATE waiting for it, SIGKILL Helm, then let go. The server notices the dead
  client (``client_connection_check_interval``) and drops its statement: nothing after the kill lands.
* ``install``: there is no earlier row to lock, so Helm is killed while the API server holds its write of
  the chart's ConfigMap (localkube's hang, as ``helmfix.make_stuck_install`` does), after its
  ``pending-install`` row was committed.
"""

import base64
import gzip
import json
import os
import signal
import time

import helmfix

EXPECT = {"install": "pending-install", "upgrade": "pending-upgrade", "rollback": "pending-rollback"}


def rows(db, namespace=None, name=None):
    """Every row of ``releases_v1`` (dicts; ``body`` included), oldest revision first."""
    where, params = ["true"], []
    if namespace:
        where.append("namespace = %s")
        params.append(namespace)
    if name:
        where.append("name = %s")
        params.append(name)
    return db.execute("SELECT *, xmin::text AS row_version FROM releases_v1 WHERE %s ORDER BY namespace, name, "
                      "version" % " AND ".join(where), params)


def newest(db, namespace, name):
    """(revision, status) of the newest row of a release, or None."""
    found = db.execute("SELECT version, status FROM releases_v1 WHERE namespace = %s AND name = %s "
                       "ORDER BY version DESC LIMIT 1", (namespace, name))
    return (found[0]["version"], found[0]["status"]) if found else None


def history(db, namespace, name):
    """[(revision, status)] oldest first, from the rows (what ``helm history`` shows)."""
    return [(r["version"], r["status"]) for r in rows(db, namespace, name)]


def decode_body(body):
    raw = base64.b64decode(body)
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def encode_body(release):
    return base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()


def claim_labels(db, namespace, name, revision):
    """{key: value} of the custom labels of one row that are ours (helmops.unstick/...)."""
    key = helmfix.record_name(name, revision)
    return dict((r["key"], r["value"]) for r in db.execute(
        "SELECT key, value FROM custom_labels_v1 WHERE releasekey = %s AND releasenamespace = %s "
        "AND key LIKE 'helmops.unstick/%%'", (key, namespace)))


def age_release(db, namespace, name, revision, seconds):
    """Make one row look ``seconds`` old on the database server's clock: ``createdat``, ``modifiedat``
    (when Helm set it; 0 means never updated) and the body's ``info.last_deployed``."""
    key = helmfix.record_name(name, revision)
    row = db.execute("SELECT body, extract(epoch FROM now())::bigint AS now FROM releases_v1 "
                     "WHERE key = %s AND namespace = %s", (key, namespace))
    assert row, "no row %s in %s" % (key, namespace)
    then = int(row[0]["now"]) - int(seconds)
    release = decode_body(row[0]["body"])
    release.setdefault("info", {})["last_deployed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(then))
    db.execute("UPDATE releases_v1 SET createdat = %s, modifiedat = CASE WHEN modifiedat > 0 THEN %s ELSE 0 END, "
               "body = %s WHERE key = %s AND namespace = %s", (then, then, encode_body(release), key, namespace))


def _start(helm, op, name, namespace, chart=None, revision=None, values=None):
    """Start ``op`` with either kind of Helm: the SDK (helmfix.HelmEnv) or a real CLI (realhelm.RealHelm)."""
    if isinstance(helm, helmfix.HelmEnv):
        kw = {"revision": revision} if op == "rollback" else {"chart": str(chart or helmfix.CHART), "values": values}
        return helm.start(op, name, namespace, **kw)
    return helm.start(op, name, namespace, chart=chart, revision=revision, values=values)


def waiting_updates(db, application=None):
    """Backends of this database whose UPDATE of releases_v1 waits for a lock (of ``application`` only:
    helm_unstick connects as ``helmops.unstick``)."""
    found = db.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE releases_v1%%'")
    return [r for r in found if application is None or r["application_name"] == application]


class RowLock:
    """``SELECT … FOR UPDATE`` of one row in an open transaction, as another writer holds it."""

    def __init__(self, db, namespace, name, revision):
        self.conn = db.connect()
        self.tx = self.conn.transaction()
        self.tx.__enter__()
        found = self.conn.execute("SELECT key FROM releases_v1 WHERE key = %s AND namespace = %s FOR UPDATE",
                                  (helmfix.record_name(name, revision), namespace)).fetchall()
        assert found, "no row %s.v%s in %s to lock" % (name, revision, namespace)

    def release(self):
        if self.conn is not None:
            try:
                self.tx.__exit__(None, None, None)
            except Exception:   # the server may have been restarted under us
                pass
            self.conn.close()
            self.conn = None


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("%s did not happen in %ss" % (what, timeout))
        time.sleep(0.05)


def start_blocked(helm, db, op, name, namespace, chart=None, revision=None, timeout=90):
    """Start a real ``upgrade``/``rollback`` and return (proc, lock) once its new revision is recorded
    ``pending-*`` and Helm waits, blocked on our lock, to mark the previous one superseded: a live
    operation. ``lock.release()`` lets it finish; SIGKILL it first to leave the release stuck."""
    before = newest(db, namespace, name)
    assert before, "%s/%s has no revision to %s from" % (namespace, name, op)
    lock = RowLock(db, namespace, name, before[0])
    proc = _start(helm, op, name, namespace, chart=chart, revision=revision)
    try:
        def blocked():
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError("real Helm %s %s/%s ended (rc=%s) before it blocked: %s %s"
                                     % (op, namespace, name, proc.returncode, out, err))
            return newest(db, namespace, name) == (before[0] + 1, EXPECT[op]) and waiting_updates(db)
        wait_for(blocked, timeout, "real Helm %s %s/%s waiting on the row lock" % (op, namespace, name))
    except BaseException:
        kill(proc)
        lock.release()
        raise
    return proc, lock


def kill(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def make_stuck(helm, kube, db, op, name, namespace, chart=None, revision=None, values=None):
    """Leave the release stuck ``pending-<op>`` by killing real Helm mid-operation; returns the revision."""
    if op == "install":
        return _stuck_install(helm, kube, db, name, namespace, chart, values)
    proc, lock = start_blocked(helm, db, op, name, namespace, chart=chart, revision=revision)
    try:
        kill(proc)
        # the server sees the client gone and aborts its UPDATE (client_connection_check_interval)
        wait_for(lambda: not waiting_updates(db), 10, "the killed Helm's UPDATE to be dropped")
    finally:
        lock.release()
    rev, status = newest(db, namespace, name)
    assert status == EXPECT[op], "after killing helm %s: %s" % (op, status)
    return rev


def _stuck_install(helm, kube, db, name, namespace, chart, values):
    # helm 3 creates the chart's objects (POST); helm 4 and the SDK apply them server-side (PATCH)
    method = "POST" if getattr(helm, "major", 4) == 3 else "PATCH"
    path = (r"/namespaces/%s/configmaps(\?|$)" % namespace if method == "POST"
            else r"/namespaces/%s/configmaps/%s-config(\?|$)" % (namespace, name))
    proc = _start(helm, "install", name, namespace, chart=chart, values=values)
    helmfix.interrupt(kube, proc, {"method": method, "path": path}, "install %s/%s" % (namespace, name))
    assert newest(db, namespace, name) == (1, "pending-install"), newest(db, namespace, name)
    return 1
