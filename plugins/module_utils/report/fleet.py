# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: every cluster's helm_unstick outcome as one model (rendered by ``report/render.py``).

Pure functions, no I/O. Input is what the ``helmops.unstick.stuck_releases``
role records per inventory host (``run_record.run_record`` of its helm_unstick result)::

    {"host": "prod-eu-1", "cluster": "prod-eu-1", "server": "https://...", "checked": true,
     "msg": "", "refused": "", "remediate": false, "check_mode": false, "actor": "ops@ctl",
     "duration_seconds": 1.2, "warnings": [...], "releases": [...]}

``releases`` is helm_unstick's one release model: every release that is not
healthy, with its ``state`` (see STATES). Every row, count, summary line and
metric of the report is built from it. Only the whitelisted fields in
``RELEASE_FIELDS`` are copied, so nothing else a record might carry (and never
release values, which helm_unstick does not return anyway) can reach a report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# helm_unstick's release states: the one list, in report/release_report.py (derived from release/state.py)
from ansible_collections.helmops.unstick.plugins.module_utils.report.release_report import (  # noqa: F401 (re-exported)
    FOUND_STATES,
    STATE_ERROR,
    STATE_FAILED,
    STATE_IN_PROGRESS,
    STATE_POSSIBLY_RUNNING,
    STATE_REFUSED,
    STATE_REMEDIATED,
    STATE_STUCK,
    STATE_UNFINISHED,
    STATE_WOULD_REMEDIATE,
    STATES,
)

FORMATS = ("json", "markdown", "html", "prom")
EXTENSIONS = {"json": "json", "markdown": "md", "html": "html", "prom": "prom"}
RELEASE_FIELDS = ("namespace", "name", "revision", "status", "age_seconds", "last_good_revision",
                  "action", "target_revision", "chart", "chart_version", "app_version")
SCHEMA_VERSION = 2

#: still locked (Helm refuses the next upgrade) after this run
LOCKED_STATES = (STATE_STUCK, STATE_UNFINISHED, STATE_WOULD_REMEDIATE, STATE_REFUSED, STATE_FAILED)
#: left alone because the operation may be live: the ``in_progress`` count, list and column (a possibly running
#: one is pending past min_age, so a CI gate fails on it: a human has to look)
IN_PROGRESS_STATES = (STATE_IN_PROGRESS, STATE_POSSIBLY_RUNNING)
#: the ``errors`` count: what went wrong for a release (a guard refusal is the cluster's, not a release's)
ERROR_STATES = (STATE_ERROR, STATE_FAILED, STATE_REFUSED)

CLUSTER_FAILED = "failed"
MODE_REPORT, MODE_CHECK, MODE_REMEDIATE = "report only", "check mode", "remediate"


