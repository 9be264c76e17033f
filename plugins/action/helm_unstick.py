# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""helm_unstick run in the controller's worker, not as a module process, when the task runs on the controller.

Every host of a fleet is a cluster checked from the controller (``connection: local`` or ``delegate_to:
localhost``). As a module, each would pay a new Python process, AnsiballZ's payload and the import of the
kubernetes client (about 0.6 CPU-seconds) for milliseconds of API work. Ansible loads this action plugin in its
main process, before it forks the workers: the imports below are paid once per ``ansible-playbook`` and every
worker inherits them. The cluster's run is the module's own (``cluster_run.check_cluster``, with helm_unstick's
argument spec and ``options.validate``, in ``batch.prepare_one``), so the result, the masking of secrets and the
warnings are the module's. Anywhere else (a remote host, become, a task ``environment``, no kubernetes client
in the controller's Python) the module runs as usual.

In the stuck_releases role (role mode, below) the action sets the task's ``ignore_errors`` (as a loop item's
``_ansible_ignore_errors`` does; the role's task sets none, since a template there would be compiled again in
every cluster's worker): a cluster that cannot be checked is an ignored failure, unless the role's CI gate
``<prefix>fail_on_stuck`` is on, and bad input never is, so a scheduled job with a bad variable ends red. A
task of the user's own keeps its ``ignore_errors``.

