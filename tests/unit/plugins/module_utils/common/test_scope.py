# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.common.scope import (
    field_selector, in_scope, release_selector, server_label_selector, status_selector,
)


@pytest.mark.parametrize("name, includes, excludes, expected", [
    ("apps", None, None, True),
    ("apps", [], [], True),
    ("apps", ["apps"], None, True),
    ("apps", ["app"], None, False),
    ("my.app-v2", ["my.*"], None, True),
    ("my.app-v2", ["my?app-v[0-9]"], None, True),
    ("myXapp-v2", ["my.app-v2"], None, False),  # dot is literal, not regex
    ("team-a-prod", ["team-*"], ["*-prod"], False),  # excludes win
    ("team-a-dev", ["team-*"], ["*-prod"], True),
    ("kube-system", None, ["kube-*"], False),
    ("Apps", ["apps"], None, False),  # case-sensitive
    ("apps", "a*", None, True),  # single string pattern
    ("apps", None, "apps", False),
    ("apps", ("x", "a*"), (), True),
])
def test_in_scope(name, includes, excludes, expected):
    assert in_scope(name, includes, excludes) is expected


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_server_label_selector(driver):
    assert server_label_selector(driver) == "owner=helm"


def test_selectors():
    assert status_selector() == "owner=helm,status in (pending-install,pending-upgrade,pending-rollback)"
    assert status_selector(["failed"]) == "owner=helm,status in (failed)"
    assert release_selector("my.app-v2") == "owner=helm,name=my.app-v2"
    assert field_selector("secret") == "type=helm.sh/release.v1"
    assert field_selector("configmap") is None


def test_selector_errors():
    for call in (lambda: server_label_selector("sql"), lambda: field_selector("memory"),
                 lambda: status_selector([]), lambda: release_selector("")):
        with pytest.raises(ValueError):
            call()
