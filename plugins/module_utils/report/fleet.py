# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: every cluster's helm_unstick outcome, as JSON, Markdown, HTML and Prometheus metrics.

Pure functions, no I/O. Input is what the ``helmops.unstick.stuck_releases``
role records per inventory host (``stuck_releases_result``)::

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

import json

from html import escape as _html_escape

# helm_unstick's release states: the one list, in report/release_report.py (derived from release/state.py)
from ansible_collections.helmops.unstick.plugins.module_utils.report.release_report import (  # noqa: F401 (re-exported)
    FOUND_STATES,
    STATE_ERROR,
    STATE_FAILED,
    STATE_IN_PROGRESS,
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
#: the ``errors`` count: what went wrong for a release (a guard refusal is the cluster's, not a release's)
ERROR_STATES = (STATE_ERROR, STATE_FAILED, STATE_REFUSED)

CLUSTER_FAILED = "failed"
MODE_REPORT, MODE_CHECK, MODE_REMEDIATE = "report only", "check mode", "remediate"


# -- model ----------------------------------------------------------------
def _text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int_or_none(value):
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
        out[key] = _int_or_none(out[key])
    for key in ("namespace", "name", "status", "action", "chart", "chart_version", "app_version"):
        out[key] = None if out[key] is None else _text(out[key])
    out["cluster"] = cluster_name
    return out


def run_mode(remediate, check_mode):
    if check_mode:
        return MODE_CHECK
    return MODE_REMEDIATE if remediate else MODE_REPORT


def _row(entry, cluster_name, mode, guard):
    """One report row: the release, its state, what was done (never what was not) and the result."""
    row = _release(entry, cluster_name)
    state = _text(entry.get("state"))
    if state not in STATES:
        state = STATE_ERROR
    action = row["action"] or ""
    reason = _text(entry.get("reason"))
    message = _text(entry.get("message"))
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
    elif state == STATE_UNFINISHED:
        taken = "none"
        result = "unfinished: %s" % (reason or message or "an earlier remediation did not complete; "
                                     "a remediating run finishes it")
    else:   # stuck
        taken = "none (planned: %s)" % action if action else "none"
        result = ("still stuck: report only (remediate is off)" if mode == MODE_REPORT
                  else "still stuck: %s" % reason if reason else "still stuck")
    row.update(state=state, action_taken=taken, result=result, reason=reason or None,
               refused_by=_text(entry.get("refused_by")) or None)
    return row


def records_at(record):
    """Where a cluster's Helm keeps its records, in words: ``secret``, ``configmap``, or ``sql`` and the
    database (``host:port/dbname``: Helm's PostgreSQL driver); empty when the run did not say."""
    driver = _text(record.get("storage_driver"))
    database = _text(record.get("database"))
    return "%s %s" % (driver, database) if driver and database else driver


def normalize_cluster(host, record):
    """One cluster's outcome from the role's per-host record (``None``: the host
    recorded nothing, e.g. it failed before the check)."""
    if not isinstance(record, dict) or not record:
        return {
            "host": _text(host), "cluster": _text(host), "server": "", "storage_driver": "", "database": "",
            "records": "", "ok": False, "checked": False,
            "message": "no result was recorded for this host (it failed before its cluster was checked)",
            "mode": "", "remediate": False, "check_mode": False, "status": CLUSTER_FAILED,
            "duration_seconds": None, "warnings": [], "releases": [], "remaining": 0,
            "counts": dict.fromkeys(STATES, 0), "summary": _cluster_summary(dict.fromkeys(STATES, 0)),
            "stuck": [], "in_progress": [], "remediated": [], "errors": [],
        }
    name = _text(record.get("host") or host)
    checked = bool(record.get("checked", record.get("ok", True)))
    remediate, check_mode = bool(record.get("remediate", False)), bool(record.get("check_mode", False))
    mode = run_mode(remediate, check_mode)
    guard = _text(record.get("refused"))
    rows = [_row(e, name, mode, guard) for e in _list(record.get("releases"))]
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row["state"]] += 1
    remaining = sum(counts[s] for s in LOCKED_STATES)
    message = _text(record.get("msg"))
    if not checked and not message:
        message = "the check failed without a message"
    if not checked:
        status = CLUSTER_FAILED
    elif guard:
        status, message = "refused", guard
    elif remaining:
        status = "stuck"
    elif counts[STATE_ERROR]:
        status = "errors"
    elif counts[STATE_REMEDIATED]:
        status = "remediated"
    else:
        status = "clean"
    duration = record.get("duration_seconds")
    out = {
        "host": name,
        "cluster": _text(record.get("cluster")) or name,
        "server": _text(record.get("server")),
        "storage_driver": _text(record.get("storage_driver")),
        "database": _text(record.get("database")),
        "records": records_at(record),
        "run_id": _text(record.get("run_id")),
        "ok": checked,
        "checked": checked,
        "message": message,
        "mode": mode,
        "remediate": remediate,
        "check_mode": check_mode,
        "status": status,
        "duration_seconds": duration if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        "warnings": [_text(w) for w in (record.get("warnings") or []) if w],
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
            "in_progress": [r for r in rows if r["state"] == STATE_IN_PROGRESS],
            "remediated": [r for r in rows if r["state"] == STATE_REMEDIATED],
            "errors": [r for r in rows if r["state"] in ERROR_STATES and not r["refused_by"]]}