Arguments for the stuck_releases role only (removed before the options are checked): ``_variable_prefix``
(role mode: the options come from the role's variables, ``stuck_releases_*``, checked against the role's
argument spec, and messages name the variable, ``stuck_releases_min_age``, not the option; the gate fails a
cluster that could not be checked or that needs a human, as the fleet report judges it), ``_known_variables``
(the role's variables besides its argument spec: any other ``stuck_releases_*`` variable is warned about), and
``_fail_on_stuck`` (the gate, over the role's variable). Role mode also gives the cluster this run's id
(``plugin_utils.fleet_run``) unless a variable sets one, and keeps its result for the fleet report there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import batch
from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fleet_report
from ansible_collections.helmops.unstick.plugins.module_utils.report.run_record import name_variables, run_record
from ansible_collections.helmops.unstick.plugins.plugin_utils import fleet_run
from ansible_collections.helmops.unstick.plugins.plugin_utils.controller_task import plain, runs_in_worker
from ansible_collections.helmops.unstick.plugins.plugin_utils.role_options import role_options, unknown_variables

try:
    # the kubernetes client and everything a run imports, loaded once in the controller's main process
    import kubernetes  # noqa: F401 pylint: disable=unused-import
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import cluster_run
    CHECKER = ArgumentSpecValidator(argument_spec())
except ImportError:
    CHECKER = None   # the module runs instead, and fails with the missing library's message

_ROLE_SPECS = {}


def _role_spec(role_path):
    """The options of a role's ``main`` entry point (``meta/argument_specs.yml``), read once per path."""
    role_path = os.path.realpath(role_path)
    if role_path not in _ROLE_SPECS:
        import yaml
        path = os.path.join(role_path, "meta", "argument_specs.yml")
        spec = {}
        if os.path.exists(path):
            with open(path) as handle:
                data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            spec = ((data or {}).get("argument_specs") or {}).get("main", {}).get("options") or {}
        _ROLE_SPECS[role_path] = spec
    return _ROLE_SPECS[role_path]


# read here, in the main process, so that no worker reads it again
_role_spec(os.path.join(os.path.dirname(__file__), "..", "..", "roles", "stuck_releases"))


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def _in_process(self):
        """The module's code runs here (see above): the kubernetes client imports, and runs_in_worker."""
        return CHECKER is not None and runs_in_worker(self)

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        prefix = args.pop("_variable_prefix", "") or ""
        known = args.pop("_known_variables", None) or []
        gate = self._fail_on_stuck(args.pop("_fail_on_stuck", False)) if "_fail_on_stuck" in args else None
        if not prefix:
            return self._checked(args, task_vars, bool(gate), prefix)
        # role mode: this run's id unless a variable sets one, warnings for misspelled variables (each shown
        # once: Ansible shows a warning text once per run), and the result kept for the fleet report
        self._task.ignore_errors = False   # until the gate is known: whatever fails here ends the run red
        role = getattr(self._task, "_role", None)
        spec = _role_spec(role._role_path) if role is not None else {}
        unknown = unknown_variables(task_vars, prefix, set(spec) | set(known))
        options_or_failure, role_gate = self._role_options(task_vars, prefix, spec)
        gate = role_gate if gate is None else gate
        if "failed" in options_or_failure:   # bad input (see above)
            result = options_or_failure
        else:
            # a cluster that cannot be checked is an ignored failure, unless the gate is on (<prefix>fail_on_stuck);
            # set here, not templated by the task in every worker
            self._task.ignore_errors = not gate
            args.update(options_or_failure)
            args.setdefault("run_id", fleet_run.RUN_ID)
            result = self._checked(args, task_vars, gate, prefix)
        if unknown:
            result["warnings"] = list(unknown.values()) + list(result.get("warnings") or [])
        try:
            fleet_run.spool_result(task_vars.get("role_uuid") or "", task_vars.get("inventory_hostname"), result)
        except (OSError, TypeError, ValueError):
            pass   # the fleet report reads this host's registered result instead
        return result

    def _checked(self, args, task_vars, gate, prefix):
        """The cluster's result: the module's code here, or the module (see above); judged by the gate."""
        host = task_vars.get("inventory_hostname", "localhost")
        if not self._in_process():
            result = self._execute_module(module_name="helmops.unstick.helm_unstick", module_args=args,
                                          task_vars=task_vars)
            if result.get("failed") and result.get("option"):   # the module refused an option
                return dict(result, **self._bad_input(result["option"], result.get("msg", ""), prefix))
            return self._judged(result, host, gate, prefix)
        args = plain(args)   # yaml.safe_dump writes helm's kubeconfig from them
        try:
            params, settings, no_log = batch.prepare_one(host, args, CHECKER, options.validate)
        except batch.BatchInputError as err:
            return remove_values(self._bad_input(err.option, "%s: %s" % (err.option, err.why), prefix), err.no_log)
        run = cluster_run.check_cluster(settings, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
        no_log = cluster_run.no_log_values(no_log, [run])
        result = dict(run.result, invocation={"module_args": params})
        result.setdefault("storage_driver", settings.driver)
        result.setdefault("changed", False)
        if run.warnings:
            result["warnings"] = list(run.warnings)
        if run.exception and result.get("failed"):
            result["exception"] = run.exception
        return self._judged(remove_values(result, no_log), host, gate, prefix)

    def _bad_input(self, option, msg, prefix):
        """The failure of a refused option, nothing asked of the cluster; in role mode never ignored (see above)
        and naming the role's variable."""
        if prefix:
            self._task.ignore_errors = False
        if prefix and not option.startswith("("):
            msg = "%s%s (helm_unstick option %s): %s" % (prefix, option, option, msg)
        return dict(failed=True, msg=msg + "; nothing was asked of this cluster", option=option)

    def _role_options(self, task_vars, prefix, spec):
        """helm_unstick's options from the role's variables (``plugin_utils.role_options``) over the task's
        arguments (a play's group module_defaults), or the failure of bad input: a variable that does not
        template, or that the role's argument spec refuses. Each variable is templated once."""
        try:
            given, bad = self._role_arguments(task_vars, spec)
            if bad:
                return bad, False

            def value(name):
                if name in given:
                    return given[name]
                return self._templar.template(task_vars[name]) if name in task_vars else None
            return role_options(value, os.environ, prefix), self._fail_on_stuck(value(prefix + "fail_on_stuck"))
        except AnsibleError as err:
            return dict(failed=True, msg="%s; nothing was asked of this cluster" % err), False

    def _role_arguments(self, task_vars, spec):
        """The role's variables that its argument spec (meta/argument_specs.yml) names, templated, and the
        failure of the role's own argument validation (what Ansible's implicit ``validate_argument_spec`` task
        checks, which the collection's playbooks turn off with ``rolespec_validate: false``: it is one more task
        per host), or None."""
        if not spec:
            return {}, None
        given = self._templar.template(dict((k, task_vars[k]) for k in spec if k in task_vars))
        checked = ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True)
        if not checked.error_messages:
            return given, None
        return given, remove_values(dict(failed=True, argument_errors=checked.error_messages,
                                         msg="Validation of the role's variables failed: %s; nothing was asked of "
                                             "this cluster" % "; ".join(checked.error_messages)),
                                    checked._no_log_values)

    @staticmethod
    def _fail_on_stuck(value):
        from ansible.module_utils.parsing.convert_bool import boolean
        return boolean(value or False, strict=False)

    def _judged(self, result, host, gate, prefix):
        """With the role's gate: fail a cluster that could not be checked or that needs a human (the problems the
        fleet report names for it). Without: the result as it is."""
        if prefix:   # the role's user set a variable, not the option: name it
            if result.get("msg"):
                result["msg"] = name_variables(result["msg"], prefix)
            if result.get("warnings"):
                result["warnings"] = [name_variables(w, prefix) for w in result["warnings"]]
        if not gate:
            return result
        record = run_record(host, result, False, bool(self._task.check_mode), prefix=prefix)
        problems = fleet_report.cluster_problems(fleet_report.normalize_cluster(record["host"], record))
        if problems:
            result = dict(result, failed=True, msg=name_variables("; ".join(problems), prefix), problems=problems)
        return result
