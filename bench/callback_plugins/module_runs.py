# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts the module runs of a play (for bench/guard.py): every task result whose action ran a module on
the target, by action, with the seconds each took; controller-only actions (set_fact, debug, fail, assert,
includes, argument-spec checks) are counted apart. Written as JSON to $MODULE_RUNS_FILE at the end."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: module_runs
type: aggregate
short_description: count module runs per action (bench only)
description: Writes the module runs of the play, by action, to the file named by MODULE_RUNS_FILE.
requirements: [MODULE_RUNS_FILE set]
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

#: actions that run on the controller only (no module is sent anywhere)
CONTROLLER_ONLY = frozenset(("set_fact", "debug", "fail", "assert", "include_tasks", "include_role", "import_tasks",
                             "import_role", "meta", "validate_argument_spec", "set_stats", "include_vars"))


def short(action):
    return action.split(".")[-1] if action.startswith("ansible.builtin.") else action


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_runs"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.started = {}
        self.modules = {}
        self.controller = 0

    def v2_runner_on_start(self, host, task):
        self.started[(host.get_name(), task._uuid)] = time.time()

    def _count(self, result):
        action = short(result._task.action)
        if action in CONTROLLER_ONLY:
            self.controller += 1
            return
        began = self.started.pop((result._host.get_name(), result._task._uuid), None)
        entry = self.modules.setdefault(action, {"runs": 0, "seconds": 0.0})
        entry["runs"] += 1
        if began is not None:
            entry["seconds"] += time.time() - began

    def v2_runner_on_ok(self, result, **kwargs):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("MODULE_RUNS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({"modules": self.modules, "controller_only": self.controller}, handle)