def _cluster_summary(counts):
    return {"stuck": sum(counts[s] for s in FOUND_STATES), "in_progress": counts[STATE_IN_PROGRESS],
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
        "generated_at": _text(generated_at),
        "generated_by": _text(generated_by),
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
    seconds = _int_or_none(seconds)
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


# -- JSON -----------------------------------------------------------------
def render_json(fleet):
    return json.dumps(fleet, indent=2, sort_keys=True) + "\n"


# -- Markdown -------------------------------------------------------------
def md_cell(value):
    """A Markdown table cell: one line, pipes and markup characters escaped."""
    text = " ".join(_text(value).split())
    for char in "\\`*_[]<>|":
        text = text.replace(char, "\\" + char)
    return text


def _md_table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for dummy in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(md_cell(v) for v in row) + " |")
    return out


#: the HTML clusters table, in order (key, header, sort type); the keys are the JSON report's names
CLUSTER_COLUMNS = (
    ("host", "Cluster", "text"),
    ("cluster", "Context", "text"),
    ("server", "API server", "text"),
    ("records", "Records", "text"),
    ("status", "Status", "text"),
    ("stuck", "Stuck", "number"),
    ("remediated", "Remediated", "number"),
    ("remaining", "Still stuck", "number"),
    ("in_progress", "In progress", "number"),
    ("errors", "Errors", "number"),
    ("message", "Message", "text"),
)

RELEASE_COLUMNS = (
    ("cluster", "Cluster", "text"),
    ("namespace", "Namespace", "text"),
    ("name", "Release", "text"),
    ("status", "Status", "text"),
    ("age_seconds", "Age", "number"),
    ("revision", "Revision", "number"),
    ("last_good_revision", "Last good", "number"),
    ("action_taken", "Action taken", "text"),
    ("state", "State", "text"),
    ("result", "Result", "text"),
)


def _cell_text(row, key):
    if key == "age_seconds":
        return format_age(row.get(key))
    return _text(row.get(key))


def _summary_cells(fleet):
    s = fleet["summary"]
    done = ("Would remediate", s["would_remediate"]) if fleet["mode"] == MODE_CHECK else ("Remediated", s["remediated"])
    return [("Clusters", s["clusters"]), ("Could not be checked", s["clusters_failed"]), ("Stuck", s["stuck"]),
            done, ("Still stuck", s["remaining"]), ("In progress", s["in_progress"]), ("Errors", s["errors"])]


def render_markdown(fleet):
    cells = _summary_cells(fleet)
    out = ["# %s" % md_cell(fleet["title"]), "", md_cell(_byline(fleet)), ""]
    out += _md_table([c[0] for c in cells], [[c[1] for c in cells]])
    out += ["", "## Clusters", ""]
    out += _md_table(["Cluster", "Context", "API server", "Records", "Checked", "Status", "Stuck", "Remediated",
                      "Still stuck", "In progress", "Errors", "Message"],
                     [[c["host"], c["cluster"], c["server"], c["records"], "yes" if c["ok"] else "NO", c["status"],
                       c["summary"]["stuck"], c["summary"]["remediated"], c["remaining"], c["summary"]["in_progress"],
                       c["summary"]["errors"], c["message"]] for c in fleet["clusters"]])
    out += ["", "## Releases", ""]
    if fleet["releases"]:
        out += _md_table([col[1] for col in RELEASE_COLUMNS],
                         [[_cell_text(r, col[0]) for col in RELEASE_COLUMNS] for r in fleet["releases"]])
    else:
        out.append("No stuck, in-progress or failed releases.")
    problems = [(c, _cluster_error_lines(c)) for c in fleet["clusters"]]
    problems = [(c, lines) for c, lines in problems if lines]
    out += ["", "## Errors", ""]
    if not problems:
        out.append("None.")
    for cluster, lines in problems:
        out.append("* **%s**" % md_cell(cluster["host"]))
        out += ["  * %s" % md_cell(line) for line in lines]
    return "\n".join(out) + "\n"


def _cluster_error_lines(cluster):
    lines = []
    if not cluster["ok"]:
        lines.append("could not be checked: %s" % cluster["message"])
    lines += ["warning: %s" % w for w in cluster["warnings"]]
    lines += [r["result"] for r in cluster["releases"] if r["state"] in (STATE_ERROR, STATE_FAILED)]
    return lines


