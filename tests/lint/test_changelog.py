# SPDX-License-Identifier: GPL-3.0-or-later
"""changelogs/ as antsibull-changelog keeps it: every fragment and changelog.yaml pass its linters, and
CHANGELOG.rst is what `antsibull-changelog generate` makes from changelog.yaml (nobody edited it by hand)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = Path(sys.executable).parent / "antsibull-changelog"


def changelog(*args, cwd=ROOT):
    proc = subprocess.run([str(CHANGELOG)] + list(args), cwd=str(cwd), capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, NO_COLOR="1"))
    return proc.returncode, proc.stdout + proc.stderr


def test_fragments_and_changelog_yaml_pass_antsibull_changelog_lint():
    rc, out = changelog("lint")
    assert rc == 0 and out.strip() == "", out
    rc, out = changelog("lint-changelog-yaml", "changelogs/changelog.yaml")
    assert rc == 0 and out.strip() == "", out
    fragments = sorted((ROOT / "changelogs" / "fragments").glob("*.yml"))
    assert len(fragments) >= 5, fragments
    releases = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert galaxy["version"] in releases                     # the changelog covers the version galaxy.yml builds


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    for part in ("galaxy.yml", "changelogs/config.yaml", "changelogs/changelog.yaml"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / part, tmp_path / part)
    (tmp_path / "changelogs" / "fragments").mkdir()
    rc, out = changelog("generate", cwd=tmp_path)
    assert rc == 0, out
    generated = (tmp_path / "CHANGELOG.rst").read_text()
    assert generated == (ROOT / "CHANGELOG.rst").read_text(), "CHANGELOG.rst differs: run antsibull-changelog generate"
    assert "v%s" % yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"] in generated


def test_the_release_lists_every_module_plugin_role_and_playbook_the_collection_ships():
    """The changelog of the version galaxy.yml builds names what the collection holds (a first release: all of it)."""
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    release = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    listed = dict((kind, sorted(p["name"] for p in plugins)) for kind, plugins in release.get("plugins", {}).items())
    listed["module"] = sorted(p["name"] for p in release.get("modules", []))
    listed.update((kind, sorted(o["name"] for o in objects)) for kind, objects in release.get("objects", {}).items())
    shipped = {
        "module": sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"),
        "lookup": sorted(p.stem for p in (ROOT / "plugins" / "lookup").glob("*.py") if p.stem != "__init__"),
        "inventory": sorted(p.stem for p in (ROOT / "plugins" / "inventory").glob("*.py") if p.stem != "__init__"),
        "role": sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()),
        "playbook": sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml")),
    }
    assert dict((kind, listed.get(kind, [])) for kind in shipped) == shipped
