# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""helm_unstick's options, checked once, before the first request or write.

``validate`` turns the module params into ``Settings`` or raises
``OptionError`` naming the option and its value. Nothing else parses
durations or second-guesses option values later on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import parse_duration
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import OptionError
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import parse_version
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC, resolve_options
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import resolve_driver
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import UNSTICK_ARG_SPEC
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import conninfo

Settings = namedtuple("Settings", [
    "driver",            # "secret" | "configmap" | "sql"
    "min_age",           # seconds
    "timeout",           # seconds, for helm
    "request_timeout",   # seconds, for each API answer
    "max_remediations",  # int or None
    "backup_dir",        # absolute path or None
    "cluster_timeout",   # seconds, for the whole run on the cluster (requests, retries, helm)
    "sql",               # sql driver: the sql.conninfo.SqlConnection (scan and helm), else None
    "backup",            # tuple of "file" and/or "cluster": where each record is saved before a write
    "backup_keep",       # runs of cluster backups kept per release
    "events",            # bool: a Kubernetes Event per remediation, refusal and resume
    "liveness_checks",   # bool: look for signs of a live operation before acting on an old pending revision
    "tidy_history",      # bool: after a rollback, mark older pending revisions left in history failed
    "connection",        # dict: the connection options (cluster.connection.AUTH_ARG_SPEC) as given
    "helm_binary",       # str: helm's name on PATH, or its path
    "namespaces",        # tuple: namespace names or globs to scan (empty: all)
    "exclude_namespaces",
    "releases",          # tuple: release names or globs to look at (empty: all)
    "exclude_releases",
    "remediate",         # bool: act on what is stuck (else report only)
    "strategy",          # "rollback" | "unlock": for pending-upgrade/pending-rollback
    "pending_install",   # "unlock" | "uninstall": for pending-install
    "wait",              # bool: helm --wait
    "fail_on_error",     # bool: a problem fails the module
    "run_id",            # str: this run's id (the role gives every cluster of a playbook run the same), or None
], defaults=(None, (), 5, True, True, False, None, "helm", (), (), (), (), True, "rollback", "unlock", True, True,
             None))

# a run id goes into backup objects' names and labels: a DNS label's characters, at most 40 of them
_RUN_ID_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")

_BARE_NUMBER = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*$")

#: where backups can go (``backup``): files under backup_dir, or objects in the release's namespace
BACKUP_PLACES = ("file", "cluster")

# a namespace name (DNS-1123 label) or a glob made of its characters and * ? [ ]
_NAMESPACE_PATTERN = re.compile(r"^[a-z0-9*?\[\]!-]([a-z0-9*?\[\]!.-]{0,251}[a-z0-9*?\]-])?$|^[*?]$")


def _duration(params, option, minimum, unit_required=False):
    value = params.get(option)
    if unit_required and isinstance(value, str) and _BARE_NUMBER.match(value):
        # "5" from -e, an INI inventory or a survey: seconds or minutes? A wrong guess touches live deploys
        raise OptionError(option, value, "%r has no unit: write %ss for seconds, %sm for minutes or %sh for hours "
                          "(a YAML number, not a string, is seconds)" % (value, value.strip(), value.strip(),
                                                                         value.strip()))
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise OptionError(option, value, str(err))
    if seconds < minimum:
        raise OptionError(option, value, "must be at least %d second%s, got %r"
                          % (minimum, "" if minimum == 1 else "s", value))
    return seconds


def _writable_dir(option, value):
    """``value`` is a directory we can write backups into, or one we can create."""
    path = os.path.abspath(os.path.expanduser(value))
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise OptionError(option, value, "%s is not a directory" % probe)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OptionError(option, value, "directory %s is not writable" % probe)
    return path


#: connection options that only make sense together: (option, the one it needs, why)
_CONNECTION_PAIRS = (
    ("client_cert", "client_key", "a client certificate needs its key"),
    ("client_key", "client_cert", "a client key needs its certificate"),
    ("username", "password", "basic auth needs both"),
    ("password", "username", "basic auth needs both"),
    ("impersonate_groups", "impersonate_user", "Kubernetes impersonates groups only together with a user"),
)


