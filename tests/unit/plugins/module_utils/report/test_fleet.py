# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fr
from ansible_collections.helmops.unstick.plugins.module_utils.report import render as rr

EVIL = '<img src=x onerror="alert(1)">&\'|`*'


def entry(name, state="stuck", ns="shop", status="pending-upgrade", revision=3, age=5400, last_good=2,
          action="rollback", **kw):
    """One item of helm_unstick's ``releases`` (the one release model)."""
    out = {"namespace": ns, "name": name, "revision": revision, "status": status, "age_seconds": age,
           "last_good_revision": last_good, "action": action, "target_revision": last_good, "chart": "web",
           "chart_version": "0.1.0", "app_version": "1.0", "cluster": "ctx", "state": state}
    out.update(kw)
    return out


def record(host, releases=(), **kw):
    out = {"host": host, "cluster": host + "-ctx", "server": "https://%s.example:6443" % host, "checked": True,
           "msg": "", "refused": "", "remediate": True, "check_mode": False, "actor": "ops@ctl",
           "duration_seconds": 1.25, "warnings": [], "releases": list(releases)}
    out.update(kw)
    return out


@pytest.fixture
def fleet():
    results = {
        "prod": record("prod", [entry("web", "remediated", message="rollback: now deployed (rolled back to revision 2)"),
                                entry("api", "refused", action="unlock",
                                      reason="release shop/api on cluster prod: the record changed")]),
        "stage": record("stage", [entry("young", "in_progress", age=30, action=None),
                                  entry("db", "error", action=None, reason="corrupt record (revision 3)")],
                        warnings=["cannot read namespace locked: 403"]),
        "dead": record("dead", checked=False, releases=[],
                       msg="cluster dead: cannot scan Helm releases: API error 0: refused"),
    }
    return fr.build_fleet(results, ["prod", "stage", "dead", "ghost"], "2026-11-24T12:00:00Z",
                          generated_by="ops@ctl", generated_epoch=1795000000.0)


def test_summary_counts_every_cluster_including_failed_and_missing(fleet):
    s = fleet["summary"]
    assert (s["clusters"], s["clusters_ok"], s["clusters_failed"], s["failed_clusters"]) == (4, 2, 2, ["dead", "ghost"])
    assert (s["stuck"], s["remediated"], s["remaining"], s["in_progress"], s["refused"], s["errors"]) == (2, 1, 1, 1, 1, 2)
    assert s["mode"] == fleet["mode"] == "remediate"
    by_host = {c["host"]: c for c in fleet["clusters"]}
    assert [c["host"] for c in fleet["clusters"]] == ["prod", "stage", "dead", "ghost"]
    assert by_host["prod"]["status"] == "stuck" and by_host["stage"]["status"] == "errors"
    assert by_host["prod"]["server"] == "https://prod.example:6443"
    assert by_host["dead"]["status"] == "failed" and "cannot scan" in by_host["dead"]["message"]
    assert "no result was recorded" in by_host["ghost"]["message"]


def test_release_rows_say_what_was_done_and_never_what_was_not(fleet):
    rows = {(r["cluster"], r["name"]): r for r in fleet["releases"]}
    assert set(rows) == {("prod", "web"), ("prod", "api"), ("stage", "young"), ("stage", "db")}
    assert (rows["prod", "web"]["state"], rows["prod", "web"]["action_taken"]) == ("remediated", "rollback")
    assert rows["prod", "web"]["result"].startswith("rollback: now deployed")
    assert (rows["prod", "api"]["state"], rows["prod", "api"]["action_taken"]) == ("refused", "none (refused)")
    assert "record changed" in rows["prod", "api"]["result"]
    assert rows["stage", "young"]["state"] == "in_progress" and rows["stage", "young"]["action_taken"] == "none"


