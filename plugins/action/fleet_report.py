# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_report run in the controller's worker, not as a module process, when the task runs on the controller
(connection ``local``, no become, no task ``environment``): the report is built and written by the module's own
code (``report.fleet_files``), without a Python process, AnsiballZ's payload and its imports (about 0.4 s of a
run). Anywhere else the module runs as usual.

One argument is for the stuck_releases role only (removed before the options are checked): ``_results_of``,
the variable its check task registers. Then O(runs) is every host's result as the role's helm_unstick action
kept it for this run (``plugin_utils.fleet_run``), and, for a host of this batch or a failed host without one
(its task failed before the action ran), its registered variable: reading every host's variable through
``hostvars`` resolves all its variables, about 20 ms a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet_files
from ansible_collections.helmops.unstick.plugins.plugin_utils import fleet_run
from ansible_collections.helmops.unstick.plugins.plugin_utils.controller_task import plain, runs_in_worker

CHECKER = ArgumentSpecValidator(fleet_files.argument_spec(), mutually_exclusive=fleet_files.MUTUALLY_EXCLUSIVE,
                                required_one_of=fleet_files.REQUIRED_ONE_OF)


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        registered = args.pop("_results_of", None)
        if registered:
            args["runs"] = self._role_results(task_vars, registered, args)
            waiting = [h for h in args.get("batch_hosts") or [] if not args["runs"].get(h)]
            if not waiting and not fleet_run.claim_report(task_vars.get("role_uuid") or "", args["runs"]):
                return dict(changed=False, msg="another host's task wrote this fleet report, with the same results")
        if not runs_in_worker(self):
            return self._execute_module(module_name="helmops.unstick.fleet_report", module_args=args,
                                        task_vars=task_vars)
        checked = CHECKER.validate(plain(args))
        if checked.error_messages:
            return dict(failed=True, msg="; ".join(checked.error_messages))
        try:
            result = fleet_files.write_report(checked.validated_parameters, bool(self._task.check_mode))
        except fleet_files.FleetReportError as err:
            return dict(err.details, failed=True, msg=str(err))
        if not result.get("warnings"):
            result.pop("warnings", None)
        return result

    def _role_results(self, task_vars, registered, args):
        """{host: result} of the role's check task for every host of ``hosts`` (see above)."""
        hosts = [str(h) for h in args.get("hosts") or []]
        runs = fleet_run.spooled_results(task_vars.get("role_uuid") or "", hosts)
        active = set(task_vars.get("ansible_play_hosts") or [])
        batch = set(args.get("batch_hosts") or hosts)
        hostvars = task_vars.get("hostvars") or {}
        for host in hosts:
            if host not in runs and (host in batch or host not in active) and host in hostvars:
                runs[host] = plain(hostvars[host].get(registered) or {})
        return runs