def _connection_combinations(params, environ):
    """Pairs of connection options (each from its option or its K8S_AUTH_* variable) are complete."""
    options = resolve_options(params, environ)
    for option, needed, why in _CONNECTION_PAIRS:
        if options.get(option) and not options.get(needed):
            shown = "(set)" if option == "password" else options.get(option)   # never a secret's value
            raise OptionError(option, shown, "%s is set but %s is not: %s" % (option, needed, why))


def validate(params, environ=None):
    """``Settings`` for ``params`` (the module's), or OptionError."""
    environ = os.environ if environ is None else environ
    params = dict(dict((k, v.get("default")) for k, v in UNSTICK_ARG_SPEC.items()), **params)
    driver = _driver(params, environ)
    min_age = _duration(params, "min_age", 0, unit_required=True)
    timeout = _duration(params, "timeout", 1)
    request_timeout = _duration(params, "request_timeout", 1)
    cluster_timeout = _duration(params, "cluster_timeout", 1)
    limit = params.get("max_remediations")
    if limit is not None and limit < 0:
        raise OptionError("max_remediations", limit, "must be 0 or more, got %r" % (limit,))
    for option in ("namespaces", "exclude_namespaces"):
        for pattern in params.get(option) or []:
            if not isinstance(pattern, str) or not _NAMESPACE_PATTERN.match(pattern):
                raise OptionError(option, pattern, "%r is not a namespace name or glob "
                                  "(lower-case letters, digits, '-', and * ? [ ])" % (pattern,))
    for option in ("releases", "exclude_releases"):
        for pattern in params.get(option) or []:
            if not isinstance(pattern, str) or not pattern.strip():
                raise OptionError(option, pattern, "empty release name or glob")
    backup_dir = params.get("backup_dir")
    if backup_dir:
        backup_dir = _writable_dir("backup_dir", backup_dir)
    backup = _backup_places(params, driver, backup_dir)
    keep = params.get("backup_keep")
    if keep is None or isinstance(keep, bool) or keep < 1:
        raise OptionError("backup_keep", keep, "must be 1 or more (runs of backups kept per release), got %r" % (keep,))
    run_id = params.get("run_id") or None
    if run_id is not None and not _RUN_ID_PATTERN.match(run_id):
        raise OptionError("run_id", run_id, "must be 1 to 40 lower-case letters, digits and '-' (it names backup "
                          "objects), got %r" % (run_id,))
    _connection_combinations(params, environ)
    sql = _sql_connection(params, environ) if driver == "sql" else None
    return Settings(driver, min_age, timeout, request_timeout, limit, backup_dir, cluster_timeout, sql, backup,
                    keep, bool(params.get("events", True)), bool(params.get("liveness_checks", True)),
                    bool(params.get("tidy_history", False)), connection_options(params), params["helm_binary"],
                    tuple(params.get("namespaces") or ()), tuple(params.get("exclude_namespaces") or ()),
                    tuple(params.get("releases") or ()), tuple(params.get("exclude_releases") or ()),
                    bool(params["remediate"]), params["strategy"], params["pending_install"], bool(params["wait"]),
                    bool(params["fail_on_error"]), run_id)


def connection_options(params):
    """The connection options of ``params`` as given (the session resolves them)."""
    return dict((option, params.get(option)) for option in AUTH_ARG_SPEC)


def _backup_places(params, driver, backup_dir):
    """``backup`` as a tuple; unset means files when backup_dir is set (as before), else none."""
    places = params.get("backup")
    if places is None:
        return ("file",) if backup_dir else ()
    out = []
    for place in places:
        if place not in BACKUP_PLACES:
            raise OptionError("backup", place, "must be %s, got %r" % (" or ".join(BACKUP_PLACES), place))
        if place not in out:
            out.append(place)
    if "file" in out and not backup_dir:
        raise OptionError("backup", "file", "file backups need backup_dir")
    if "cluster" in out and driver == "sql":
        # the sql driver's records are rows, not objects: a copy in the cluster would move them elsewhere
        raise OptionError("backup", "cluster", "the sql driver's records are database rows; back them up "
                          "with backup: [file] and backup_dir")
    return tuple(out)


