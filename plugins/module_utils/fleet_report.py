# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: every cluster's helm_unstick outcome, as JSON, Markdown and HTML.

Pure functions, no I/O. Input is what the ``helmops.unstick.stuck_releases``
role records per inventory host (``stuck_releases_result``)::

    {"host": "prod-eu-1", "cluster": "prod-eu-1", "ok": true, "msg": "",
     "remediate": false, "check_mode": false,
     "stuck": [...], "in_progress": [...], "remediated": [...], "errors": [...]}

The entries are helm_unstick's return items; only the whitelisted fields in
``RELEASE_FIELDS`` are ever copied, so nothing else a record might carry
(and never release values, which helm_unstick does not return anyway) can
reach a report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from html import escape as _html_escape

FORMATS = ("json", "markdown", "html")
EXTENSIONS = {"json": "json", "markdown": "md", "html": "html"}
RELEASE_FIELDS = ("namespace", "name", "revision", "status", "age_seconds", "last_good_revision",
                  "action", "target_revision", "chart", "chart_version", "app_version")
SCHEMA_VERSION = 1

STATE_REMEDIATED = "remediated"
STATE_STUCK = "stuck"
STATE_IN_PROGRESS = "in_progress"
STATE_ERROR = "error"

CLUSTER_FAILED = "failed"


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


def _key(entry):
    return (_text(entry.get("namespace")), _text(entry.get("name")))


def _error(entry, cluster_name):
    out = _release(entry, cluster_name)
    out["reason"] = _text(entry.get("reason")) or "unknown error"
    return out


def normalize_cluster(host, record):
    """One cluster's outcome from the role's per-host record (``None``: the host
    recorded nothing, e.g. it failed before the check)."""
    if not isinstance(record, dict) or not record:
        return {
            "host": _text(host), "cluster": _text(host), "ok": False,
            "message": "no result was recorded for this host (it failed before its cluster was checked)",
            "remediate": False, "check_mode": False, "status": CLUSTER_FAILED,
            "stuck": [], "in_progress": [], "remediated": [], "errors": [], "remaining": 0,
            "summary": {"stuck": 0, "in_progress": 0, "remediated": 0, "errors": 0, "remaining": 0},
        }
    name = _text(record.get("host") or host)
    ok = bool(record.get("ok", True))
    stuck = [_release(e, name) for e in _list(record.get("stuck"))]
    in_progress = [_release(e, name) for e in _list(record.get("in_progress"))]
    remediated = []
    for entry in _list(record.get("remediated")):
        item = _release(entry, name)
        item["message"] = _text(entry.get("message"))
        remediated.append(item)
    errors = [_error(e, name) for e in _list(record.get("errors"))]
    check_mode = bool(record.get("check_mode", False))
    fixed = set() if check_mode else set(_key(e) for e in remediated)
    remaining = len([e for e in stuck if _key(e) not in fixed])
    message = _text(record.get("msg"))
    if not ok and not message:
        message = "the check failed without a message"
    if not ok:
        status = CLUSTER_FAILED
    elif remaining:
        status = "stuck"
    elif errors:
        status = "errors"
    elif remediated:
        status = "remediated"
    else:
        status = "clean"
    return {
        "host": name,
        "cluster": _text(record.get("cluster")) or name,
        "ok": ok,
        "message": message,
        "remediate": bool(record.get("remediate", False)),
        "check_mode": check_mode,
        "status": status,
        "stuck": stuck,
        "in_progress": in_progress,
        "remediated": remediated,
        "errors": errors,
        "remaining": remaining,
        "summary": {"stuck": len(stuck), "in_progress": len(in_progress), "remediated": len(remediated),
                    "errors": len(errors), "remaining": remaining},
    }


def release_rows(cluster):
    """Table rows for one normalized cluster: every stuck, in-progress and
    failed release, with the action taken and its result."""
    done = dict((_key(e), e) for e in cluster["remediated"])
    failed = {}
    for err in cluster["errors"]:
        if err.get("name"):
            failed.setdefault(_key(err), err)
    rows, seen = [], set()
    for entry in cluster["stuck"]:
        key = _key(entry)
        seen.add(key)
        row = dict(entry)
        if key in done:
            row["state"] = STATE_REMEDIATED
            row["action_taken"] = entry.get("action") or ""
            row["result"] = done[key].get("message") or "remediated"
            if cluster["check_mode"]:
                row["state"] = STATE_STUCK
        elif key in failed:
            row["state"] = STATE_ERROR
            row["action_taken"] = entry.get("action") or ""
            row["result"] = failed[key]["reason"]
        else:
            row["state"] = STATE_STUCK
            row["action_taken"] = "none (planned: %s)" % (entry.get("action") or "?")
            if not cluster["remediate"]:
                row["result"] = "still stuck: report only (remediate is off)"
            elif not cluster["ok"]:
                row["result"] = "still stuck: %s" % cluster["message"]
            else:
                row["result"] = "still stuck"
        rows.append(row)
    for entry in cluster["in_progress"]:
        row = dict(entry, state=STATE_IN_PROGRESS, action_taken="none",
                   result="in progress (younger than min_age): not touched")
        seen.add(_key(entry))
        rows.append(row)
    for err in cluster["errors"]:
        if err.get("name") and _key(err) not in seen:
            row = dict(err, state=STATE_ERROR, action_taken=err.get("action") or "none", result=err["reason"])
            seen.add(_key(err))
            rows.append(row)
    return rows


