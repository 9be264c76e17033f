# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input and faults on Helm's ``sql`` storage driver, each on a real PostgreSQL with releases real Helm
left stuck: wrong password, database unreachable, a role without UPDATE, the server restarted mid-run, a
statement timeout, a concurrent Helm write between scan and write, a corrupt ``body``. After each: the
report says what happened, no row is lost or half-written, and a later run converges."""

import json
import os
import subprocess
import time

import pytest

import helmfix
from helmfix import sql as hsql
from pgserver import free_port
from playbook_run import ModuleRun, module_command

pytestmark = pytest.mark.slow


def stuck_upgrades(kube, db, env, names, namespace="shop"):
    """Releases whose newest revision real Helm left pending-upgrade, an hour old: {name: revision}."""
    revs = {}
    for name in names:
        env.install(name, namespace)
        revs[name] = hsql.make_stuck(env, kube, db, "upgrade", name, namespace)
        hsql.age_release(db, namespace, name, revs[name], 3600)
    return revs


class Ledger:
    """Every row before a fault; ``check`` says no row was lost and only the expected releases changed."""

    def __init__(self, db):
        self.db = db
        self.before = self._rows()

    def _rows(self):
        return dict(((r["namespace"], r["key"]), (r["name"], r["status"], r["body"])) for r in hsql.rows(self.db))

    def check(self, changed=(), added=0):
        after = self._rows()
        assert set(self.before) <= set(after), "rows lost: %s" % sorted(set(self.before) - set(after))
        assert len(after) == len(self.before) + added, (len(after), len(self.before), added)
        moved = set(name for key, (name, status, body) in after.items() if self.before.get(key) != (name, status, body))
        assert moved == set(changed), (moved, changed)
        for key, (name, status, body) in after.items():
            if key in self.before and self.before[key][2] == body:
                continue
            assert hsql.decode_body(body)["info"]["status"] == status   # every written body is whole
        return after


def start_module(tmp_path, args):
    """helm_unstick through ansible-playbook in the background; ``finish(proc)`` gives its ModuleRun."""
    work = tmp_path / ("bg-%d" % len(list(tmp_path.glob("bg-*"))))
    cmd = module_command(work, args, result=work / "result.json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(work))
    proc.result_path = work / "result.json"
    return proc


def finish(proc, timeout=180):
    proc.stdout_text, proc.stderr_text = proc.communicate(timeout=timeout)
    proc.stdout, proc.stderr = proc.stdout_text, proc.stderr_text
    return ModuleRun(json.loads(proc.result_path.read_text()), proc)


def wait_blocked(db, proc, timeout=90):
    """Until the module's UPDATE waits on a row lock (PostgreSQL's own view of it)."""
    deadline = time.time() + timeout
    while not hsql.waiting_updates(db, "helmops.unstick"):
        assert proc.poll() is None, "the module ended before it blocked: %s" % (proc.communicate(),)
        assert time.time() < deadline, "the module never waited on the lock"
        time.sleep(0.05)


def states(run):
    return [(e["name"], e["state"]) for e in run["releases"]]


@pytest.mark.parametrize("fault", ["wrong password", "unreachable", "no such database"])
def test_connection_faults_fail_clearly_and_write_nothing(kube, pg, sqldb, sql_env, unstick, sql_args, fault):
    stuck_upgrades(kube, sqldb, sql_env, ["web"])
    book = Ledger(sqldb)
    dsn, words = {
        "wrong password": (sqldb.dsn.replace(sqldb.password, "not-the-password"),
                           'password authentication failed for user "%s"' % sqldb.role),
        "unreachable": (sqldb.dsn.replace(":%d/" % pg.port, ":%d/" % free_port()),
                        "cannot reach the database: connection refused"),
        "no such database": (sqldb.dsn.replace("/%s?" % sqldb.name, "/nope?"), 'database "nope" does not exist'),
    }[fault]
    started = time.time()
    run = unstick(sql_args(strategy="unlock", sql_connection_string=dsn))
    assert run["failed"], run.text
    assert run["msg"].startswith("cluster localkube: cannot scan Helm releases: database %s" % (
        sqldb.label + ":" if fault == "wrong password" else "127.0.0.1:")), run["msg"]
    assert words in run["msg"] and "cannot scan Helm releases" in run["msg"], run["msg"]
    assert "not-the-password" not in run.text and sqldb.password not in run.text
    assert time.time() - started < 30            # a refused connection is not retried
    book.check()


def test_role_without_update_is_refused_and_writes_nothing(kube, pg, sqldb, sql_env, unstick, sql_args):
    """A reporting role may read (a policy lets it through row-level security) but not write: the report
    works, every write is refused naming the reason, and neither the rows nor helm were touched."""
    revs = stuck_upgrades(kube, sqldb, sql_env, ["web", "api"])
    pg.create_role("reader", "reader-pw",
                   "REVOKE ALL ON releases_v1, custom_labels_v1 FROM PUBLIC",
                   "GRANT SELECT ON releases_v1, custom_labels_v1 TO reader",
                   "CREATE POLICY reader_reads ON releases_v1 FOR SELECT TO reader USING (true)",
                   "CREATE POLICY reader_reads ON custom_labels_v1 FOR SELECT TO reader USING (true)",
                   database=sqldb)
    reader = sqldb.dsn.replace("%s:%s@" % (sqldb.role, sqldb.password), "reader:reader-pw@")
    book = Ledger(sqldb)
    report = unstick(sql_args(remediate=False, sql_connection_string=reader))
    assert not report.get("failed") and states(report) == [("api", "stuck"), ("web", "stuck")], report.text
    # rollback: its claim (the UPDATE, then our custom labels, one transaction) is refused before helm runs
    run = unstick(sql_args(strategy="rollback", sql_connection_string=reader))
    assert run["failed"], run.text
    assert states(run) == [("api", "refused"), ("web", "refused")], run.text
    for entry in run["releases"]:
        assert "permission denied for table releases_v1" in entry["reason"], entry["reason"]
        assert entry["reason"].endswith("nothing written") and entry["changed"] is False
    book.check()                                        # no row changed, helm rollback never ran
    assert [hsql.newest(sqldb, "shop", n) for n in ("api", "web")] == [
        (revs["api"], "pending-upgrade"), (revs["web"], "pending-upgrade")]
    pg.create_role("stranger", "stranger-pw", "GRANT SELECT ON releases_v1, custom_labels_v1 TO stranger",
                   database=sqldb)
    hidden = unstick(sql_args(remediate=False, sql_connection_string=sqldb.dsn.replace(
        "%s:%s@" % (sqldb.role, sqldb.password), "stranger:stranger-pw@")))
    assert hidden["failed"] and "role stranger sees no row of releases_v1: row-level security" in hidden["msg"]


def test_server_restarted_mid_run(tmp_path, kube, pg, sqldb, sql_env, sql_args):
    """PostgreSQL restarts while the module's write of the second release waits: that write is cut (and
    said so, nothing written), the third release is done on the restarted server, the next run does the
    second; no row lost."""
    stuck_upgrades(kube, sqldb, sql_env, ["a", "b", "c"])
    book = Ledger(sqldb)
    lock = hsql.RowLock(sqldb, "shop", "b", hsql.newest(sqldb, "shop", "b")[0])
    proc = start_module(tmp_path, sql_args(strategy="unlock"))
    try:
        wait_blocked(sqldb, proc)
        pg.restart()
    finally:
        lock.release()
    run = finish(proc)
    assert states(run) == [("a", "remediated"), ("b", "failed"), ("c", "remediated")], run.text
    [b] = [e for e in run["releases"] if e["name"] == "b"]
    assert "terminating connection due to administrator command" in b["reason"], b["reason"]
    assert b["reason"].endswith("nothing written") and b["changed"] is False
    book.check(changed={"a", "c"})
    again = unstick_run(tmp_path, sql_args(strategy="unlock"))
    assert not again.get("failed") and states(again) == [("b", "remediated")], again.text
    book.check(changed={"a", "b", "c"})


def unstick_run(tmp_path, args):
    return finish(start_module(tmp_path, args))


def test_statement_timeout_cuts_a_blocked_write_and_writes_nothing(tmp_path, kube, pg, sqldb, sql_env, sql_args):
    """The role's statement_timeout (a DBA's 1 s) is kept, the module's request_timeout is longer: a write
    stuck behind another session's lock is cancelled by the server, reported, and nothing is written."""
    stuck_upgrades(kube, sqldb, sql_env, ["web"])
    with pg.admin(sqldb.name) as admin:
        admin.execute('ALTER ROLE "%s" SET statement_timeout = \'1s\'' % sqldb.role)
    book = Ledger(sqldb)
    lock = hsql.RowLock(sqldb, "shop", "web", hsql.newest(sqldb, "shop", "web")[0])
    try:
        started = time.time()
        run = unstick_run(tmp_path, sql_args(strategy="unlock", request_timeout="60s"))
        assert time.time() - started < 30
    finally:
        lock.release()
    assert states(run) == [("web", "failed")], run.text
    reason = run["releases"][0]["reason"]
    assert "canceling statement due to statement timeout (SQLSTATE 57014)" in reason and reason.endswith(
        "nothing written"), reason
    book.check()
    again = unstick_run(tmp_path, sql_args(strategy="unlock"))
    assert states(again) == [("web", "remediated")], again.text


