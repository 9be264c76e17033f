# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action registry: the one place that knows which actions exist."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import restore
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import resume
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import rollback
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import uninstall
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import unlock

REGISTRY = dict((module.ACTION.name, module.ACTION) for module in (unlock, rollback, uninstall, resume, restore))


def get(name):
    return REGISTRY[name]


def needs_helm(names):
    """Whether any of the actions ``names`` (e.g. the strategy and pending_install) needs helm."""
    return any(REGISTRY[name].needs_helm for name in names)