def test_report_only_and_check_mode_say_so():
    only = fr.build_fleet({"a": record("a", [entry("web")], remediate=False)})
    assert only["mode"] == "report only" and only["summary"]["remaining"] == 1
    assert only["releases"][0]["result"] == "still stuck: report only (remediate is off)"
    assert only["releases"][0]["action_taken"] == "none (planned: rollback)"
    check = fr.build_fleet({"a": record("a", [entry("web", "would_remediate",
                                                    message="check mode: would roll back to revision 2")],
                                        check_mode=True)})
    s, row = check["summary"], check["releases"][0]
    assert check["mode"] == "check mode" and (s["remediated"], s["would_remediate"], s["remaining"]) == (0, 1, 1)
    assert (row["state"], row["action_taken"]) == ("would_remediate", "none (check mode)")
    assert "would roll back" in row["result"]
    for fmt in ("markdown", "html"):
        text = rr.render(check, fmt)
        assert "Mode: check mode (nothing was changed)" in text
        assert re.search(r"would remediate", text, re.I) and not re.search(r">1</div><div class=\"l\">remediated<", text)
    assert fr.summary_lines(check)[0].startswith("Stuck Helm releases (check mode): 1 cluster(s), 0 could not be "
                                                 "checked; 1 stuck, 1 would be remediated, 1 still stuck")


def test_a_guard_refusal_shows_the_cluster_scanned_with_the_reason():
    guard = "cluster a: refusing to remediate 3 stuck releases: max_remediations is 1; nothing was changed"
    fleet = fr.build_fleet({"a": record("a", [entry(n, "refused", refused_by="max_remediations") for n in "xyz"],
                                        msg=guard, refused=guard)})
    [cluster] = fleet["clusters"]
    assert cluster["ok"] and cluster["status"] == "refused" and cluster["message"] == guard
    assert all("refused by the max_remediations guard" in r["result"] for r in fleet["releases"])
    assert fr.cluster_problems(cluster) == ["cluster a: " + guard, "cluster a: 3 release(s) still stuck"]
    assert "- a: scanned, nothing changed: " + guard in fr.summary_lines(fleet)


def test_batches_name_the_hosts_not_run_yet_instead_of_failing_them():
    fleet = fr.build_fleet({"a": record("a")}, ["a", "b", "c"], batch={"hosts": ["a"], "pending": ["b", "c"]})
    assert [c["host"] for c in fleet["clusters"]] == ["a"] and fleet["summary"]["clusters_failed"] == 0
    assert fr.summary_lines(fleet)[1] == "(batch: a; not run yet: b, c)"
    assert "not run yet: b, c" in rr.render_markdown(fleet)


def test_only_whitelisted_fields_are_copied():
    sneaky = entry("web", config={"password": "hunter2"}, manifest="password: hunter2", description="hunter2")
    fleet = fr.build_fleet({"a": record("a", [sneaky], remediate=False)})
    for fmt in fr.FORMATS:
        assert "hunter2" not in rr.render(fleet, fmt)


def test_gate_problems_and_notification(fleet):
    by_host = {c["host"]: fr.cluster_problems(c) for c in fleet["clusters"]}
    assert by_host["prod"] == ["cluster prod: 1 release(s) still stuck",
                               "cluster prod: 1 error(s): release shop/api on cluster prod: the record changed"]
    assert by_host["dead"][0].startswith("cluster dead could not be checked: cluster dead: cannot scan")
    assert fr.should_notify(fleet)
    lines = fr.summary_lines(fleet)
    assert lines[0].startswith("Stuck Helm releases (remediate): 4 cluster(s), 2 could not be checked; 2 stuck, "
                               "1 remediated, 1 still stuck, 1 in progress, 2 error(s)")
    assert "- dead: could not be checked: cluster dead: cannot scan Helm releases: API error 0: refused" in lines
    assert "- stage: warning: cannot read namespace locked: 403" in lines
    assert "- prod shop/web (pending-upgrade): remediated: rollback: now deployed (rolled back to revision 2)" in lines
    assert fr.notification_text(fleet) == "\n".join(lines)
    clean = fr.build_fleet({"a": record("a", [entry("young", "in_progress", age=5)])})
    assert not fr.should_notify(clean) and fr.cluster_problems(clean["clusters"][0]) == []


