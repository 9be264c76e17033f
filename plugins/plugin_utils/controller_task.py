# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When an action plugin may run its module's code in Ansible's worker instead of a module process (the
helm_unstick and fleet_report actions), and the arguments as that code receives them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def runs_in_worker(action):
    """Whether ``action``'s task runs here, on the controller, as the worker's own user and environment
    (connection ``local``, no become, no task ``environment``): anything else needs the module process."""
    return (getattr(action._connection, "transport", None) == "local" and not action._play_context.become
            and not any(action._task.environment or []))


def plain(value):
    """``value`` as plain JSON data, as a module receives its arguments: Ansible's tagged strings are no str to
    yaml.safe_dump or the renderers, and a vaulted value is its plain text."""
    return json.loads(json.dumps(value, default=str))
