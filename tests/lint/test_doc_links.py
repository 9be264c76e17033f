# SPDX-License-Identifier: GPL-3.0-or-later
"""Every relative link of the README, the docs pages and the roles' READMEs reaches a file of the repository, and
every #anchor a heading of the page it points to (as GitHub renders them); the README stays a front door."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "roles").glob("*/README.md")])
#: pages that branches being merged add (docs/architecture.md and docs/modules.md come with the module_utils
#: layout): a link to one passes while it is missing; once it exists, drop it from here
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def links(page):
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)    # inline code is not a link
    return [target for target in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def anchors(page):
    """GitHub's heading ids: lower case, punctuation dropped except '-' and '_', spaces to '-'."""
    text = FENCE.sub("", page.read_text())
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if not dest.exists():
            broken.append("%s (no such file)" % target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append("%s (no heading '%s' in %s)" % (target, anchor, rel))
    assert broken == [], "%s: broken links: %s" % (page.relative_to(ROOT), broken)


def test_the_link_check_sees_links():
    readme = links(ROOT / "README.md")
    assert "docs/development.md" in readme and "docs/fleet-report.png" in readme, readme


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 300, "README.md has %d lines: move evidence and engineering notes to docs/" % len(lines)
    text = "\n".join(lines)
    for must in ("ansible-galaxy collection install helmops.unstick", "ansible-galaxy collection build",
                 "./scripts/demo", "./scripts/test", "## Requirements"):
        assert must in text, must