def _byline(fleet):
    """Who ran what, when: every report says the run mode."""
    unchanged = " (nothing was changed)" if fleet["mode"] in (MODE_CHECK, MODE_REPORT) else ""
    parts = ["Mode: %s%s" % (fleet["mode"], unchanged)]
    if fleet["generated_at"]:
        parts.append("generated %s" % fleet["generated_at"])
    if fleet.get("generated_by"):
        parts.append("by %s" % fleet["generated_by"])
    if fleet["summary"].get("run_ids"):
        parts.append("run %s (restore.yml: -e restore_run=ID)" % ", ".join(fleet["summary"]["run_ids"]))
    if fleet.get("batch") and fleet["batch"]["pending"]:
        parts.append("this batch: %s; not run yet: %s" % (", ".join(fleet["batch"]["hosts"]),
                                                          ", ".join(fleet["batch"]["pending"])))
    return "; ".join(parts) + "."


# -- HTML -----------------------------------------------------------------
def h(value):
    """HTML-escape any field (quotes included, safe in text and attributes)."""
    return _html_escape(_text(value), quote=True)


_CSS = """
:root { color-scheme: light; --bad: #b42318; --warn: #b54708; --ok: #067647; --muted: #667085; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #101828; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #d0d5dd; border-radius: 8px; padding: 10px 16px; min-width: 120px; }
.card .n { font-size: 24px; font-weight: 600; } .card .l { color: var(--muted); font-size: 12px; }
.card.bad .n { color: var(--bad); } .card.warn .n { color: var(--warn); } .card.ok .n { color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eaecf0; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #98a2b3; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; color: #101828; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; color: #101828; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.s-remediated, .s-clean { background: #ecfdf3; color: var(--ok); }
.s-stuck, .s-errors { background: #fffaeb; color: var(--warn); }
.s-error, .s-failed, .s-refused { background: #fef3f2; color: var(--bad); }
.s-in_progress, .s-would_remediate { background: #eff8ff; color: #175cd3; }
.s-unfinished { background: #fffaeb; color: var(--warn); }
ul.errors li { margin: 2px 0; } code { font-size: 12px; }
"""

_JS = """
(function () {
  function key(row, idx, numeric) {
    var cell = row.cells[idx];
    var raw = cell.getAttribute('data-sort');
    if (raw === null) { raw = cell.textContent; }
    if (numeric) { return raw === '' ? null : Number(raw); }
    return raw.toLowerCase();
  }
  function sortBy(table, th) {
    var idx = th.cellIndex;
    var numeric = th.getAttribute('data-type') === 'number';
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, idx, numeric), y = key(b, idx, numeric);
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : 1) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, th); }
      });
    });
  });
})();
"""


def _card(number, label, tone):
    return '<div class="card %s"><div class="n">%s</div><div class="l">%s</div></div>' % (
        h(tone), h(number), h(label))


def _badge(state):
    return '<span class="badge s-%s">%s</span>' % (h(state), h(_text(state).replace("_", " ")))


def _td(row, key, kind):
    if key == "age_seconds":
        value = _int_or_none(row.get(key))
        return '<td class="num" data-sort="%s">%s</td>' % (h("" if value is None else value),
                                                           h(format_age(value)))
    if kind == "number":
        value = _int_or_none(row.get(key))
        return '<td class="num" data-sort="%s">%s</td>' % (h("" if value is None else value),
                                                           h("" if value is None else value))
    if key == "state":
        return '<td data-sort="%s">%s</td>' % (h(row.get(key)), _badge(row.get(key)))
    if key == "status":
        return '<td class="nowrap">%s</td>' % h(row.get(key))
    return "<td>%s</td>" % h(row.get(key))