@pytest.mark.parametrize("seconds,text", [(None, ""), (0, "0s"), (59, "59s"), (61, "1m 1s"), (5400, "1h 30m"),
                                          (90000, "1d 1h"), ("12", "12s"), ("junk", "")])
def test_format_age(seconds, text):
    assert fr.format_age(seconds) == text


def test_json_is_the_fleet(fleet):
    assert json.loads(rr.render_json(fleet)) == json.loads(json.dumps(fleet))


def test_markdown_tables_escape_cells(fleet):
    md = rr.render_markdown(fleet)
    assert md.startswith("# Stuck Helm releases\n\nMode: remediate; generated 2026-11-24T12:00:00Z; by ops@ctl.\n")
    assert "| prod | shop | web | pending-upgrade | 1h 30m | 3 | 2 | rollback | remediated |" in md
    assert "| prod | prod-ctx | https://prod.example:6443 |  | yes | stuck |" in md      # records: not said
    assert "* **dead**" in md and "could not be checked: cluster dead: cannot scan" in md
    evil = fr.build_fleet({EVIL: record(EVIL, checked=False, msg="line1\nline2 | " + EVIL)})
    md = rr.render_markdown(evil)
    for line in md.splitlines():
        if line.startswith("| ") and "could not" not in line:
            # every row has as many unescaped pipes as its header
            assert len(re.findall(r"(?<!\\)\|", line)) in (8, 11, 13), line
    assert rr.md_cell(EVIL) == "\\<img src=x onerror=\"alert(1)\"\\>&'\\|\\`\\*"
    assert EVIL not in md and md.count(rr.md_cell(EVIL)) >= 4
    assert "\\<img" in md and "line1 line2 \\|" in md


def _strip_script(page):
    return re.sub(r"<script>.*?</script>", "", re.sub(r"<style>.*?</style>", "", page, flags=re.S), flags=re.S)


def test_html_escapes_every_field():
    evil_entry = dict((k, EVIL) for k in fr.RELEASE_FIELDS)
    evil_entry.update(revision=1, age_seconds=60, last_good_revision=None, target_revision=None)
    fleet = fr.build_fleet({
        EVIL: record(EVIL, [dict(evil_entry, state="stuck"), dict(evil_entry, state="in_progress"),
                            dict(evil_entry, state="error", reason=EVIL), {"reason": EVIL, "state": EVIL}],
                     cluster=EVIL, server=EVIL, remediate=False, warnings=[EVIL]),
        "dead": record("dead", checked=False, msg=EVIL),
    }, title=EVIL, generated_at=EVIL, generated_by=EVIL)
    page = rr.render_html(fleet)
    body = _strip_script(page)
    assert "<img" not in body and 'onerror="' not in body
    assert body.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#x27;|`*") >= 10
    # only the page's own tags remain
    tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", body))
    assert tags <= {"html", "head", "meta", "title", "body", "h1", "h2", "h3", "div", "time", "table", "thead",
                    "tbody", "tr", "th", "td", "span", "p", "ul", "li"}, tags


