#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Regenerate docs/fleet-report.png and docs/fleet-report-check-mode.png: the HTML fleet report of a
sample fleet (remediated, and the same fleet under --check), rendered by report/render.py render_html and
photographed in headless Chromium.

    source scripts/env.sh && python docs/make_screenshot.py [OUTPUT.png [CHECK-MODE-OUTPUT.png]]
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / ".venv" / "collections")]

from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fleet_report  # noqa: E402
from ansible_collections.helmops.unstick.plugins.module_utils.report import render as fleet_render  # noqa: E402
import browser  # noqa: E402
import fleet_sample  # noqa: E402


def shoot(out, check_mode):
    fleet = fleet_report.build_fleet(fleet_sample.results(check_mode), fleet_sample.HOSTS, "2026-11-24T12:00:00Z",
                                     generated_by="ops@awx-ee-7f9c")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "stuck-releases.html"
        page.write_text(fleet_render.render_html(fleet))
        with browser.Chromium(width=1280, height=800) as chromium:
            chromium.open(page)
            chromium.click("#releases th[data-key=age_seconds]")  # show a sorted column
            chromium.click("#releases th[data-key=age_seconds]")
            chromium.screenshot(out)
    print(out)


def main(out=ROOT / "docs" / "fleet-report.png", check_out=ROOT / "docs" / "fleet-report-check-mode.png"):
    shoot(out, False)
    shoot(check_out, True)


if __name__ == "__main__":
    main(*[Path(arg) for arg in sys.argv[1:3]])