def build_fleet(results, hosts=None, generated_at=None, title=None):
    """The whole fleet report (a JSON-able dict) from ``{host: record}``;
    ``hosts`` (play order) adds hosts that recorded nothing."""
    results = results or {}
    order = list(hosts or [])
    order += [h for h in sorted(results) if h not in order]
    clusters = [normalize_cluster(h, results.get(h)) for h in order]
    releases = []
    for cluster in clusters:
        releases.extend(release_rows(cluster))
    failed = [c["host"] for c in clusters if not c["ok"]]
    summary = {
        "clusters": len(clusters),
        "clusters_ok": len(clusters) - len(failed),
        "clusters_failed": len(failed),
        "failed_clusters": failed,
        "stuck": sum(c["summary"]["stuck"] for c in clusters),
        "remediated": sum(c["summary"]["remediated"] for c in clusters),
        "remaining": sum(c["remaining"] for c in clusters),
        "in_progress": sum(c["summary"]["in_progress"] for c in clusters),
        "errors": sum(c["summary"]["errors"] for c in clusters),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title or "Stuck Helm releases",
        "generated_at": _text(generated_at),
        "summary": summary,
        "clusters": clusters,
        "releases": releases,
    }


def cluster_problems(cluster):
    """Why a cluster does not pass a CI gate (empty: it passes)."""
    out = []
    if not cluster["ok"]:
        out.append("cluster %s could not be checked: %s" % (cluster["host"], cluster["message"]))
    if cluster["remaining"]:
        out.append("cluster %s: %d release(s) still stuck" % (cluster["host"], cluster["remaining"]))
    if cluster["errors"]:
        reasons = "; ".join(e["reason"] for e in cluster["errors"])
        out.append("cluster %s: %d error(s): %s" % (cluster["host"], len(cluster["errors"]), reasons))
    return out


def should_notify(fleet):
    """Something was stuck, remediated or failed."""
    s = fleet["summary"]
    return bool(s["stuck"] or s["remediated"] or s["clusters_failed"] or s["errors"])


def notification_text(fleet):
    """A short plain-text message for chat webhooks (Slack/Teams ``{"text": ...}``)."""
    s = fleet["summary"]
    lines = ["%s: %d cluster(s), %d could not be checked; %d stuck, %d remediated, "
             "%d still stuck, %d in progress, %d error(s)"
             % (fleet["title"], s["clusters"], s["clusters_failed"], s["stuck"], s["remediated"],
                s["remaining"], s["in_progress"], s["errors"])]
    for cluster in fleet["clusters"]:
        if not cluster["ok"]:
            lines.append("- %s: could not be checked: %s" % (cluster["host"], cluster["message"]))
    for row in fleet["releases"]:
        if row["state"] in (STATE_REMEDIATED, STATE_STUCK, STATE_ERROR):
            lines.append("- %s %s/%s (%s): %s"
                         % (row["cluster"], row["namespace"], row["name"], row["status"] or "?", row["result"]))
    return "\n".join(lines)


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


def render_markdown(fleet):
    s = fleet["summary"]
    out = ["# %s" % md_cell(fleet["title"]), ""]
    if fleet["generated_at"]:
        out += ["Generated %s." % md_cell(fleet["generated_at"]), ""]
    out += _md_table(["Clusters", "Could not be checked", "Stuck", "Remediated", "Still stuck", "In progress",
                      "Errors"],
                     [[s["clusters"], s["clusters_failed"], s["stuck"], s["remediated"], s["remaining"],
                       s["in_progress"], s["errors"]]])
    out += ["", "## Clusters", ""]
    out += _md_table(["Cluster", "Context", "Checked", "Status", "Stuck", "Remediated", "Still stuck",
                      "In progress", "Errors", "Message"],
                     [[c["host"], c["cluster"], "yes" if c["ok"] else "NO", c["status"], c["summary"]["stuck"],
                       c["summary"]["remediated"], c["remaining"], c["summary"]["in_progress"],
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
    lines += [e["reason"] for e in cluster["errors"]]
    return lines


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
.s-error, .s-failed { background: #fef3f2; color: var(--bad); }
.s-in_progress { background: #eff8ff; color: #175cd3; }
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
    s = fleet["summary"]
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
    if fleet["generated_at"]:
        out.append('<div class="muted">Generated <time>%s</time></div>' % h(fleet["generated_at"]))
    out.append('<div class="cards" id="summary">')
    out += [
        _card(s["clusters"], "clusters", ""),
        _card(s["clusters_failed"], "could not be checked", "bad" if s["clusters_failed"] else "ok"),
        _card(s["stuck"], "stuck", "warn" if s["stuck"] else "ok"),
        _card(s["remediated"], "remediated", "ok"),
        _card(s["remaining"], "still stuck", "bad" if s["remaining"] else "ok"),
        _card(s["in_progress"], "in progress", ""),
        _card(s["errors"], "errors", "bad" if s["errors"] else "ok"),
        "</div>",
    ]
    out.append("<h2>Clusters</h2>")
    out.append('<table class="sortable" id="clusters"><thead><tr>'
               '<th data-type="text">Cluster</th><th data-type="text">Context</th>'
               '<th data-type="text">Status</th><th data-type="number">Stuck</th>'
               '<th data-type="number">Remediated</th><th data-type="number">Still stuck</th>'
               '<th data-type="number">In progress</th><th data-type="number">Errors</th>'
               '<th data-type="text">Message</th></tr></thead><tbody>')
    for c in fleet["clusters"]:
        out.append("<tr><td>%s</td><td>%s</td><td data-sort=\"%s\">%s</td>%s<td>%s</td></tr>" % (
            h(c["host"]), h(c["cluster"]), h(c["status"]), _badge(c["status"]),
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


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}


def render(fleet, fmt):
    return RENDERERS[fmt](fleet)
