# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PostgreSQL's errors in the statuses the runner knows, and which reads are retried."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import database
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.conninfo import SqlConnection
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import Database, classify_error


@pytest.mark.parametrize("sqlstate, text, status, words", [
    ("28P01", 'connection failed: connection to server at "h", port 5432 failed: FATAL:  password authentication '
              'failed for user "helm"', 401, 'password authentication failed for user "helm" (SQLSTATE 28P01)'),
    ("42501", "permission denied for table releases_v1", 403, "permission denied for table releases_v1"),
    ("42P01", 'relation "releases_v1" does not exist', 404, "does not exist"),
    ("57014", "canceling statement due to statement timeout", 504, "statement timeout (SQLSTATE 57014)"),
    ("57P01", "terminating connection due to administrator command", 503, "administrator command"),
    ("40P01", "deadlock detected", 500, "deadlock detected (SQLSTATE 40P01)"),
    (None, 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the '
           'server running', 0, 'cannot reach the database: connection refused (connection to server at'),
    (None, "consuming input failed: server closed the connection unexpectedly", 0, "connection to the database was lost"),
])
def test_classify(sqlstate, text, status, words):
    got, dummy, message = classify_error(sqlstate, text)
    assert got == status and words in message and "\n" not in message


class FakeError(Exception):
    def __init__(self, text, sqlstate=None):
        super(FakeError, self).__init__(text)
        self.sqlstate = sqlstate


class FakeConn:
    def __init__(self, script):
        self.script, self.closed, self.broken = script, False, False

    def execute(self, sql, params=None):
        if "pg_settings" in sql:
            return FakeCursor([{"ms": 0}])
        if "set_config" in sql:
            return FakeCursor([])
        step = self.script.pop(0)
        if isinstance(step, Exception):
            self.broken = True
            raise step
        return FakeCursor(step)

    def close(self):
        self.closed = True


class FakeCursor:
    def __init__(self, rows):
        self.rows, self.description = rows, True

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0]


class FakePsycopg:
    Error = FakeError

    class rows:
        dict_row = object()

    def __init__(self, connects):
        self.connects = connects

    def connect(self, **kwargs):
        step = self.connects.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def session(monkeypatch, connects):
    fake = FakePsycopg(connects)
    monkeypatch.setattr(database, "_psycopg", lambda: fake)
    slept = []
    return Database(SqlConnection("host=h user=u", "x", {}), 60, sleep=slept.append), slept


def test_a_read_is_retried_after_the_server_restarted(monkeypatch):
    lost = FakeError("terminating connection due to administrator command", "57P01")
    db, slept = session(monkeypatch, [FakeConn([[{"a": 1}], lost]), FakeConn([[{"a": 2}]])])
    assert db.read("SELECT a") == [{"a": 1}]
    assert db.read("SELECT a") == [{"a": 2}] and slept == [0.25]


def test_a_server_that_never_answered_is_not_retried(monkeypatch):
    db, slept = session(monkeypatch, [FakeError("connection failed: Connection refused")])
    with pytest.raises(database.DatabaseError) as err:
        db.read("SELECT 1")
    assert err.value.status == 0 and "connection refused" in err.value.describe() and slept == []


def test_other_errors_are_not_retried(monkeypatch):
    db, slept = session(monkeypatch, [FakeConn([FakeError("permission denied for table releases_v1", "42501")])])
    with pytest.raises(database.DatabaseError) as err:
        db.read("SELECT 1")
    assert (err.value.status, err.value.forbidden, slept) == (403, True, [])
    assert err.value.describe() == "database h:5432/u: permission denied for table releases_v1 (SQLSTATE 42501)"
