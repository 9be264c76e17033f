#!/usr/bin/env python3
"""Regenerate docs/fleet-report.png: the HTML fleet report of a sample fleet,
rendered by fleet_report.render_html and photographed in headless Chromium.

    source scripts/env.sh && python docs/make_screenshot.py [OUTPUT.png]
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / ".venv" / "collections")]

from ansible_collections.helmops.unstick.plugins.module_utils import fleet_report  # noqa: E402
import browser  # noqa: E402
import fleet_sample  # noqa: E402


def main(out=ROOT / "docs" / "fleet-report.png"):
    fleet = fleet_report.build_fleet(fleet_sample.results(), fleet_sample.HOSTS, "2026-11-24T12:00:00Z")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "stuck-releases.html"
        page.write_text(fleet_report.render_html(fleet))
        with browser.Chromium(width=1280, height=800) as chromium:
            chromium.open(page)
            chromium.click("#releases th[data-key=age_seconds]")  # show a sorted column
            chromium.click("#releases th[data-key=age_seconds]")
            chromium.screenshot(out)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "fleet-report.png")
