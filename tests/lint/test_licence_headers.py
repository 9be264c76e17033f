# SPDX-License-Identifier: GPL-3.0-or-later
"""One licence header convention: the SPDX line at the top of every source file (scripts/spdx-headers), and a
LICENSE file with the licence galaxy.yml names."""

import importlib.machinery
import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def spdx_headers():
    loader = importlib.machinery.SourceFileLoader("spdx_headers", str(ROOT / "scripts" / "spdx-headers"))
    spec = importlib.util.spec_from_loader("spdx_headers", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_every_source_file_starts_with_the_spdx_line():
    tool = spdx_headers()
    files = tool.listed_files()
    assert len(files) > 200 and "plugins/modules/helm_unstick.py" in files
    missing = [path for path, _text, _line in tool.missing(files)]
    assert missing == [], "no SPDX line (add it with scripts/spdx-headers --add FILE): %s" % missing


def test_the_licence_galaxy_yml_names_is_the_licence_file_and_the_header():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert galaxy["license"] == ["GPL-3.0-or-later"]
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert spdx_headers().SPDX == "SPDX-License-Identifier: GPL-3.0-or-later"


def test_the_header_goes_after_shebang_encoding_and_an_older_licence_line():
    tool = spdx_headers()
    line = "# " + tool.SPDX
    assert tool.with_header("import os\n", line) == line + "\nimport os\n"
    assert tool.with_header("#!/usr/bin/python\n# -*- coding: utf-8 -*-\nx = 1\n", line) == \
        "#!/usr/bin/python\n# -*- coding: utf-8 -*-\n" + line + "\nx = 1\n"
    gpl = "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)\n"
    assert tool.with_header("#!/usr/bin/python\n# Copyright: us\n" + gpl + "\nx = 1\n", line) == \
        "#!/usr/bin/python\n# Copyright: us\n" + gpl + line + "\n\nx = 1\n"
    # which files need it, and how their comment is written
    assert tool.comment_for("plugins/modules/x.py", "") == line
    assert tool.comment_for("scripts/go/etcd/main.go", "") == "// " + tool.SPDX
    assert tool.comment_for("chart/templates/cm.yaml", "") == "{{/* %s */ -}}" % tool.SPDX
    assert tool.comment_for("tests/x/values.yaml.j2", "") == "{# %s #}" % tool.SPDX
    assert tool.comment_for("scripts/demo", "#!/usr/bin/env bash\n") == line
    for not_source in ("README.md", "docs/fleet-report.png", "LICENSE", "scripts/go/etcd/go.sum",
                       "changelogs/changelog.yaml", "changelogs/fragments/x.yml", "CHANGELOG.rst",
                       "tests/sanity/ignore-2.16.txt", "plugins/module_utils/k8s/__init__.py"):
        assert tool.comment_for(not_source, "") is None, not_source
    assert tool.has_header("#!/bin/sh\n" + line + "\n") and not tool.has_header("x\n" * 10 + line)
    # ansible-test before 2.18: package markers stay empty, ignore files hold no comment-only line
    assert tool.comment_for("plugins/module_utils/actions/__init__.py", "import x\n") == line
