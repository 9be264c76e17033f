# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils import fleet_report as fr

EVIL = '<img src=x onerror="alert(1)">&\'|`*'


def entry(name, ns="shop", status="pending-upgrade", revision=3, age=5400, last_good=2, action="rollback", **kw):
    out = {"namespace": ns, "name": name, "revision": revision, "status": status, "age_seconds": age,
           "last_good_revision": last_good, "action": action, "target_revision": last_good, "chart": "web",
           "chart_version": "0.1.0", "app_version": "1.0", "cluster": "ctx", "kind": "stuck"}
    out.update(kw)
    return out


def record(host, **kw):
    out = {"host": host, "cluster": host + "-ctx", "ok": True, "msg": "", "remediate": True, "check_mode": False,
           "stuck": [], "in_progress": [], "remediated": [], "errors": []}
    out.update(kw)
    return out


@pytest.fixture
def fleet():
    results = {
        "prod": record("prod", stuck=[entry("web"), entry("api", action="unlock")],
                       remediated=[entry("web", message="rollback: now deployed (rolled back to revision 2)")],
                       errors=[entry("api", reason="release shop/api on cluster prod: the record changed")]),
        "stage": record("stage", in_progress=[entry("young", age=30)],
                        errors=[{"namespace": "locked", "name": None, "reason": "cannot read namespace locked: 403"}]),
        "dead": record("dead", ok=False, msg="cluster dead: cannot scan Helm releases: API error 0: refused"),
    }
    return fr.build_fleet(results, ["prod", "stage", "dead", "ghost"], "2026-11-24T12:00:00Z")


def test_summary_counts_every_cluster_including_failed_and_missing(fleet):
    assert fleet["summary"] == {"clusters": 4, "clusters_ok": 2, "clusters_failed": 2,
                                "failed_clusters": ["dead", "ghost"], "stuck": 2, "remediated": 1, "remaining": 1,
                                "in_progress": 1, "errors": 2}
    by_host = {c["host"]: c for c in fleet["clusters"]}
    assert [c["host"] for c in fleet["clusters"]] == ["prod", "stage", "dead", "ghost"]
    assert by_host["prod"]["status"] == "stuck" and by_host["stage"]["status"] == "errors"
    assert by_host["dead"]["status"] == "failed" and "cannot scan" in by_host["dead"]["message"]
    assert "no result was recorded" in by_host["ghost"]["message"]


def test_release_rows_say_what_was_done(fleet):
    rows = {(r["cluster"], r["name"]): r for r in fleet["releases"]}
    assert set(rows) == {("prod", "web"), ("prod", "api"), ("stage", "young")}
    assert (rows["prod", "web"]["state"], rows["prod", "web"]["action_taken"]) == ("remediated", "rollback")
    assert rows["prod", "web"]["result"].startswith("rollback: now deployed")
    assert rows["prod", "api"]["state"] == "error" and "record changed" in rows["prod", "api"]["result"]
    assert rows["stage", "young"]["state"] == "in_progress" and rows["stage", "young"]["action_taken"] == "none"


def test_report_only_and_check_mode_leave_releases_stuck():
    only = fr.build_fleet({"a": record("a", remediate=False, stuck=[entry("web")])})
    assert only["summary"]["remaining"] == 1
    assert only["releases"][0]["result"] == "still stuck: report only (remediate is off)"
    check = fr.build_fleet({"a": record("a", check_mode=True, stuck=[entry("web")],
                                        remediated=[entry("web", message="check mode: would rollback")])})
    assert check["summary"]["remaining"] == 1 and check["releases"][0]["state"] == "stuck"


def test_only_whitelisted_fields_are_copied():
    sneaky = entry("web", config={"password": "hunter2"}, manifest="password: hunter2", description="hunter2")
    fleet = fr.build_fleet({"a": record("a", remediate=False, stuck=[sneaky])})
    for fmt in fr.FORMATS:
        assert "hunter2" not in fr.render(fleet, fmt)


def test_gate_problems_and_notification(fleet):
    by_host = {c["host"]: fr.cluster_problems(c) for c in fleet["clusters"]}
    assert by_host["prod"] == ["cluster prod: 1 release(s) still stuck",
                               "cluster prod: 1 error(s): release shop/api on cluster prod: the record changed"]
    assert by_host["dead"][0].startswith("cluster dead could not be checked: cluster dead: cannot scan")
    assert fr.should_notify(fleet)
    text = fr.notification_text(fleet)
    assert text.startswith("Stuck Helm releases: 4 cluster(s), 2 could not be checked; 2 stuck, 1 remediated")
    assert "- dead: could not be checked" in text and "- prod shop/web (pending-upgrade): rollback" in text
    clean = fr.build_fleet({"a": record("a", in_progress=[entry("young", age=5)])})
    assert not fr.should_notify(clean) and fr.cluster_problems(clean["clusters"][0]) == []


