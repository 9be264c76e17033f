#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_unstick_batch
short_description: Run helm_unstick on many clusters at once, in one process
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Runs what M(helmops.unstick.helm_unstick) does on every cluster of O(clusters), in one module process, at most
    O(concurrency) clusters at a time (threads). It is what the C(helmops.unstick.stuck_releases) role runs once
    per batch of hosts (C(run_once), C(delegate_to=localhost)) instead of one module process per cluster.
  - Each cluster keeps its own connection, API client, deadline (its C(cluster_timeout)), helm kubeconfig, errors
    and result; a slow, dead or forbidden cluster holds one worker for at most its own C(cluster_timeout) and never
    fails another. helm runs inside its cluster's worker, so at most O(concurrency) helm processes run at once.
  - Every cluster's options are checked before the first request. One bad option fails the task naming the host,
    the option and its value (never a secret's), and no cluster is asked anything.
  - A cluster that could not be checked, or whose releases had problems, does not fail this task; its entry in
    RV(cluster_results) says so (C(failed), C(msg)), exactly as M(helmops.unstick.helm_unstick) would have failed.
options:
  clusters:
    description:
      - The clusters, a dictionary from a name (the inventory host) to that cluster's
        M(helmops.unstick.helm_unstick) options (connection, C(remediate), C(strategy), C(min_age), ...). Options
        whose value is null are unset (their default or C(K8S_AUTH_*) variable applies).
      - Holds credentials, so it is a no_log option; only the connection options helm_unstick marks no_log are
        masked in the results.
    type: dict
    required: true
  concurrency:
    description:
      - How many clusters are checked (and remediated) at the same time. Each one is a thread waiting on its API
        server most of the time, and at most this many helm processes run at once.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    description: Every cluster plans and reports; nothing is written. RV(ignore:changed) says whether any would act.
  diff_mode:
    support: full
    description: The status before and after of each remediated release, one diff per cluster.
notes:
  - Each cluster's result is M(helmops.unstick.helm_unstick)'s result for it, plus C(failed) and C(msg) when it
    could not be checked or O(clusters) asked for C(fail_on_error) and there were problems.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - the C(helm) CLI (3.x or 4.x) for C(strategy=rollback) and C(pending_install=uninstall)
seealso:
  - module: helmops.unstick.helm_unstick
"""

EXAMPLES = r"""
- name: Check every cluster of this batch in one process (what the stuck_releases role does)
  helmops.unstick.helm_unstick_batch:
    clusters:
      prod-eu-1: {kubeconfig: ~/.kube/prod-eu-1.yaml, remediate: false}
      prod-us-1: {host: "https://api.prod-us-1.example:6443", api_key: "{{ us_token }}", remediate: false}
    concurrency: 16
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Fail the hosts whose cluster could not be checked
  ansible.builtin.assert:
    that: not (fleet.cluster_results[inventory_hostname].failed | default(false))
"""

RETURN = r"""
cluster_results:
  description:
    - One entry per cluster of O(clusters), keyed like it, each M(helmops.unstick.helm_unstick)'s return values for
      that cluster (C(cluster), C(server), C(releases), C(summary), C(changed), ...), with C(failed) and C(msg)
      when it could not be checked.
  returned: success
  type: dict
  sample: {prod-eu-1: {changed: false, cluster: prod-eu-1, releases: [], summary: {stuck: 0}}}
failed_hosts:
  description: The clusters whose entry in RV(cluster_results) failed.
  returned: success
  type: list
  elements: str
concurrency:
  description: The number of workers used (at most O(concurrency), at most one per cluster).
  returned: success
  type: int
"""

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import kubernetes_module


def main():
    module = kubernetes_module(dict(clusters=dict(type="dict", required=True, no_log=True),
                                    concurrency=dict(type="int", default=16)))
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import batch
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.cluster_run import check_cluster, no_log_values
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec

    # shown instead of the options themselves (``clusters`` holds every cluster's credentials)
    invocation = {"module_args": {"clusters": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                                  "concurrency": module.params["concurrency"]}}
    if module.params["concurrency"] < 1:
        module.fail_json(msg="concurrency: must be 1 or more, got %r" % module.params["concurrency"],
                         option="concurrency", invocation=invocation)
    # ``clusters`` is no_log as a whole (it carries tokens), which would mask every string in it (namespace and
    # release names too): mask exactly what helm_unstick would mask for each cluster instead.
    try:
        prepared, no_log = batch.prepare(module.params["clusters"], argument_spec(), options.validate)
    except batch.BatchInputError as err:
        module.no_log_values = err.no_log
        module.fail_json(msg="%s; nothing was asked of any cluster" % err, host=err.host, option=err.option,
                         invocation=invocation)
    module.no_log_values = set(no_log)
    runs = batch.run_all(prepared, module.params["concurrency"], check_cluster, check_mode=module.check_mode,
                         diff=module._diff)
    results, diffs, failed = {}, [], []
    module.no_log_values = no_log_values(no_log, runs.values())
    for host, run in runs.items():   # in the given host order
        results[host] = run.result
        if run.result.get("failed"):
            failed.append(host)
        for warning in run.warnings:
            module.warn("%s: %s" % (host, warning))
        diff = run.result.pop("diff", None)
        if diff:
            diffs.append(dict(diff, before_header="%s (before)" % host, after_header="%s (after)" % host))
    out = dict(invocation=invocation, changed=any(r.get("changed") for r in results.values()),
               cluster_results=results, failed_hosts=failed,
               concurrency=max(1, min(module.params["concurrency"], len(prepared))))
    if diffs:
        out["diff"] = diffs
    module.exit_json(**out)


if __name__ == "__main__":
    main()