def _sql_connection(params, environ):
    """The sql driver's connection: the option, else HELM_DRIVER_SQL_CONNECTION_STRING (as helm reads it).
    The string may hold a password: no message shows it."""
    option = "sql_connection_string" if params.get("sql_connection_string") else conninfo.ENV_CONNECTION_STRING
    try:
        return conninfo.resolve(params.get("sql_connection_string"), environ)
    except conninfo.ConnInfoError as err:
        missing = not params.get("sql_connection_string") and not environ.get(conninfo.ENV_CONNECTION_STRING)
        raise OptionError("sql_connection_string" if missing else option, "(unset)" if missing else "(set)",
                          str(err))


def _driver(params, environ):
    try:
        return resolve_driver(params.get("storage_driver"), environ.get("HELM_DRIVER"))
    except ValueError as err:
        option = "storage_driver" if params.get("storage_driver") else "HELM_DRIVER"
        raise OptionError(option, params.get("storage_driver") or environ.get("HELM_DRIVER"), str(err))


def validate_release(params, environ=None):
    """``(Settings, rollback_to)`` for helm_release's ``params``, or OptionError (before any request). Its
    rollback takes the guarded write path, so the options it shares with helm_unstick are checked as
    helm_unstick checks them."""
    environ = os.environ if environ is None else environ
    if _driver(params, environ) == "sql":
        raise OptionError("HELM_DRIVER", "sql", "helm_release reads release records from Kubernetes (secret or "
                          "configmap driver); Helm's sql driver is read by helm_unstick only")
    target = params.get("rollback_to")
    if target is not None and target < 1:
        raise OptionError("rollback_to", target, "must be a revision number (1 or more), got %r" % (target,))
    settings = validate(dict(params, namespaces=[params["namespace"]], releases=[params["release"]]), environ)
    return settings, target


#: the storage drivers whose records the guard reads (the release's history lives in the cluster)
GUARD_DRIVERS = ("secret", "configmap")


#: helm_guard's settings, all of them: the ones it shares with helm_unstick (``run``, what the runner takes),
#: the phase and its release, and what each phase was given
GuardSettings = namedtuple("GuardSettings", [
    "run",               # Settings: the options shared with helm_unstick, checked as helm_unstick checks them
    "phase",             # "before" | "after"
    "namespace",
    "release",
    "min_helm_version",  # (major, minor, patch or None): the oldest helm the phase before accepts
    "wait_for_pending",  # seconds the phase before waits (for its turn on the Lease, then for a pending revision)
    "take_turns",        # bool: our guarded upgrades of the release take turns on its Lease
    "lease_duration",    # seconds one holds the Lease without renewal
    "job_id",            # str: the job, for the Lease's holder
    "lease_holder",      # str: the holder the phase after gives the Lease back for
    "from_revision",     # phase after: the revision the upgrade started from (0: none), as phase before returned it
    "good_revision",     # phase after: the revision a failed upgrade goes back to, or None
    "upgrade_failure",   # phase after: the failed upgrade task's result (msg, stderr, command), or None
    "rescue",            # phase after: bool, put a failed upgrade back on good_revision
    "chart",             # phase after: the chart upgraded to, for messages
])

#: what a Lease's default duration gives the upgrade beyond helm's --timeout (the upgrade runs between phases)
LEASE_MARGIN = 120