# -- model ----------------------------------------------------------------
def as_text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def int_or_none(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _list(value):
    return [v for v in (value or []) if isinstance(v, dict)]


def _release(entry, cluster_name):
    out = dict((key, entry.get(key)) for key in RELEASE_FIELDS)
    for key in ("revision", "age_seconds", "last_good_revision", "target_revision"):
        out[key] = int_or_none(out[key])
    for key in ("namespace", "name", "status", "action", "chart", "chart_version", "app_version"):
        out[key] = None if out[key] is None else as_text(out[key])
    out["cluster"] = cluster_name
    return out


def run_mode(remediate, check_mode):
    if check_mode:
        return MODE_CHECK
    return MODE_REMEDIATE if remediate else MODE_REPORT


def _row(entry, cluster_name, mode, guard):
    """One report row: the release, its state, what was done (never what was not) and the result."""
    row = _release(entry, cluster_name)
    state = as_text(entry.get("state"))
    if state not in STATES:
        state = STATE_ERROR
    action = row["action"] or ""
    reason = as_text(entry.get("reason"))
    message = as_text(entry.get("message"))
    if state == STATE_REMEDIATED:
        taken, result = action, message or "remediated"
    elif state == STATE_WOULD_REMEDIATE:
        taken, result = "none (check mode)", message or "check mode: would %s" % action
    elif state == STATE_REFUSED:
        taken = "none (refused)"
        result = ("refused by the %s guard: %s" % (entry.get("refused_by"), guard or reason)
                  if entry.get("refused_by") else reason or "refused")
    elif state == STATE_FAILED:
        taken, result = "%s (did not complete)" % action if action else "none", reason or "failed"
    elif state == STATE_ERROR:
        taken, result = "none", reason or "unknown error"
    elif state == STATE_IN_PROGRESS:
        taken, result = "none", reason or "in progress (younger than min_age): not touched"
    elif state == STATE_POSSIBLY_RUNNING:
        taken, result = "none (may still be running)", "left alone: %s" % (reason or "signs of a live operation")
    elif state == STATE_UNFINISHED:
        taken = "none"
        result = "unfinished: %s" % (reason or message or "an earlier remediation did not complete; "
                                     "a remediating run finishes it")
    else:   # stuck
        taken = "none (planned: %s)" % action if action else "none"
        result = ("still stuck: report only (remediate is off)" if mode == MODE_REPORT
                  else "still stuck: %s" % reason if reason else "still stuck")
    row.update(state=state, action_taken=taken, result=result, reason=reason or None,
               refused_by=as_text(entry.get("refused_by")) or None)
    return row


def records_at(record):
    """Where a cluster's Helm keeps its records, in words: ``secret``, ``configmap``, or ``sql`` and the
    database (``host:port/dbname``: Helm's PostgreSQL driver); empty when the run did not say."""
    driver = as_text(record.get("storage_driver"))
    database = as_text(record.get("database"))
    return "%s %s" % (driver, database) if driver and database else driver


def normalize_cluster(host, record):
    """One cluster's outcome from the role's per-host record (``None``: the host
    recorded nothing, e.g. it failed before the check)."""
    if not isinstance(record, dict) or not record:
        return {
            "host": as_text(host), "cluster": as_text(host), "server": "", "storage_driver": "", "database": "",
            "records": "", "ok": False, "checked": False,
            "message": "no result was recorded for this host (it failed before its cluster was checked)",
            "mode": "", "remediate": False, "check_mode": False, "status": CLUSTER_FAILED,
            "duration_seconds": None, "warnings": [], "releases": [], "remaining": 0,
            "counts": dict.fromkeys(STATES, 0), "summary": _cluster_summary(dict.fromkeys(STATES, 0)),
            "stuck": [], "in_progress": [], "remediated": [], "errors": [],
        }
    name = as_text(record.get("host") or host)
    checked = bool(record.get("checked", record.get("ok", True)))
    remediate, check_mode = bool(record.get("remediate", False)), bool(record.get("check_mode", False))
    mode = run_mode(remediate, check_mode)
    guard = as_text(record.get("refused"))
    rows = [_row(e, name, mode, guard) for e in _list(record.get("releases"))]
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row["state"]] += 1
    remaining = sum(counts[s] for s in LOCKED_STATES)
    message = as_text(record.get("msg"))
    if not checked and not message:
        message = "the check failed without a message"
    if not checked:
        status = CLUSTER_FAILED
    elif guard:
        status, message = "refused", guard
    elif remaining:
        status = "stuck"
    elif counts[STATE_POSSIBLY_RUNNING]:
        status = "possibly running"
    elif counts[STATE_ERROR]:
        status = "errors"
    elif counts[STATE_REMEDIATED]:
        status = "remediated"
    else:
        status = "clean"
    duration = record.get("duration_seconds")
    out = {
        "host": name,
        "cluster": as_text(record.get("cluster")) or name,
        "server": as_text(record.get("server")),
        "storage_driver": as_text(record.get("storage_driver")),
        "database": as_text(record.get("database")),
        "records": records_at(record),
        "run_id": as_text(record.get("run_id")),
        "ok": checked,
        "checked": checked,
        "message": message,
        "mode": mode,
        "remediate": remediate,
        "check_mode": check_mode,
        "status": status,
        "duration_seconds": duration if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        "warnings": [as_text(w) for w in (record.get("warnings") or []) if w],
        "releases": rows,
        "remaining": remaining,
        "counts": counts,
        "summary": _cluster_summary(counts),
    }
    out.update(_views(rows))
    return out


def _views(rows):
    """The per-kind lists of report schema 1, derived from the rows (the one model): ``stuck`` (found
    stuck or unfinished), ``in_progress``, ``remediated`` (done: never check mode's would) and ``errors``."""
    return {"stuck": [r for r in rows if r["state"] in FOUND_STATES],
            "in_progress": [r for r in rows if r["state"] in IN_PROGRESS_STATES],
            "remediated": [r for r in rows if r["state"] == STATE_REMEDIATED],
            "errors": [r for r in rows if r["state"] in ERROR_STATES and not r["refused_by"]]}