def test_concurrent_helm_write_between_scan_and_write_is_a_conflict(tmp_path, kube, sqldb, sql_env, sql_args):
    """A live ``helm upgrade`` of b that looks stuck (its --wait has run for an hour) finishes after the
    module read b and before it writes: the conditional UPDATE finds the row changed, writes nothing and
    says so; Helm's own outcome stands."""
    revs = stuck_upgrades(kube, sqldb, sql_env, ["a"])
    sql_env.install("b", "shop")
    helm_b, held_b = hsql.start_blocked(sql_env, sqldb, "upgrade", "b", "shop")   # alive, waiting on the database
    hsql.age_release(sqldb, "shop", "b", 2, 3600)
    held_a = hsql.RowLock(sqldb, "shop", "a", revs["a"])   # holds the module at its first write, b already read
    proc = start_module(tmp_path, sql_args(strategy="unlock"))
    try:
        wait_blocked(sqldb, proc)
        held_b.release()                                    # Helm goes on: b's revision 2 becomes deployed
        out, err = helm_b.communicate(timeout=120)
        assert helm_b.returncode == 0, err
    finally:
        held_b.release()
        held_a.release()
    run = finish(proc)
    assert states(run) == [("a", "remediated"), ("b", "refused")], run.text
    reason = run["releases"][1]["reason"]
    assert "the record changed since it was read" in reason and reason.endswith("nothing written"), reason
    assert hsql.history(sqldb, "shop", "b") == [(1, "superseded"), (2, "deployed")]   # as Helm left it
    assert not hsql.claim_labels(sqldb, "shop", "b", 2)
    sql_env.upgrade("b", "shop")
    assert hsql.newest(sqldb, "shop", "b") == (3, "deployed")


