# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helm's SQL connection string: both forms read as libpq and lib/pq read them, lib/pq's defaults made
explicit for the scan, the string unchanged for helm, the password never in a message."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import conninfo
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.conninfo import ConnInfoError, SqlConnection, parse


@pytest.mark.parametrize("text, expected", [
    ("postgres://helm:s3cret@db.example:5433/releases?sslmode=disable",
     {"user": "helm", "password": "s3cret", "host": "db.example", "port": "5433", "dbname": "releases",
      "sslmode": "disable"}),
    ("postgresql://h%40x:p%2Fw@[::1]:5432/db",
     {"user": "h@x", "password": "p/w", "host": "::1", "port": "5432", "dbname": "db"}),
    ("postgres://a,b:5433/db", {"host": "a,b", "port": ",5433", "dbname": "db"}),
    ("postgres:///helm?host=/var/run/postgresql", {"dbname": "helm", "host": "/var/run/postgresql"}),
    ("host=db port=5432 user=helm password='a b\\'c' sslmode=require",
     {"host": "db", "port": "5432", "user": "helm", "password": "a b'c", "sslmode": "require"}),
    ("  host = db   dbname=x\\ y ", {"host": "db", "dbname": "x y"}),
])
def test_both_forms(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("mysql://u:pw@h/db", "must start with postgres://"), ("host=db password='s3cret", "unterminated"),
    ("hostdb", "without '='"), ("postgres://h:port/db", "port in the connection URL is not a number"),
])
def test_bad_strings_never_quote_the_string(text, words):
    with pytest.raises(ConnInfoError) as err:
        parse(text)
    assert words in str(err.value) and "s3cret" not in str(err.value) and "pw@" not in str(err.value)


def test_lib_pq_defaults_made_explicit_unless_set_by_the_string_or_pg_variables():
    bare = SqlConnection("user=helm dbname=helm", "sql_connection_string", {})
    assert bare.connect_kwargs(7) == {"user": "helm", "dbname": "helm", "host": "localhost", "sslmode": "require",
                                      "connect_timeout": "7", "application_name": "helmops.unstick"}
    env = SqlConnection("user=helm", "x", {"PGHOST": "db", "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "3"})
    kwargs = env.connect_kwargs(7)
    assert "host" not in kwargs and "sslmode" not in kwargs and "connect_timeout" not in kwargs  # libpq reads PG*
    assert env.label == "db:5432/helm"
    given = SqlConnection("postgres://u@h:6543/d?sslmode=verify-full&connect_timeout=2", "x", {})
    assert given.connect_kwargs(60)["sslmode"] == "verify-full" and given.connect_kwargs(60)["connect_timeout"] == "2"
    assert given.label == "h:6543/d"


def test_helm_gets_the_same_string_and_the_password_is_a_secret():
    string = "postgres://helm:s3cret@db/helm?sslmode=disable"
    conn = SqlConnection(string, "sql_connection_string", {})
    assert conn.helm_environment() == {"HELM_DRIVER": "sql", "HELM_DRIVER_SQL_CONNECTION_STRING": string}
    assert set(conn.secrets) == {"s3cret", string} and "s3cret" not in conn.label


def test_resolve_option_before_helms_variable():
    env = {conninfo.ENV_CONNECTION_STRING: "host=from-env"}
    assert conninfo.resolve("host=from-option", env).params["host"] == "from-option"
    assert conninfo.resolve(None, env).source == conninfo.ENV_CONNECTION_STRING
    with pytest.raises(ConnInfoError, match="needs a connection string: set sql_connection_string or "
                                            "HELM_DRIVER_SQL_CONNECTION_STRING"):
        conninfo.resolve(None, {})
    with pytest.raises(ConnInfoError, match="^HELM_DRIVER_SQL_CONNECTION_STRING: a connection URL"):
        conninfo.resolve(None, {conninfo.ENV_CONNECTION_STRING: "mysql://x"})
