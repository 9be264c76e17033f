#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write one report of stuck Helm releases across a fleet of clusters (JSON, Markdown, HTML, metrics)
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Takes the outcome of M(helmops.unstick.helm_unstick) on every cluster of a play, as recorded by the
    C(helmops.unstick.stuck_releases) role, and writes one fleet report into O(dest).
  - Every report is built from M(helmops.unstick.helm_unstick)'s one release model (its C(releases) list,
    each release with its C(state)) and says the run mode (report only, check mode, remediate), when,
    by whom, and each cluster's API server URL. Check mode says "would", never "remediated"; a refused or
    failed action is shown as such with its reason; a cluster the C(max_remediations) guard held back is
    shown as scanned, with the guard's reason.
  - C(json) is machine-readable (the run, one entry per cluster with its counts by state, and one row per
    release with its state, the action taken and the result).
  - C(markdown) is for tickets and chat.
  - C(html) is one self-contained page (inline CSS and JavaScript, no external assets) with summary counts,
    a table of every stuck, in-progress or failed release that sorts when a header is clicked, and the
    errors per cluster.
  - C(prom) is Prometheus' text exposition format, for node_exporter's textfile collector or a Pushgateway, with
    C(helm_unstick_release_pending_age_seconds) (one series per release still pending, with C(cluster),
    C(namespace), C(release), C(status), C(revision) and C(state) labels), C(helm_unstick_cluster_checked),
    C(helm_unstick_cluster_releases) (by C(state)), C(helm_unstick_cluster_scan_duration_seconds) and
    C(helm_unstick_run_timestamp_seconds) (by C(mode)). docs/metrics.md has an alert rule.
  - Only whitelisted, non-secret fields of each release are copied (namespace, name, revision, status, age,
    last good revision, action, chart name and versions). Release values are never part of the input
    (M(helmops.unstick.helm_unstick) never returns them) nor of a report.
  - Meant to run once per play on the controller (C(run_once), C(delegate_to=localhost)).
