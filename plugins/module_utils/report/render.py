# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report (``report/fleet.py``'s model) as JSON, Markdown, HTML and Prometheus metrics.

Pure functions, no I/O: the fleet_report module writes what they return. Every field is escaped for its
format (HTML, Markdown table cells, Prometheus label values), whatever a release or cluster name holds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from html import escape as _html_escape

from ansible_collections.helmops.unstick.plugins.module_utils.report.fleet import (
    IN_PROGRESS_STATES,
    LOCKED_STATES,
    MODE_CHECK,
    MODE_REPORT,
    STATE_ERROR,
    STATE_FAILED,
    STATES,
    as_text,
    format_age,
    int_or_none,
)


# -- JSON -----------------------------------------------------------------
def render_json(fleet):
    return json.dumps(fleet, indent=2, sort_keys=True) + "\n"


# -- Markdown -------------------------------------------------------------
def md_cell(value):
    """A Markdown table cell: one line, pipes and markup characters escaped."""
    text = " ".join(as_text(value).split())
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
    return as_text(row.get(key))


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
    return _html_escape(as_text(value), quote=True)


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
    return '<span class="badge s-%s">%s</span>' % (h(state), h(as_text(state).replace("_", " ")))


def _td(row, key, kind):
    if key == "age_seconds":
        value = int_or_none(row.get(key))
        return '<td class="num" data-sort="%s">%s</td>' % (h("" if value is None else value),
                                                           h(format_age(value)))
    if kind == "number":
        value = int_or_none(row.get(key))
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
     "in_progress, possibly_running, unfinished, would_remediate, refused or failed), one series per release."),
    ("helm_unstick_cluster_checked", "gauge", "1 when the cluster was scanned, 0 when it could not be checked."),
    ("helm_unstick_cluster_releases", "gauge", "Releases of the cluster in each state (healthy ones are not counted)."),
    ("helm_unstick_cluster_scan_duration_seconds", "gauge", "Seconds helm_unstick took on the cluster."),
    ("helm_unstick_run_timestamp_seconds", "gauge", "When the report was made (Unix time), by run mode."),
)


def _label_value(value):
    return as_text(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name, labels, value):
    return "%s{%s} %s" % (name, ",".join('%s="%s"' % (k, _label_value(v)) for k, v in labels), value)


def render_prom(fleet):
    """Prometheus text exposition format (also read by node_exporter's textfile collector and a
    Pushgateway)."""
    now = fleet.get("generated_epoch")
    samples = dict((name, []) for name, _t, _h in METRICS)
    for row in fleet["releases"]:
        if row["state"] in LOCKED_STATES + IN_PROGRESS_STATES and row.get("age_seconds") is not None:
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
