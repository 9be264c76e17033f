# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML fleet report in a real browser (headless Chromium over the DevTools
protocol): it renders, scripts run under its own Content-Security-Policy, and
clicking a header sorts the table. HELMOPS_SCREENSHOT=PATH keeps a screenshot
(docs/make_screenshot.py regenerates docs/fleet-report.png)."""

import os

import pytest

import browser
import fleet_sample
from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fleet_report
from ansible_collections.helmops.unstick.plugins.module_utils.report import render as fleet_render

pytestmark = pytest.mark.slow

# scripts/bootstrap (run by scripts/test and so by CI) installs Chromium: a missing browser is a
# failure, never a silent skip. HELMOPS_ALLOW_NO_BROWSER=1 skips on a machine where it cannot be installed.
if not browser.available():
    if not os.environ.get("HELMOPS_ALLOW_NO_BROWSER"):
        raise RuntimeError("chromium is missing: scripts/bootstrap installs it (apt-get install chromium "
                           "chromium-driver); HELMOPS_ALLOW_NO_BROWSER=1 skips these tests")
    pytest.skip("chromium not installed and HELMOPS_ALLOW_NO_BROWSER is set", allow_module_level=True)

COLUMN = "Array.prototype.map.call(document.querySelectorAll('#releases tbody tr'), function (r) {" \
         " return r.cells[%d].textContent; })"


def column(chromium, key):
    index = [c[0] for c in fleet_render.RELEASE_COLUMNS].index(key)
    return chromium.evaluate(COLUMN % index)


@pytest.fixture
def page(tmp_path):
    fleet = fleet_report.build_fleet(fleet_sample.results(), fleet_sample.HOSTS, "2026-11-24T12:00:00Z")
    path = tmp_path / "stuck-releases.html"
    path.write_text(fleet_render.render_html(fleet))
    return path


def test_report_renders_and_sorts_on_header_click(page):
    with browser.Chromium() as chromium:
        chromium.open(page)
        assert chromium.evaluate("document.title") == "Stuck Helm releases"
        cards = chromium.evaluate("Array.prototype.map.call(document.querySelectorAll('#summary .card'),"
                                  " function (c) { return c.innerText.replace(/\\s+/g, ' ').trim(); })")
        assert cards == ["3 clusters", "1 could not be checked", "4 stuck", "3 remediated", "1 still stuck",
                         "1 in progress", "1 errors"]
        assert chromium.evaluate("document.querySelectorAll('#clusters tbody tr').length") == 3
        assert chromium.evaluate("document.querySelector('#errors').innerText").count("could not be checked") == 1
        # rendered, not just parsed: the table has a real size on screen
        assert chromium.evaluate("document.querySelector('#releases').getBoundingClientRect().height") > 100
        assert column(chromium, "name") == ["cart", "search", "checkout", "payments-api", "billing"]  # play order

        chromium.click("#releases th[data-key=age_seconds]")
        assert column(chromium, "age_seconds") == ["1m 35s", "40m 0s", "1h 30m", "3h 0m", "1d 2h"]  # by seconds
        assert chromium.evaluate("document.querySelector('#releases th[data-key=age_seconds]')"
                                 ".getAttribute('aria-sort')") == "ascending"
        chromium.click("#releases th[data-key=age_seconds]")
        assert column(chromium, "age_seconds") == ["1d 2h", "3h 0m", "1h 30m", "40m 0s", "1m 35s"]
        assert chromium.evaluate("document.querySelector('#releases th[data-key=age_seconds]')"
                                 ".getAttribute('aria-sort')") == "descending"

        chromium.click("#releases th[data-key=name]")
        assert column(chromium, "name") == ["billing", "cart", "checkout", "payments-api", "search"]
        assert chromium.evaluate("document.querySelector('#releases th[data-key=age_seconds]')"
                                 ".hasAttribute('aria-sort')") is False
        chromium.click("#releases th[data-key=last_good_revision]")   # empty cells sort last
        assert column(chromium, "last_good_revision") == ["2", "3", "6", "10", ""]
        chromium.click("#clusters th[data-key=status]")                 # the clusters table sorts too
        assert chromium.evaluate("document.querySelector('#clusters tbody tr').cells[0].textContent") == "staging"

        assert chromium.errors == []
        shot = os.environ.get("HELMOPS_SCREENSHOT")
        if shot:
            chromium.screenshot(shot)


def test_check_mode_report_says_would_and_nothing_changed(tmp_path):
    fleet = fleet_report.build_fleet(fleet_sample.results(check_mode=True), fleet_sample.HOSTS,
                                     "2026-11-24T12:00:00Z", generated_by="ops@awx-ee-7f9c")
    page = tmp_path / "check.html"
    page.write_text(fleet_render.render_html(fleet))
    with browser.Chromium() as chromium:
        chromium.open(page)
        assert chromium.evaluate("document.querySelector('#byline').innerText") == (
            "Mode: check mode (nothing was changed); generated 2026-11-24T12:00:00Z; by ops@awx-ee-7f9c.")
        cards = chromium.evaluate("Array.prototype.map.call(document.querySelectorAll('#summary .card'),"
                                  " function (c) { return c.innerText.replace(/\\s+/g, ' ').trim(); })")
        assert cards == ["3 clusters", "1 could not be checked", "4 stuck", "4 would remediate", "4 still stuck",
                         "1 in progress", "0 errors"]
        assert set(column(chromium, "state")) == {"would remediate", "in progress"}
        assert set(column(chromium, "action_taken")) == {"none (check mode)", "none"}
        assert all(r.startswith("check mode: would ") for r, s in zip(column(chromium, "result"),
                                                                      column(chromium, "state"))
                   if s == "would remediate")
        assert "remediated" not in chromium.evaluate("document.querySelector('#releases').innerText").replace(
            "would remediate", "")
        assert chromium.errors == []