def test_html_is_self_contained_and_sortable(fleet):
    page = rr.render_html(fleet)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=|@import|url\(|<link|<script\s+[^>]""", page)   # no external assets
    assert "default-src 'none'" in page
    assert '<table class="sortable" id="releases">' in page
    headers = re.findall(r'<th data-key="([a-z_]+)" data-type="(\w+)">', page)
    assert [h[0] for h in headers] == [c[0] for c in rr.CLUSTER_COLUMNS + rr.RELEASE_COLUMNS]
    assert ("age_seconds", "number") in headers
    assert '<td class="num" data-sort="5400">1h 30m</td>' in page
    assert 'addEventListener(\'click\'' in page
    assert '<div class="muted" id="byline">Mode: remediate; generated 2026-11-24T12:00:00Z; by ops@ctl.</div>' in page
    for card in ("clusters", "could not be checked", "stuck", "remediated", "still stuck", "in progress", "errors"):
        assert '<div class="l">%s</div>' % card in page


def test_html_without_releases_or_errors():
    page = rr.render_html(fr.build_fleet({"a": record("a")}))
    assert 'id="no-releases"' in page and 'id="no-errors"' in page and 'id="releases"' not in page


def test_normalize_tolerates_odd_records():
    cluster = fr.normalize_cluster("h", {"host": "h", "releases": [None, "x", entry("web", revision="7"), {}]})
    web, odd = cluster["releases"]
    assert web["revision"] == 7 and (odd["state"], odd["result"]) == ("error", "unknown error")
    assert fr.normalize_cluster("h", None)["ok"] is False
    assert fr.normalize_cluster("h", {"host": "h", "checked": False})["message"] == "the check failed without a message"


def test_prom_metrics_are_built_from_the_release_states(fleet):
    text = rr.render_prom(fleet)
    assert ('helm_unstick_release_pending_age_seconds{cluster="prod",namespace="shop",release="api",'
            'status="pending-upgrade",revision="3",state="refused"} 5400') in text
    assert 'release="web"' not in text                                   # remediated: no longer pending
    assert 'helm_unstick_cluster_checked{cluster="dead"} 0' in text and 'helm_unstick_cluster_checked{cluster="prod"} 1' in text
    assert 'helm_unstick_cluster_releases{cluster="prod",state="remediated"} 1' in text
    assert 'helm_unstick_cluster_scan_duration_seconds{cluster="prod"} 1.250' in text
    assert 'helm_unstick_run_timestamp_seconds{mode="remediate"} 1795000000.000' in text
    assert text.count("# TYPE ") == len(rr.METRICS) and text.endswith("\n")
    odd = fr.build_fleet({'a"b\\c\nd': record('a"b\\c\nd', [entry('w"e\\b\n', "stuck")])})
    assert 'cluster="a\\"b\\\\c\\nd"' in rr.render_prom(odd) and 'release="w\\"e\\\\b\\n"' in rr.render_prom(odd)


def test_pending_hosts_stay_out_even_when_the_role_passes_them_with_empty_records():
    fleet = fr.build_fleet({"a": record("a"), "b": {}}, ["a", "b"], batch={"hosts": ["a"], "pending": ["b"]})
    assert [c["host"] for c in fleet["clusters"]] == ["a"] and fleet["summary"]["clusters_failed"] == 0


def test_each_cluster_says_where_its_helm_keeps_records():
    """A SQL-backed cluster shows its driver and database (host:port/dbname, never credentials)."""
    fleet = fr.build_fleet({
        "pg": record("pg", storage_driver="sql", database="db.example:5432/helm"),
        "k8s": record("k8s", storage_driver="secret", database=""),
    })
    by_host = dict((c["host"], c) for c in fleet["clusters"])
    assert (by_host["pg"]["storage_driver"], by_host["pg"]["database"], by_host["pg"]["records"]) == (
        "sql", "db.example:5432/helm", "sql db.example:5432/helm")
    assert by_host["k8s"]["records"] == "secret"
    assert "| pg | pg-ctx | https://pg.example:6443 | sql db.example:5432/helm | yes | clean |" in rr.render_markdown(fleet)
    assert "<td>sql db.example:5432/helm</td>" in rr.render_html(fleet)


# -- merge mode: the slices of a sliced job, one report ------------------------------------------------------
def test_merged_slices_are_the_report_of_one_run(fleet):
    results = {h: record(h, [entry("web", "stuck", cluster=h)], remediate=False) for h in ("a", "b", "c", "d")}
    results["c"] = record("c", checked=False, msg="cluster c: cannot scan Helm releases", remediate=False)
    one_run = fr.build_fleet(results, ["a", "b", "c", "d"], "t1", generated_by="ops@ctl")
    parts = [json.loads(rr.render_json(fr.build_fleet({h: results[h] for h in hosts}, hosts, "t0",
                                                      generated_by="ops@ctl")))
             for hosts in (["a", "c"], ["b", "d"])]   # AWX's two slices of a, b, c, d
    merged = fr.merge(parts, generated_at="t1", generated_by="ops@ctl")
    assert merged == one_run
    assert merged["summary"]["clusters"] == 4 and merged["summary"]["failed_clusters"] == ["c"]
    assert merged["summary"]["stuck"] == 3 and merged["mode"] == fr.MODE_REPORT
    # the inventory's order when given, else by host
    assert [c["host"] for c in fr.merge(parts, hosts=["d", "c"])["clusters"]] == ["d", "c", "a", "b"]


def test_merge_refuses_a_host_in_two_reports_naming_it(fleet):
    part = json.loads(rr.render_json(fleet))
    other = fr.build_fleet({"x": record("x")}, ["x"])
    with pytest.raises(fr.MergeError, match=r"host\(s\) in more than one report: dead \(reports 1, 3\), "
                                            r"ghost \(reports 1, 3\), prod \(reports 1, 3\), stage \(reports 1, 3\)"):
        fr.merge([part, other, part])


@pytest.mark.parametrize("report, why", [
    ({"summary": {}}, "report 1 is not a fleet report"),
    ({"schema_version": 1, "clusters": []}, "report 1 has schema_version 1"),
    ("not a dict", "report 1 is not a fleet report"),
])
def test_merge_refuses_what_is_not_a_fleet_report(report, why):
    with pytest.raises(fr.MergeError, match=re.escape(why)):
        fr.merge([report])


def test_a_possibly_running_release_is_counted_in_progress_everywhere_and_fails_the_gate():
    # left alone because it may still be running (issue 25): in progress in every count, and a CI gate fails
    reason = ("pending-upgrade for 600 seconds (min_age 5m), but it may still be running: hook Job shop/web-migrate "
              "(pre-upgrade) has not finished")
    fleet = fr.build_fleet({"a": record("a", [entry("web", "possibly_running", age=600, action=None, reason=reason),
                                              entry("young", "in_progress", age=5, action=None)])},
                           generated_epoch=1795000000.0)
    s = fleet["summary"]
    assert (s["stuck"], s["remaining"], s["in_progress"]) == (0, 0, 2)
    cluster = fleet["clusters"][0]
    assert cluster["summary"]["in_progress"] == 2 and [r["name"] for r in cluster["in_progress"]] == ["web", "young"]
    row = [r for r in fleet["releases"] if r["name"] == "web"][0]
    assert (row["action_taken"], row["result"]) == ("none (may still be running)", "left alone: " + reason)
    assert "0 still stuck, 2 in progress" in fr.summary_lines(fleet)[0]
    assert "- a shop/web (pending-upgrade): possibly running: left alone: " + reason in fr.summary_lines(fleet)
    assert fr.cluster_problems(cluster) == [
        "cluster a: 1 release(s) pending past min_age and possibly still running, left alone: shop/web revision 3 "
        "(left alone: %s)" % reason]
    assert cluster["status"] == "possibly running"
    markdown = rr.render_markdown(fleet)
    assert "| 1 | 0 | 0 | 0 | 0 | 2 | 0 |" in markdown                       # fleet table: 2 in progress
    assert "| a | a-ctx | https://a.example:6443 |  | yes | possibly running | 0 | 0 | 0 | 2 | 0 |" in markdown
    assert '<div class="n">2</div><div class="l">in progress</div>' in rr.render_html(fleet)
    prom = rr.render_prom(fleet)
    assert ('helm_unstick_release_pending_age_seconds{cluster="a",namespace="shop",release="web",'
            'status="pending-upgrade",revision="3",state="possibly_running"} 600') in prom
    assert 'helm_unstick_cluster_releases{cluster="a",state="possibly_running"} 1' in prom