options:
  results:
    description:
      - The recorded outcome per inventory host, a dict from host name to record. A record has C(host),
        C(cluster), C(server), C(checked) (false when the cluster could not be checked), C(msg), C(refused) (the
        guard's reason, if it held the cluster back), C(remediate), C(check_mode), C(warnings),
        C(duration_seconds) and C(releases), the list returned by M(helmops.unstick.helm_unstick).
      - A host whose record is empty or null is reported as a cluster that could not be checked.
      - One of O(results), O(runs) and O(reports) is required.
    type: dict
  runs:
    description:
      - Instead of O(results), the M(helmops.unstick.helm_unstick) result of each host (what its task registered,
        a failed one too), a dict from host name to result; each becomes the host's record as O(results) takes
        it (what the C(helmops.unstick.stuck_releases) role does). O(run_defaults) says what the results do not.
      - A host whose result is empty or null is reported as a cluster that could not be checked.
    type: dict
  run_defaults:
    description:
      - With O(runs), what every run was asked when its result does not say (it failed before helm_unstick
        read its options), C(remediate) (bool), C(check_mode) (bool), C(storage_driver), and
        C(variable_prefix), which names options in messages as the variables that set them (a role's
        C(stuck_releases_) gives C(stuck_releases_namespaces) for the option C(namespaces)).
    type: dict
    default: {}
  reports:
    description:
      - Merge mode, instead of O(results) or O(runs). Fleet reports to merge into one (several JSON reports in, one
        report out), each the content of a C(stuck-releases.json) (a dictionary, or a JSON string) or the path
        of one on the controller. For example the partial reports of the slices of an AWX/AAP sliced job
        (the role's C(stuck_releases_report_artifact)); the result is what one run over all their clusters
        would have written.
      - A host found in more than one report fails the task naming it, and nothing is written.
      - O(hosts) orders the clusters; clusters of hosts it does not list follow, sorted by host.
    type: list
    elements: raw
  return_report:
    description: Also return the whole report as RV(report) (what C(stuck-releases.json) holds).
    type: bool
    default: false
  hosts:
    description:
      - Every host of the play, in order (for example C(ansible_play_hosts_all)). Hosts missing from
        O(results) are reported as clusters that could not be checked. In merge mode (O(reports)), the order
        of the clusters.
    type: list
    elements: str
    default: []
  dest:
    description:
      - Directory the report files are written to; created if missing. Files are replaced on every run.
      - A relative path is relative to the directory C(ansible-playbook) was started from.
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, markdown, html, prom]
    default: [json, markdown, html, prom]
  basename:
    description: File name without extension; the files are C(BASENAME.json), C(.md), C(.html) and C(.prom).
    type: str
    default: stuck-releases
  title:
    description: Title of the report.
    type: str
    default: Stuck Helm releases
  generated_by:
    description: Who ran it (for example C(user@controller)); shown in every report.
    type: str
    default: ""
  batch_hosts:
    description:
      - With O(runs), the hosts that must all have a result before the report is written (for example
        C(ansible_play_batch)); while one has none (C(strategy=free), a host still running), nothing is written
        and RV(files) is not returned.
    type: list
    elements: str
    default: []
  pending_hosts:
    description:
      - Hosts of the play that have not run yet (a later batch of C(serial)). They are left out of the report and
        named as not run yet, instead of being reported as clusters that could not be checked.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Renders but writes nothing (run the task with C(check_mode=false) to write reports in check runs).
  diff_mode:
    support: none
    description: The report files are replaced whole; no diff is shown.
notes:
  - Clusters that could not be checked are also reported as warnings.
"""

EXAMPLES = r"""
- name: Write the fleet report once, on the controller
  helmops.unstick.fleet_report:
    # each host's registered helm_unstick result (a failed one too)
    runs: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
              | map(attribute='stuck_releases_run', default={}))) }}"
    run_defaults:
      remediate: false
      check_mode: "{{ ansible_check_mode }}"
    hosts: "{{ ansible_play_hosts_all }}"
    dest: /var/tmp/helm-stuck-report
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Merge the partial reports of an AWX sliced job into one (playbooks/merge_reports.yml does this)
  helmops.unstick.fleet_report:
    reports:
      - /var/tmp/slice-1/stuck-releases.json
      - /var/tmp/slice-2/stuck-releases.json
    dest: /var/tmp/helm-stuck-report
  delegate_to: localhost

- name: Make the summary a job artifact (AWX, AAP)
  ansible.builtin.set_stats:
    data:
      helm_stuck_releases: "{{ fleet.summary }}"
  run_once: true
"""

RETURN = r"""
files:
  description: Absolute path of each file written (or that would be written in check mode), by format.
  returned: unless RV(waiting_for)
  type: dict
  sample: {json: /srv/reports/stuck-releases.json, markdown: /srv/reports/stuck-releases.md,
           html: /srv/reports/stuck-releases.html}
