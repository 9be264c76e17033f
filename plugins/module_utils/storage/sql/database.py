# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One PostgreSQL session (psycopg 3) to Helm's SQL storage, with the module's timeouts.

Reads are retried, after reconnecting, when the connection to a server that
had answered was lost or the server went away (a restart), a few times with a
short back-off, never past the cluster's deadline: they change nothing. A
server that never answered fails at once (wrong host, port or firewall). Writes are never retried: each is
one transaction whose conditional UPDATE the caller checked, and a write whose
answer was lost may have landed, which only a new read can tell.

Errors become ``DatabaseError``, a ``StorageError`` (as the API's ``ApiError``) with the status the runner
already understands (409 conflict, 401/403 refused, 0 no answer), so a
database problem is reported as its Kubernetes counterpart would be.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError

#: seconds between read attempts after a lost connection (a restarting server takes about a second)
READ_BACKOFF = (0.25, 0.5, 1.0, 2.0)

#: SQLSTATE (or its class, two characters) → (status the runner understands, short reason)
_SQLSTATES = (
    ("28P01", 401, "password authentication failed"),
    ("28", 401, "not allowed to connect"),
    ("42501", 403, "permission denied"),
    ("42P01", 404, "no such table"),
    ("3D000", 404, "no such database"),
    ("57014", 504, "statement timeout"),
    ("57P", 503, "the server shut the session down"),
    ("08", 0, "connection failure"),
)

#: what libpq says when there is no server answer → the cause in plain words (first match wins)
_NO_ANSWER = (
    ("Connection refused", "cannot reach the database: connection refused"),
    ("timeout expired", "cannot reach the database: no answer in time (connect_timeout)"),
    ("could not translate host name", "cannot reach the database: host name not found"),
    ("No route to host", "cannot reach the database: no route to host"),
    ("server closed the connection", "the connection to the database was lost"),
    ("consuming input failed", "the connection to the database was lost"),
    ("the connection is closed", "the connection to the database was lost"),
    ("the connection is lost", "the connection to the database was lost"),
    ("SSL", "TLS to the database failed (sslmode)"),
)


class DatabaseError(StorageError):
    """A failed statement or connection. ``status`` as every StorageError (0: no answer, so a write may or may not
    have landed); ``database``: host:port/dbname; ``sqlstate``: PostgreSQL's code, if it answered."""

    def __init__(self, status, reason, message, database, sqlstate=None):
        super(DatabaseError, self).__init__(status, reason, message, database)
        self.database = database
        self.sqlstate = sqlstate

    def describe(self, server=None):
        return "database %s: %s" % (self.database, self.message)


def classify_error(sqlstate, text):
    """(status, reason, message) for a PostgreSQL error: its SQLSTATE (None when the server did not
    answer) and libpq's text."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "unknown error"
    if "FATAL:" in first:      # libpq's "connection to server at ... failed: FATAL:  <the server's reason>"
        first = first.split("FATAL:", 1)[1].strip()
    if sqlstate:
        for prefix, status, reason in _SQLSTATES:
            if sqlstate.startswith(prefix):
                return status, reason, "%s (SQLSTATE %s)" % (first, sqlstate)
        return 500, "database error", "%s (SQLSTATE %s)" % (first, sqlstate)
    if first.startswith("connection failed: "):     # psycopg's prefix to libpq's own words
        first = first[len("connection failed: "):]
    for needle, cause in _NO_ANSWER:
        if needle in (text or ""):
            return 0, "no answer", "%s (%s)" % (cause, first)
    return 0, "no answer", first


def _psycopg():
    import psycopg  # noqa: F401 - the module checks it is installed before it gets here
    import psycopg.rows
    return psycopg


class Database:
    """A lazy session to ``conninfo`` (a SqlConnection). ``request_timeout``: seconds for connecting and
    for each statement (PostgreSQL's statement_timeout, unless the role or the string sets a shorter one);
    ``deadline``: the cluster's Deadline. ``statements`` counts what was sent (for tests and the bench)."""

    def __init__(self, conninfo, request_timeout, deadline=None, sleep=time.sleep):
        self.conninfo = conninfo
        self.request_timeout = request_timeout
        self.deadline = deadline
        self.sleep = sleep
        self.conn = None
        self.statements = 0
        self.was_connected = False   # reads are retried only on a server that answered before

    @property
    def label(self):
        return self.conninfo.label

    def _error(self, exc):
        status, reason, message = classify_error(getattr(exc, "sqlstate", None), str(exc))
        return DatabaseError(status, reason, message, self.label, getattr(exc, "sqlstate", None))

    def _seconds(self):
        if self.deadline is None:
            return self.request_timeout
        return self.deadline.cap(self.request_timeout)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken session
                pass
        self.conn = None

    def _open(self):
        psycopg = _psycopg()
        seconds = self._seconds()
        if seconds <= 0:
            raise DatabaseError(0, "not sent", "not sent: %s" % self.deadline.describe(), self.label)
        try:
            conn = psycopg.connect(autocommit=True, row_factory=psycopg.rows.dict_row,
                                   **self.conninfo.connect_kwargs(seconds))
        except psycopg.Error as exc:
            raise self._error(exc)
        try:
            # statement_timeout is in ms; 0 means none: keep a shorter one the role or the string set
            current = conn.execute("SELECT setting::bigint AS ms FROM pg_settings "
                                   "WHERE name = 'statement_timeout'").fetchone()["ms"]
            wanted = int(self.request_timeout * 1000)
            if not current or current > wanted:
                conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(wanted),))
        except psycopg.Error as exc:
            conn.close()
            raise self._error(exc)
        self.conn = conn
        self.was_connected = True

    def _session(self):
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.close()
            self._open()
        return self.conn

    def read(self, sql, params=None):
        """All rows (dicts) of one SELECT; retried after a lost connection or a server restart."""
        psycopg = _psycopg()
        for attempt in range(len(READ_BACKOFF) + 1):
            try:
                conn = self._session()
                self.statements += 1
                return conn.execute(sql, params).fetchall()
            except (psycopg.Error, DatabaseError) as exc:
                err = exc if isinstance(exc, DatabaseError) else self._error(exc)
                if err.status not in (0, 503) or not self.was_connected or attempt == len(READ_BACKOFF) \
                        or err.reason == "not sent":
                    raise err
                self.close()
                pause = READ_BACKOFF[attempt]
                if self.deadline is not None and not self.deadline.allows(pause):
                    raise err
                self.sleep(pause)

    def write(self, steps):
        """Run ``steps(execute)`` in one transaction, never retried; ``execute(sql, params)`` returns the
        rows of one statement. Whatever ``steps`` raises rolls the transaction back."""
        psycopg = _psycopg()
        self.read("SELECT 1 AS alive")   # a session the server killed while idle is replaced, not written on
        conn = self.conn

        def execute(sql, params=None):
            self.statements += 1
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        try:
            with conn.transaction():
                return steps(execute)
        except psycopg.Error as exc:
            raise self._error(exc)