def test_corrupt_body_is_reported_and_left_alone(tmp_path, kube, sqldb, sql_env, unstick, sql_args):
    revs = stuck_upgrades(kube, sqldb, sql_env, ["good", "bad"])
    sqldb.execute("UPDATE releases_v1 SET body = 'not base64!' WHERE key = %s",
                  (helmfix.record_name("bad", revs["bad"]),))
    book = Ledger(sqldb)
    run = unstick(sql_args(strategy="unlock", fail_on_error=False))
    assert not run.get("failed"), run.text
    assert states(run) == [("bad", "error"), ("good", "remediated")], run.text
    bad = [e for e in run["releases"] if e["name"] == "bad"][0]
    assert "corrupt record (revision %d): not base64" % revs["bad"] in bad["reason"], bad["reason"]
    book.check(changed={"good"})                            # the corrupt row is byte for byte as it was
    strict = unstick(sql_args(strategy="unlock"))
    assert strict["failed"] and "corrupt record" in strict["msg"]


def test_missing_psycopg_is_named_before_anything_is_read(tmp_path, kube, sqldb, sql_env, unstick, sql_args):
    """A module host without psycopg: the task fails naming the package, nothing is asked of the database."""
    stuck_upgrades(kube, sqldb, sql_env, ["web"])
    book = Ledger(sqldb)
    shadow = tmp_path / "no-psycopg" / "psycopg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named psycopg (hidden by the test)')\n")
    run = unstick(sql_args(strategy="unlock"), env={"PYTHONPATH": os.pathsep.join(
        [str(shadow.parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])})
    assert run["failed"] and "psycopg[binary] (storage_driver=sql)" in run["msg"], run.text
    assert run["storage_driver"] == "sql" and run["database"] == sqldb.label
    book.check()