def render_html(fleet):
    """One self-contained page: inline CSS and JS, no external assets."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        "<title>%s</title>" % h(fleet["title"]),
        "<style>%s</style></head><body>" % _CSS,
        "<h1>%s</h1>" % h(fleet["title"]),
    ]
    out.append('<div class="muted" id="byline">%s</div>' % h(_byline(fleet)))
    tones = {"Could not be checked": "bad", "Stuck": "warn", "Still stuck": "bad", "Errors": "bad"}
    out.append('<div class="cards" id="summary">')
    out += [_card(n, label.lower(), (tones.get(label, "") if n else "ok") if label != "Clusters" else "")
            for label, n in _summary_cells(fleet)]
    out.append("</div>")
    out.append("<h2>Clusters</h2>")
    out.append('<table class="sortable" id="clusters"><thead><tr>%s</tr></thead><tbody>' % "".join(
        '<th data-key="%s" data-type="%s">%s</th>' % (h(key), h(kind), h(title)) for key, title, kind in CLUSTER_COLUMNS))
    for c in fleet["clusters"]:
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td data-sort=\"%s\">%s</td>%s<td>%s</td></tr>" % (
            h(c["host"]), h(c["cluster"]), h(c["server"]), h(c["records"]), h(c["status"]), _badge(c["status"]),
            "".join('<td class="num" data-sort="%s">%s</td>' % (h(n), h(n)) for n in (
                c["summary"]["stuck"], c["summary"]["remediated"], c["remaining"],
                c["summary"]["in_progress"], c["summary"]["errors"])),
            h(c["message"])))
    out.append("</tbody></table>")
    out.append("<h2>Releases</h2>")
    if fleet["releases"]:
        out.append('<table class="sortable" id="releases"><thead><tr>%s</tr></thead><tbody>' % "".join(
            '<th data-key="%s" data-type="%s">%s</th>' % (h(key), h(kind), h(title))
            for key, title, kind in RELEASE_COLUMNS))
        for row in fleet["releases"]:
            out.append('<tr class="state-%s">%s</tr>' % (
                h(row.get("state")), "".join(_td(row, col[0], col[2]) for col in RELEASE_COLUMNS)))
        out.append("</tbody></table>")
    else:
        out.append('<p class="muted" id="no-releases">No stuck, in-progress or failed releases.</p>')
    out.append("<h2>Errors</h2>")
    problems = [(c, _cluster_error_lines(c)) for c in fleet["clusters"]]
    problems = [(c, lines) for c, lines in problems if lines]
    if not problems:
        out.append('<p class="muted" id="no-errors">None.</p>')
    else:
        out.append('<div id="errors">')
        for cluster, lines in problems:
            out.append("<h3>%s</h3><ul class=\"errors\">%s</ul>" % (
                h(cluster["host"]), "".join("<li>%s</li>" % h(line) for line in lines)))
        out.append("</div>")
    out.append("<script>%s</script></body></html>" % _JS)
    return "\n".join(out) + "\n"


# -- Prometheus metrics (text exposition format: node_exporter's textfile collector, Pushgateway) ------
METRICS = (
    ("helm_unstick_release_pending_age_seconds", "gauge",
     "Age in seconds of a release's newest revision that is still pending after the run (state: stuck, "
     "in_progress, unfinished, would_remediate, refused or failed), one series per release."),
    ("helm_unstick_cluster_checked", "gauge", "1 when the cluster was scanned, 0 when it could not be checked."),
    ("helm_unstick_cluster_releases", "gauge", "Releases of the cluster in each state (healthy ones are not counted)."),
    ("helm_unstick_cluster_scan_duration_seconds", "gauge", "Seconds helm_unstick took on the cluster."),
    ("helm_unstick_run_timestamp_seconds", "gauge", "When the report was made (Unix time), by run mode."),
)


def _label_value(value):
    return _text(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name, labels, value):
    return "%s{%s} %s" % (name, ",".join('%s="%s"' % (k, _label_value(v)) for k, v in labels), value)


def render_prom(fleet):
    """Prometheus text exposition format (also read by node_exporter's textfile collector and a
    Pushgateway)."""
    now = fleet.get("generated_epoch")
    samples = dict((name, []) for name, _t, _h in METRICS)
    for row in fleet["releases"]:
        if row["state"] in LOCKED_STATES + (STATE_IN_PROGRESS,) and row.get("age_seconds") is not None:
            samples["helm_unstick_release_pending_age_seconds"].append(_sample(
                "helm_unstick_release_pending_age_seconds",
                [("cluster", row["cluster"]), ("namespace", row["namespace"]), ("release", row["name"]),
                 ("status", row["status"]), ("revision", row["revision"]), ("state", row["state"])],
                row["age_seconds"]))
    for c in fleet["clusters"]:
        samples["helm_unstick_cluster_checked"].append(_sample("helm_unstick_cluster_checked",
                                                               [("cluster", c["host"])], 1 if c["ok"] else 0))
        for state in STATES:
            samples["helm_unstick_cluster_releases"].append(_sample(
                "helm_unstick_cluster_releases", [("cluster", c["host"]), ("state", state)], c["counts"][state]))
        if c["duration_seconds"] is not None:
            samples["helm_unstick_cluster_scan_duration_seconds"].append(_sample(
                "helm_unstick_cluster_scan_duration_seconds", [("cluster", c["host"])],
                "%.3f" % c["duration_seconds"]))
    if now is not None:
        samples["helm_unstick_run_timestamp_seconds"].append(_sample(
            "helm_unstick_run_timestamp_seconds", [("mode", fleet["mode"])], "%.3f" % now))
    out = []
    for name, kind, help_text in METRICS:
        if samples[name]:
            out += ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind)] + samples[name]
    return "\n".join(out) + "\n"


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html, "prom": render_prom}


def render(fleet, fmt):
    return RENDERERS[fmt](fleet)
