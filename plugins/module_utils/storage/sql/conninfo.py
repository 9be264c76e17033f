# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helm's SQL connection string, resolved once for both the scan and the helm CLI.

Helm (``HELM_DRIVER=sql``) hands ``HELM_DRIVER_SQL_CONNECTION_STRING`` to Go's
lib/pq; the module's scan uses libpq (psycopg). Both read the same two forms,
a URL (``postgres://user:pw@host:5432/db?sslmode=disable``) or key/value pairs
(``host=db port=5432 user=helm sslmode=require``), and the same ``PG*``
environment variables, but their defaults differ where a setting is missing:
lib/pq connects to ``localhost`` and requires TLS, libpq tries a Unix socket
and only *prefers* TLS. So the scan is given lib/pq's defaults explicitly, and
both reach the same server the same way; helm gets the string unchanged.

Pure code, no I/O: the string is parsed here (never logged: it may hold a
password), so bad input fails before any connection is tried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import parse_qsl, unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported
    parse_qsl = unquote = urlsplit = None

#: where Helm (and so the module) takes the string from when no option gives it
ENV_CONNECTION_STRING = "HELM_DRIVER_SQL_CONNECTION_STRING"
#: what Go's lib/pq (Helm's PostgreSQL client) assumes when neither the string nor PG* sets it
LIBPQ_GO_DEFAULTS = (("host", "PGHOST", "localhost"), ("sslmode", "PGSSLMODE", "require"))
_URL_SCHEMES = ("postgres", "postgresql")


class ConnInfoError(ValueError):
    """The connection string cannot be read (the message never quotes it: it may hold a password)."""


def _unquoted_value(text, pos):
    """An unquoted key/value value from ``pos``: up to whitespace, backslash escapes allowed."""
    out = []
    while pos < len(text) and not text[pos].isspace():
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 1
        out.append(text[pos])
        pos += 1
    return "".join(out), pos


def _quoted_value(text, pos):
    """A single-quoted value from ``pos`` (after the quote); ``\\'`` and ``\\\\`` escape."""
    out = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == "'":
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise ConnInfoError("unterminated quoted value in the key=value connection string")


def parse_keyword_value(text):
    """``host=db port=5432 password='a b'`` → dict, as libpq and lib/pq read it."""
    params, pos = {}, 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return params
        equals = text.find("=", pos)
        if equals < 0:
            raise ConnInfoError("expected key=value pairs (or a postgres:// URL), found a word without '='")
        key = text[pos:equals].strip()
        if not key or any(c.isspace() for c in key):
            raise ConnInfoError("bad key %r in the key=value connection string" % key[:40])
        pos = equals + 1
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == "'":
            value, pos = _quoted_value(text, pos + 1)
        else:
            value, pos = _unquoted_value(text, pos)
        params[key] = value


def parse_url(text):
    """``postgres://user:pw@host:port/db?k=v`` → dict (percent-decoded)."""
    parts = urlsplit(text)
    params = {}
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, dummy, password = userinfo.partition(":")
        if user:
            params["user"] = unquote(user)
        if password:
            params["password"] = unquote(password)
    hosts, ports = [], []
    for item in netloc.split(",") if netloc else []:
        if item.startswith("["):                  # [ipv6]:port
            host, dummy, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, dummy, port = item.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    if any(hosts):
        params["host"] = ",".join(hosts)
    if any(ports):
        for port in ports:
            if port and not port.isdigit():
                raise ConnInfoError("the port in the connection URL is not a number")
        params["port"] = ",".join(ports)
    dbname = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if dbname:
        params["dbname"] = dbname
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        params[key] = value
    return params


def parse(text):
    """The connection string as a dict of libpq keywords; ConnInfoError if it cannot be read."""
    if not isinstance(text, str) or not text.strip():
        raise ConnInfoError("the connection string is empty")
    text = text.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else None
    if scheme is not None:
        if scheme not in _URL_SCHEMES:
            raise ConnInfoError("a connection URL must start with postgres:// or postgresql://, not %s://"
                                % scheme[:20])
        return parse_url(text)
    return parse_keyword_value(text)


class SqlConnection:
    """Helm's SQL storage as both the scan and helm reach it.

    ``string``: exactly what helm gets in HELM_DRIVER_SQL_CONNECTION_STRING.
    ``params``: the string's settings; ``source``: where it came from (for messages)."""

    def __init__(self, string, source, environ=None):
        self.string = string
        self.source = source
        self.params = parse(string)
        self.environ = dict(environ or {})

    def _setting(self, key, env_name):
        return self.params.get(key) or self.environ.get(env_name) or None

    def connect_kwargs(self, connect_timeout=None):
        """Keyword arguments for ``psycopg.connect``: the string's settings plus lib/pq's defaults where
        neither the string nor a PG* variable sets them, and the module's connect timeout."""
        kwargs = dict(self.params)
        for key, env_name, default in LIBPQ_GO_DEFAULTS:
            if not self._setting(key, env_name):
                kwargs[key] = default
        if connect_timeout and not self._setting("connect_timeout", "PGCONNECT_TIMEOUT"):
            kwargs["connect_timeout"] = str(max(1, int(connect_timeout)))
        kwargs.setdefault("application_name", "helmops.unstick")
        return kwargs

    @property
    def label(self):
        """``host:port/dbname`` as lib/pq would reach it: for messages and reports (never a password)."""
        host = self._setting("host", "PGHOST") or "localhost"
        port = self._setting("port", "PGPORT") or "5432"
        dbname = self._setting("dbname", "PGDATABASE") or self._setting("user", "PGUSER") or ""
        return "%s:%s/%s" % (host, port, dbname)

    @property
    def user(self):
        return self._setting("user", "PGUSER")

    @property
    def secrets(self):
        """What must be masked in anything printed: the password and the whole string."""
        return tuple(s for s in (self.params.get("password"), self.string) if s)

    def helm_environment(self):
        """What helm needs to read and write the same records: its driver and this string."""
        return {"HELM_DRIVER": "sql", ENV_CONNECTION_STRING: self.string}


def resolve(option_value, environ):
    """The SqlConnection of the ``sql_connection_string`` option, else of Helm's variable.
    Raises ConnInfoError saying where it looked or what is wrong (never the string itself)."""
    if option_value:
        string, source = option_value, "sql_connection_string"
    elif environ.get(ENV_CONNECTION_STRING):
        string, source = environ[ENV_CONNECTION_STRING], ENV_CONNECTION_STRING
    else:
        raise ConnInfoError("the sql driver needs a connection string: set sql_connection_string or %s "
                            "(as for helm)" % ENV_CONNECTION_STRING)
    try:
        return SqlConnection(string, source, environ)
    except ConnInfoError as err:
        raise ConnInfoError("%s: %s" % (source, err))