def validate_guard(params, environ=None):
    """``GuardSettings`` for helm_guard's ``params``, or OptionError (before any request)."""
    environ = os.environ if environ is None else environ
    for option in ("namespace", "release"):
        if not (params.get(option) or "").strip():
            raise OptionError(option, params.get(option), "must not be empty")
    # the options helm_guard shares with helm_unstick are checked as helm_unstick checks them
    settings = validate(dict(params, namespaces=[params["namespace"]]), environ)
    if settings.driver not in GUARD_DRIVERS:
        raise OptionError("storage_driver", settings.driver, "the guard reads the release's records from Kubernetes "
                          "(%s driver)" % " or ".join(GUARD_DRIVERS))
    minimum = parse_version(params.get("min_helm_version") or "")
    if minimum is None:
        raise OptionError("min_helm_version", params.get("min_helm_version"), "not a version such as 3.8.0")
    if params.get("phase") == "after":
        if params.get("from_revision") is None or params["from_revision"] < 0:
            raise OptionError("from_revision", params.get("from_revision"),
                              "phase after needs the revision the upgrade started from (0: none), as phase "
                              "before returned it")
        if params.get("good_revision") is not None and params["good_revision"] < 1:
            raise OptionError("good_revision", params["good_revision"], "must be a revision number (1 or more)")
    wait = _duration(dict(params, wait_for_pending=params.get("wait_for_pending", 0)), "wait_for_pending", 0)
    lease = params.get("lease_duration")
    lease = settings.timeout + LEASE_MARGIN if lease in (None, "") else _duration(params, "lease_duration", 1)
    return GuardSettings(settings, params.get("phase"), params["namespace"], params["release"], minimum, wait,
                         bool(params.get("take_turns")), int(lease), str(params.get("job_id") or ""),
                         params.get("lease_holder") or "", params.get("from_revision"), params.get("good_revision"),
                         params.get("upgrade_failure"), bool(params.get("rescue", True)), params.get("chart") or "")


#: helm_restore's settings
RestoreSettings = namedtuple("RestoreSettings", ["driver", "source", "backup_dir", "since", "request_timeout",
                                                 "connection", "events", "namespaces", "releases", "run"])


def _since(value, now):
    """``since``: an RFC 3339 time, or a duration meaning that long ago; epoch seconds."""
    from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_time
    try:
        return parse_time(value)
    except ValueError:
        pass
    try:
        return now - parse_duration(value)
    except ValueError:
        raise OptionError("since", value, "neither a time (2026-12-03T10:00:00Z) nor a duration ago (2h, 30m)")


def validate_restore(params, environ=None, now=None):
    """``RestoreSettings`` for helm_restore's ``params``, or OptionError (before any request)."""
    import time
    environ = os.environ if environ is None else environ
    driver = _driver(params, environ)
    if driver == "sql":
        raise OptionError("storage_driver", "sql", "helm_restore restores records kept in Kubernetes (secret or "
                          "configmap driver); the sql driver's backups are files of single records")
    source = params.get("source") or "cluster"
    backup_dir = params.get("backup_dir")
    if source == "file":
        if not backup_dir:
            raise OptionError("backup_dir", backup_dir, "source file needs backup_dir, where helm_unstick wrote them")
        backup_dir = os.path.abspath(os.path.expanduser(backup_dir))
        if not os.path.isdir(backup_dir):
            raise OptionError("backup_dir", params.get("backup_dir"), "%s is not a directory" % backup_dir)
    for option in ("namespaces", "releases"):
        for name in params.get(option) or []:
            if not isinstance(name, str) or not name.strip() or any(ch in name for ch in "*?["):
                raise OptionError(option, name, "a restore names releases and namespaces exactly (no globs)")
    if not (params.get("releases") or params.get("run") or params.get("since")):
        raise OptionError("releases", params.get("releases"), "say what to restore: releases, run or since "
                          "(restoring everything ever backed up is not a thing to do by default)")
    since = None
    if params.get("since"):
        since = _since(str(params["since"]), time.time() if now is None else now)
    request_timeout = _duration(dict(params, request_timeout=params.get("request_timeout") or "60s"),
                                "request_timeout", 1)
    _connection_combinations(params, environ)
    return RestoreSettings(driver, source, backup_dir, since, request_timeout, connection_options(params),
                           bool(params.get("events", True)), tuple(params.get("namespaces") or ()),
                           tuple(params.get("releases") or ()), params.get("run"))
