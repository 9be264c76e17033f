# SPDX-License-Identifier: GPL-3.0-or-later
"""Each role's meta/argument_specs.yml documents every variable of its defaults/main.yml with the
same default, and documents no default that defaults/main.yml does not set."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def load(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return defaults, specs


def test_both_roles_have_specs():
    assert ROLES == ["guarded_upgrade", "stuck_releases"]


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_with_the_same_value(role):
    defaults, specs = load(role)
    options = specs["main"]["options"]
    assert sorted(set(defaults) - set(options)) == [], "defaults not in argument_specs.yml"
    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), name
        if spec.get("required"):
            continue
        assert spec.get("default") == value, "%s: spec default %r, defaults/main.yml %r" % (
            name, spec.get("default"), value)


@pytest.mark.parametrize("role", ROLES)
def test_no_documented_default_is_missing_from_defaults(role):
    defaults, specs = load(role)
    for entry, spec in specs.items():
        for name, option in spec.get("options", {}).items():
            if option.get("default") is not None:
                assert name in defaults, "%s:%s documents default %r for %s but defaults/main.yml lacks it" % (
                    role, entry, option["default"], name)
                assert defaults[name] == option["default"], (role, entry, name)