def _cluster_summary(counts):
    return {"stuck": sum(counts[s] for s in FOUND_STATES), "in_progress": sum(counts[s] for s in IN_PROGRESS_STATES),
            "remediated": counts[STATE_REMEDIATED], "would_remediate": counts[STATE_WOULD_REMEDIATE],
            "unfinished": counts[STATE_UNFINISHED], "refused": counts[STATE_REFUSED],
            "failed": counts[STATE_FAILED], "errors": sum(counts[s] for s in ERROR_STATES),
            "remaining": sum(counts[s] for s in LOCKED_STATES)}


def build_fleet(results, hosts=None, generated_at=None, title=None, generated_by=None, batch=None,
                generated_epoch=None):
    """The whole fleet report (a JSON-able dict) from ``{host: record}``; ``hosts``
    (play order) adds hosts that recorded nothing; ``batch``: ``{"hosts": [...],
    "pending": [...]}`` when the play runs in batches (serial), so hosts of later
    batches are listed as such, not as failures."""
    results = results or {}
    pending = set((batch or {}).get("pending") or [])
    order = [h for h in (hosts or []) if h not in pending]
    order += [h for h in sorted(results) if h not in order and h not in pending]
    clusters = [normalize_cluster(h, results.get(h)) for h in order]
    return assemble(clusters, generated_at, title, generated_by, batch, generated_epoch)


def assemble(clusters, generated_at=None, title=None, generated_by=None, batch=None, generated_epoch=None):
    """The fleet report from its clusters (``normalize_cluster``'s, in report order): the fleet summary and
    the releases of every cluster."""
    pending = set((batch or {}).get("pending") or [])
    releases = []
    for cluster in clusters:
        releases.extend(cluster["releases"])
    failed = [c["host"] for c in clusters if not c["ok"]]
    summary = {"clusters": len(clusters), "clusters_ok": len(clusters) - len(failed),
               "clusters_failed": len(failed), "failed_clusters": failed}
    for key in ("stuck", "remediated", "would_remediate", "remaining", "in_progress", "unfinished", "refused",
                "failed", "errors"):
        summary[key] = sum(c["summary"][key] for c in clusters)
    modes = sorted(set(c["mode"] for c in clusters if c["mode"]))
    summary["mode"] = modes[0] if len(modes) == 1 else " + ".join(modes) or MODE_REPORT
    # the id(s) restore.yml takes as restore_run: one per playbook run (the role's), several for merged slices
    summary["run_ids"] = sorted(set(c.get("run_id") for c in clusters if c.get("run_id")))
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title or "Stuck Helm releases",
        "generated_at": as_text(generated_at),
        "generated_by": as_text(generated_by),
        "generated_epoch": generated_epoch,
        "mode": summary["mode"],
        "batch": {"hosts": list((batch or {}).get("hosts") or []), "pending": sorted(pending)} if batch
        else None,
        "summary": summary,
        "clusters": clusters,
        "releases": releases,
    }


class MergeError(ValueError):
    """Reports that cannot be merged into one (a host in two of them, not a fleet report)."""


def merge(reports, hosts=None, generated_at=None, title=None, generated_by=None, generated_epoch=None):
    """One fleet report from several (each a dict as ``render_json`` wrote it: for example one per AWX job
    slice), as one run over all their clusters would have written it. ``hosts``: the order of the clusters
    (the inventory's); others follow sorted by host. A host in two reports raises MergeError naming it: two
    slices checked the same cluster, so no single run would have given that report."""
    seen, clusters = {}, []
    for index, report in enumerate(reports):
        if not isinstance(report, dict) or not isinstance(report.get("clusters"), list):
            raise MergeError("report %d is not a fleet report (no clusters list)" % (index + 1))
        if report.get("schema_version") != SCHEMA_VERSION:
            raise MergeError("report %d has schema_version %r; this collection writes %d"
                             % (index + 1, report.get("schema_version"), SCHEMA_VERSION))
        for cluster in report["clusters"]:
            host = cluster.get("host")
            if host in seen:
                seen[host].append(index + 1)
            else:
                seen[host] = [index + 1]
                clusters.append(cluster)
    twice = sorted(h for h, where in seen.items() if len(where) > 1)
    if twice:
        raise MergeError("host(s) in more than one report: %s"
                         % ", ".join("%s (reports %s)" % (h, ", ".join(str(i) for i in seen[h])) for h in twice))
    order = dict((h, i) for i, h in enumerate(hosts or []))
    clusters.sort(key=lambda c: (0, order[c["host"]], "") if c["host"] in order else (1, 0, c["host"]))
    return assemble(clusters, generated_at, title, generated_by, None, generated_epoch)