summary:
  description: Fleet counts.
  returned: unless RV(waiting_for)
  type: dict
  contains:
    clusters:
      description: Number of clusters (hosts).
      type: int
      returned: unless RV(waiting_for)
    clusters_ok:
      description: Clusters that could be checked.
      type: int
      returned: unless RV(waiting_for)
    clusters_failed:
      description: Clusters that could not be checked (unreachable, forbidden, bad kubeconfig, guard).
      type: int
      returned: unless RV(waiting_for)
    failed_clusters:
      description: Their inventory names.
      type: list
      elements: str
      returned: unless RV(waiting_for)
    run_ids:
      description:
        - The run ids of the clusters' runs (one for a run of the C(helmops.unstick.stuck_releases) role, several
          for reports merged from job slices); C(playbooks/restore.yml) takes one as C(restore_run) to undo that run.
      type: list
      elements: str
      returned: unless RV(waiting_for)
    stuck:
      description: Stuck releases found.
      type: int
      returned: unless RV(waiting_for)
    remediated:
      description: Releases remediated by this run.
      type: int
      returned: unless RV(waiting_for)
    remaining:
      description: Releases still stuck after the run (report only, check mode, refused, failed, unfinished).
      type: int
      returned: unless RV(waiting_for)
    in_progress:
      description: Pending releases left alone as possibly live, never touched (younger than C(min_age), or
        older but C(possibly_running)).
      type: int
      returned: unless RV(waiting_for)
    errors:
      description: Releases in state C(error), C(failed) or C(refused) on the clusters that could be checked.
      type: int
      returned: unless RV(waiting_for)
    would_remediate:
      description: Releases a remediating run would remediate (check mode); they are also still stuck.
      type: int
      returned: unless RV(waiting_for)
    unfinished:
      description: Releases with an earlier remediation that did not complete.
      type: int
      returned: unless RV(waiting_for)
    refused:
      description: Releases whose write the API (409, 403) or the guard refused.
      type: int
      returned: unless RV(waiting_for)
    failed:
      description: Releases whose remediation was tried and did not complete.
      type: int
      returned: unless RV(waiting_for)
    mode:
      description: C(report only), C(check mode) or C(remediate).
      type: str
      returned: unless RV(waiting_for)
  sample: {clusters: 3, clusters_ok: 2, clusters_failed: 1, failed_clusters: [staging], stuck: 2,
           remediated: 2, remaining: 0, in_progress: 0, errors: 0}
clusters:
  description: One item per cluster, in play order.
  returned: unless RV(waiting_for)
  type: list
  elements: dict
  contains:
    host:
      description: Inventory host name.
      type: str
      returned: unless RV(waiting_for)
    cluster:
      description: The cluster as M(helmops.unstick.helm_unstick) named it (context, host or current context).
      type: str
      returned: unless RV(waiting_for)
    ok:
      description: Whether the cluster could be checked.
      type: bool
      returned: unless RV(waiting_for)
    status:
      description: One of C(clean), C(remediated), C(stuck), C(errors), C(refused) (the guard held it back), C(failed).
      type: str
      returned: unless RV(waiting_for)
    message:
      description: Why the cluster could not be checked, empty otherwise.
      type: str
      returned: unless RV(waiting_for)
    remaining:
      description: Its releases still stuck.
      type: int
      returned: unless RV(waiting_for)
    problems:
      description: What fails a CI gate for this cluster (could not be checked, still stuck, errors); empty if none.
      type: list
      elements: str
      returned: unless RV(waiting_for)
notify:
  description: Whether anything was stuck, remediated or failed (worth a notification).
  returned: unless RV(waiting_for)
  type: bool
notify_text:
  description: A short plain-text summary for chat webhooks (the lines of RV(summary_lines)).
  returned: unless RV(waiting_for)
  type: str
summary_lines:
  description: The fleet summary as a list of lines (the run, then one line per cluster or release worth a look).
  returned: unless RV(waiting_for)
  type: list
  elements: str
mode:
  description: The run mode, C(report only), C(check mode) or C(remediate).
  returned: unless RV(waiting_for)
  type: str
report:
  description: The whole report, as C(stuck-releases.json) holds it.
  returned: when O(return_report=true)
  type: dict
waiting_for:
  description: With O(batch_hosts), the hosts still without a result; nothing was written.
  returned: when a host of O(batch_hosts) has no result yet
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet_files


def main():
    module = AnsibleModule(argument_spec=fleet_files.argument_spec(), supports_check_mode=True,
                           mutually_exclusive=fleet_files.MUTUALLY_EXCLUSIVE, required_one_of=fleet_files.REQUIRED_ONE_OF)
    try:
        result = fleet_files.write_report(module.params, module.check_mode)
    except fleet_files.FleetReportError as err:
        module.fail_json(msg=str(err), **err.details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