@pytest.mark.parametrize("seconds,text", [(None, ""), (0, "0s"), (59, "59s"), (61, "1m 1s"), (5400, "1h 30m"),
                                          (90000, "1d 1h"), ("12", "12s"), ("junk", "")])
def test_format_age(seconds, text):
    assert fr.format_age(seconds) == text


def test_json_is_the_fleet(fleet):
    assert json.loads(fr.render_json(fleet)) == json.loads(json.dumps(fleet))


def test_markdown_tables_escape_cells(fleet):
    md = fr.render_markdown(fleet)
    assert md.startswith("# Stuck Helm releases\n")
    assert "| prod | shop | web | pending-upgrade | 1h 30m | 3 | 2 | rollback | remediated |" in md
    assert "* **dead**" in md and "could not be checked: cluster dead: cannot scan" in md
    evil = fr.build_fleet({EVIL: record(EVIL, ok=False, msg="line1\nline2 | " + EVIL)})
    md = fr.render_markdown(evil)
    for line in md.splitlines():
        if line.startswith("| ") and "could not" not in line:
            # every row has as many unescaped pipes as its header
            assert len(re.findall(r"(?<!\\)\|", line)) in (8, 11), line
    assert fr.md_cell(EVIL) == "\\<img src=x onerror=\"alert(1)\"\\>&'\\|\\`\\*"
    assert EVIL not in md and md.count(fr.md_cell(EVIL)) >= 4
    assert "\\<img" in md and "line1 line2 \\|" in md


def _strip_script(page):
    return re.sub(r"<script>.*?</script>", "", re.sub(r"<style>.*?</style>", "", page, flags=re.S), flags=re.S)


def test_html_escapes_every_field():
    evil_entry = dict((k, EVIL) for k in fr.RELEASE_FIELDS)
    evil_entry.update(revision=1, age_seconds=60, last_good_revision=None, target_revision=None)
    fleet = fr.build_fleet({
        EVIL: record(EVIL, cluster=EVIL, remediate=False, stuck=[evil_entry], in_progress=[evil_entry],
                     errors=[dict(evil_entry, reason=EVIL), {"reason": EVIL}]),
        "dead": record("dead", ok=False, msg=EVIL),
    }, title=EVIL, generated_at=EVIL)
    page = fr.render_html(fleet)
    body = _strip_script(page)
    assert "<img" not in body and 'onerror="' not in body
    assert body.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#x27;|`*") >= 10
    # only the page's own tags remain
    tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", body))
    assert tags <= {"html", "head", "meta", "title", "body", "h1", "h2", "h3", "div", "time", "table", "thead",
                    "tbody", "tr", "th", "td", "span", "p", "ul", "li"}, tags


def test_html_is_self_contained_and_sortable(fleet):
    page = fr.render_html(fleet)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://""", page)
    assert "default-src 'none'" in page
    assert '<table class="sortable" id="releases">' in page
    headers = re.findall(r'<th data-key="([a-z_]+)" data-type="(\w+)">', page)
    assert [h[0] for h in headers] == [c[0] for c in fr.RELEASE_COLUMNS]
    assert ("age_seconds", "number") in headers
    assert '<td class="num" data-sort="5400">1h 30m</td>' in page
    assert 'addEventListener(\'click\'' in page
    for card in ("clusters", "could not be checked", "stuck", "remediated", "still stuck", "in progress", "errors"):
        assert '<div class="l">%s</div>' % card in page


def test_html_without_releases_or_errors():
    page = fr.render_html(fr.build_fleet({"a": record("a")}))
    assert 'id="no-releases"' in page and 'id="no-errors"' in page and 'id="releases"' not in page


def test_normalize_tolerates_odd_records():
    cluster = fr.normalize_cluster("h", {"host": "h", "stuck": [None, "x", entry("web", revision="7")],
                                         "remediated": None, "errors": [{}]})
    assert cluster["stuck"][0]["revision"] == 7 and cluster["errors"][0]["reason"] == "unknown error"
    assert fr.normalize_cluster("h", None)["ok"] is False
    assert fr.normalize_cluster("h", {"host": "h", "ok": False})["message"] == "the check failed without a message"