def summary_lines(fleet):
    """The fleet summary as a list of lines (what the role prints and chat webhooks get)."""
    s = fleet["summary"]
    head = ("%s (%s): %d cluster(s), %d could not be checked; %d stuck, %d %s, %d still stuck, "
            "%d in progress, %d error(s)"
            % (fleet["title"], fleet["mode"], s["clusters"], s["clusters_failed"], s["stuck"],
               s["would_remediate"] if fleet["mode"] == MODE_CHECK else s["remediated"],
               "would be remediated" if fleet["mode"] == MODE_CHECK else "remediated",
               s["remaining"], s["in_progress"], s["errors"]))
    lines = [head]
    if s.get("run_ids") and fleet["mode"] != MODE_CHECK and (s["remediated"] or s["unfinished"] or s["failed"]):
        lines.append("run %s; undo what it changed: ansible-playbook -i INVENTORY helmops.unstick.restore "
                     "-e restore_run=%s" % (", ".join(s["run_ids"]), s["run_ids"][0]))
    elif s.get("run_ids"):
        lines.append("run %s" % ", ".join(s["run_ids"]))
    if fleet.get("batch") and fleet["batch"]["pending"]:
        lines.append("(batch: %s; not run yet: %s)" % (", ".join(fleet["batch"]["hosts"]),
                                                       ", ".join(fleet["batch"]["pending"])))
    for cluster in fleet["clusters"]:
        if not cluster["ok"]:
            lines.append("- %s: could not be checked: %s" % (cluster["host"], cluster["message"]))
        elif cluster["status"] == "refused":
            lines.append("- %s: scanned, nothing changed: %s" % (cluster["host"], cluster["message"]))
        lines += ["- %s: warning: %s" % (cluster["host"], w) for w in cluster["warnings"]]
    for row in fleet["releases"]:
        if row["state"] != STATE_IN_PROGRESS:
            lines.append("- %s %s: %s: %s" % (row["cluster"], _what(row), row["state"].replace("_", " "),
                                              row["result"]))
    return lines


def _what(row):
    """A row's subject in words: the release and its status, or the namespace a problem is about."""
    if not row.get("name"):
        return "namespace %s" % row["namespace"] if row.get("namespace") else "cluster"
    status = " (%s)" % row["status"] if row.get("status") else ""
    return "%s/%s%s" % (row["namespace"], row["name"], status)


def cluster_problems(cluster):
    """Why a cluster does not pass a CI gate (empty: it passes)."""
    out = []
    if not cluster["ok"]:
        out.append("cluster %s could not be checked: %s" % (cluster["host"], cluster["message"]))
    if cluster["status"] == "refused":
        out.append("cluster %s: %s" % (cluster["host"], cluster["message"]))
    if cluster["remaining"]:
        out.append("cluster %s: %d release(s) still stuck" % (cluster["host"], cluster["remaining"]))
    running = [r for r in cluster["releases"] if r["state"] == STATE_POSSIBLY_RUNNING]
    if running:
        out.append("cluster %s: %d release(s) pending past min_age and possibly still running, left alone: %s"
                   % (cluster["host"], len(running), "; ".join("%s/%s revision %s (%s)" % (
                       r["namespace"], r["name"], r["revision"], r["result"]) for r in running)))
    errors = cluster["errors"]
    if errors:
        reasons = "; ".join(r["result"] for r in errors)
        out.append("cluster %s: %d error(s): %s" % (cluster["host"], len(errors), reasons))
    return out


def should_notify(fleet):
    """Something was stuck, remediated or failed."""
    s = fleet["summary"]
    return bool(s["stuck"] or s["remediated"] or s["clusters_failed"] or s["errors"] or s["unfinished"])


def notification_text(fleet):
    """A short plain-text message for chat webhooks (Slack/Teams ``{"text": ...}``)."""
    return "\n".join(summary_lines(fleet))


def format_age(seconds):
    """``5400`` → ``1h 30m``; ``None`` → ``""``."""
    seconds = int_or_none(seconds)
    if seconds is None:
        return ""
    if seconds < 0:
        return "%ds" % seconds
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%dd %dh" % (days, hours)
    if hours:
        return "%dh %dm" % (hours, minutes)
    if minutes:
        return "%dm %ds" % (minutes, secs)
    return "%ds" % secs
