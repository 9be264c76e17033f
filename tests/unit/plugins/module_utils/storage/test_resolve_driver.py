# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The storage driver from the option or from HELM_DRIVER, spelled as Helm accepts it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import resolve_driver


@pytest.mark.parametrize("option, env, expected", [
    (None, None, "secret"), (None, "", "secret"), (None, "secret", "secret"), (None, "secrets", "secret"),
    (None, "configmap", "configmap"), (None, "ConfigMaps ", "configmap"),
    ("secret", "configmap", "secret"), ("configmap", "sql", "configmap"),      # the option wins
    (None, "sql", "sql"), (None, " SQL", "sql"), ("sql", "secret", "sql"),   # Helm's SQL driver (sql/releases.py)
])
def test_drivers_helm_accepts(option, env, expected):
    assert resolve_driver(option, env) == expected


@pytest.mark.parametrize("env", ["memory", "etcd"])
def test_other_drivers_fail_naming_the_variable(env):
    with pytest.raises(ValueError, match=r"storage driver '%s' is not supported .*from HELM_DRIVER" % env):
        resolve_driver(None, env)
