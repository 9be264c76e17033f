#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_unstick
short_description: Find, report and safely remediate Helm releases stuck in a pending state
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Finds every Helm release whose B(newest) revision is C(pending-install), C(pending-upgrade) or
    C(pending-rollback), which makes Helm refuse any further operation with
    "another operation (install/upgrade/rollback) is in progress".
  - A pending newest revision younger than O(min_age) is reported as C(in_progress) and never touched, as it
    may be a live operation. Age is measured on the API server's clock (its C(Date) header), not on
    the controller's.
  - Older pending revisions under a newer one (history left by an earlier C(helm rollback)) are not stuck
    and are not reported.
  - Remediation strategies are C(rollback) (the manual fix, C(helm rollback REL LAST_GOOD), needs the helm
    CLI), C(unlock) (mark the stuck revision C(failed) in label and payload, no helm CLI needed) and, for
    C(pending-install), C(uninstall).
  - Every write is conditional on the record's C(resourceVersion). If Helm wrote the record after the scan
    the write is refused by the API server, the release is skipped and reported, and nothing is retried.
  - The scan reads only metadata, filtered on the server, and fetches full records only for releases that
    are stuck or in progress, so its cost follows the number of stuck releases, not the size of the history.
  - Release values (the C(config) of a release, often holding passwords) are never returned or logged.
    Only backups contain them, O(backup_dir) files, or with O(backup=cluster) objects of the driver's kind in
    the release's own namespace (so they never leave the cluster).
  - A pending revision's age is the time since helm created its record, on the API server's clock (the
    C(createdat) column with O(storage_driver=sql)).
  - For a pending revision older than O(min_age), O(liveness_checks) look for signs of a live
    operation (unfinished hook Jobs or Pods, the release's objects written by helm within O(min_age)); any sign
    makes it V(possibly_running), never acted on. Every remediation, refusal and resume is recorded as a
    Kubernetes Event in the release's namespace (O(events)). M(helmops.unstick.helm_restore) undoes a run from
    its backups.
  - The connection options are resolved once into a kubeconfig of exactly one context, cluster and user. The
    API client is built from it, and helm gets it as a private file (0600, removed right after) with
    C(--kube-context), without the controller's E(HELM_KUBECONTEXT), E(HELM_KUBETOKEN), E(HELM_KUBEAPISERVER),
    E(HELM_NAMESPACE), E(KUBECONFIG) or proxy variables. So helm acts on the cluster that was scanned, with
    the same credentials, proxy and impersonation. A connection helm cannot be given (for example
    O(proxy_headers.user_agent), or a kubeconfig C(auth-provider) other than C(oidc)) fails the releases that
    need helm before anything is written.
  - O(strategy=rollback) and O(pending_install=uninstall) first claim the record (marked failed, with the
    label C(helmops.unstick/claim) and an annotation of the same name saying which action, to which revision,
    by whom and until when). After helm returns, the release is read again; it is reported V(remediated) only
    when the cluster shows the outcome. A claim left by a helm that failed, did nothing or was killed is
    reported as V(unfinished) and finished (state V(remediated), action V(resume)) by the next remediating run;
    until its deadline (O(timeout) plus 60 seconds) it is V(in_progress) and left alone.
  - Every option is checked before the first request; a bad one fails the task naming the option and its
    value, and nothing is written (no backup either).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - helmops.unstick.helm_unstick_options
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - the C(helm) CLI (3.x or 4.x) for O(strategy=rollback) and O(pending_install=uninstall)
  - psycopg >= 3.1 (C(psycopg[binary])) for O(storage_driver=sql)
attributes:
  check_mode:
    support: full
    description: Plans and reports; writes nothing. RV(ignore:changed) says whether it would act.
  diff_mode:
    support: full
    description: Shows the status of each remediated release before and after.
notes:
  - Backups written to O(backup_dir) are the release records exactly as the API returned them and therefore
    contain the release values (often secrets). They are created with mode 0600 in directories with mode 0700.
  - Needs C(get) and C(list) on secrets (or configmaps with O(storage_driver=configmap)) and C(update) to
    remediate; C(rollback) and C(uninstall) additionally need what C(helm) needs to change the release's objects.
  - With O(storage_driver=sql) the database role needs C(SELECT) on C(releases_v1) and C(custom_labels_v1) (and
    to pass their row-level security, as their owner, Helm's role, does), C(UPDATE) on C(releases_v1) and
    C(INSERT), C(DELETE) on C(custom_labels_v1) to remediate (claims are custom labels). A role without them gets
    every write refused, naming the privilege, and nothing is written.
  - O(kubeconfig) (or E(K8S_AUTH_KUBECONFIG), or E(KUBECONFIG)) may name several files joined by V(:), as with
    C(kubectl). Without O(context), the current context is kubectl's, the first file that sets one (the Python
    client alone would take the last).
"""

EXAMPLES = r"""
- name: Report stuck releases in every namespace (changes nothing)
  helmops.unstick.helm_unstick:
    remediate: false
  register: helm_stuck

- name: Roll stuck releases back to their last good revision (the manual fix, automated)
  helmops.unstick.helm_unstick:
    kubeconfig: ~/.kube/prod.yaml
    context: prod-eu-1
    namespaces: [payments, "team-*"]
    exclude_releases: ["*-canary"]
    min_age: 30m
    strategy: rollback
    wait: true
    timeout: 10m
    backup_dir: /var/backups/helm-unstick
    max_remediations: 5

- name: Only unlock (mark the stuck revision failed); no helm CLI needed
  helmops.unstick.helm_unstick:
    host: https://api.cluster.example:6443
    api_key: "{{ k8s_token }}"
    strategy: unlock
    pending_install: unlock

- name: See what would be done, with a per-release before/after diff
  helmops.unstick.helm_unstick:
    storage_driver: configmap
  check_mode: true
  diff: true
"""

RETURN = r"""
cluster:
  description: The cluster this run looked at (context, host or kubeconfig's current context).
  returned: always
  type: str
  sample: prod-eu-1
stuck:
  description:
    - Releases whose newest revision is pending and at least O(min_age) old, with the action planned
      (or taken, see RV(remediated)).
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the release.
      type: str
      returned: always
    name:
      description: Release name.
      type: str
      returned: always
    revision:
      description: The stuck (newest) revision.
      type: int
      returned: always
    status:
      description: Its status, for example C(pending-upgrade).
      type: str
      returned: always
    age_seconds:
      description: Age on the API server's clock.
      type: int
      returned: always
    last_good_revision:
      description: Newest C(deployed) or C(superseded) revision below it; null if there is none.
      type: int
      returned: always
    action:
      description: What was planned or done, one of C(rollback), C(unlock), C(uninstall).
      type: str
      returned: always
    target_revision:
      description: Revision a rollback goes to.
      type: int
      returned: always
    fallback_reason:
      description: Why the O(pending_install) rule was used instead of O(strategy).
      type: str
      returned: always
    chart:
      description: Chart name.
      type: str
      returned: always
    chart_version:
      description: Chart version.
      type: str
      returned: always
    app_version:
      description: App version of the chart.
      type: str
      returned: always
    cluster:
      description: The cluster, as in RV(cluster).
      type: str
      returned: always
    kind:
      description:
        - How the release was classified, V(stuck) or V(in_progress); V(error) in RV(errors).
      type: str
      returned: always
    reason:
      description:
        - Why it was classified so, in words (in RV(errors), what went wrong, naming cluster, namespace and release).
      type: str
      returned: always
    description:
      description:
        - Helm's own description of the revision, as C(helm history) shows it (for example V(Preparing upgrade)).
        - Helm writes its error text here when an operation fails; that text can quote what the API server
          rejected. Release values (C(config)) are never read into any returned field.
      type: str
      returned: always
    changed:
      description: In RV(remediated), whether this run changed (in check mode, would change) the release; false elsewhere.
      type: bool
      returned: always
    failed:
      description: Whether remediating this release failed; false elsewhere.
      type: bool
      returned: always
    message:
      description: In RV(remediated), what was done (in check mode, what would be); null in RV(stuck) and RV(in_progress).
      type: str
      returned: always
  sample:
    - namespace: shop
      name: cart
      revision: 7
      status: pending-upgrade
      age_seconds: 5400
      last_good_revision: 6
      action: rollback
      target_revision: 6
      chart: cart
      chart_version: 1.4.2
      app_version: 2.3.0
in_progress:
  description:
    - Releases whose newest revision is pending but younger than O(min_age), or older but V(possibly_running);
      never touched.
  returned: always
  type: list
  elements: dict
remediated:
  description:
    - Releases changed by this run (in check mode, those that would be), same keys as RV(stuck) plus
      C(message) and, with O(backup_dir), C(backup) (the path of the backup file); with O(backup=cluster),
      C(cluster_backups) (the backup objects' names) and C(run_id).
  returned: always
  type: list
  elements: dict
errors:
  description:
    - Everything that could not be read, classified or remediated, one item each, with the keys of RV(stuck)
      (null where unknown) and C(reason), a message naming the cluster, namespace and release.
    - Includes namespaces the credentials may not read, corrupt records, unknown statuses, and releases
      skipped because Helm wrote their record after the scan.
  returned: always
  type: list
  elements: dict
summary:
  description:
    - Counts of RV(stuck), RV(in_progress), RV(remediated) and RV(errors), and C(states), the count of
      RV(releases) in each state.
  returned: always
  type: dict
  sample: {stuck: 2, in_progress: 1, remediated: 2, errors: 0,
           states: {stuck: 0, in_progress: 1, unfinished: 0, would_remediate: 0, remediated: 2, refused: 0,
                    failed: 0, error: 0, possibly_running: 0}}
storage_driver:
  description: Where this cluster's Helm keeps its records, V(secret), V(configmap) or V(sql).
  returned: success
  type: str
  sample: sql
database:
  description: With O(storage_driver=sql), the database read and written, as C(host:port/dbname) (never credentials).
  returned: when O(storage_driver=sql)
  type: str
  sample: db.example:5432/helm
server:
  description: The API server URL this run read and, through helm, changed (never credentials).
  returned: success
  type: str
  sample: https://api.prod-eu-1.example:6443
actor:
  description: Who ran it, C(user@host) of the machine the module ran on (also written into claimed records).
  returned: success
  type: str
  sample: ops@controller-1
duration_seconds:
  description: Seconds the module took (options, scan, remediation).
  returned: success
  type: float
scan_warnings:
  description: What the scan warns about (also shown as warnings), for example namespaces RBAC forbids.
  returned: success
  type: list
  elements: str
run_id:
  description:
    - This run's id, in its backups (label C(helmops.unstick/run)), Events and claims; give it to
      M(helmops.unstick.helm_restore) as O(helmops.unstick.helm_restore#module:run) to undo the run.
  returned: always
  type: str
  sample: 3f9c2a7d81e4
liveness_requests:
  description: Requests the liveness checks made (see O(liveness_checks)), for all the releases they looked at.
  returned: always
  type: int
releases:
  description:
    - Every release that is not healthy, and every problem, one item each with the keys of RV(stuck) and its
      C(state). RV(stuck), RV(in_progress), RV(remediated) and RV(errors) are views of this list.
    - C(state) is one of V(stuck) (report only), V(in_progress) (younger than O(min_age), or claimed by a
      run that may still be working on it), V(unfinished) (our own claimed rollback or uninstall that did
      not complete), V(would_remediate) (check mode), V(remediated) (done, and the cluster shows it),
      V(refused) (the API refused the write, 409 or 403, or O(max_remediations) refused the run; nothing
      written), V(possibly_running) (older than O(min_age), but O(liveness_checks) found signs of a live
      operation, listed in C(reason); never acted on, also in RV(in_progress)), V(failed) (tried and did not
      complete; C(changed) says whether the record was claimed) or
      V(error) (could not be read, classified or acted on).
  returned: always
  type: list
  elements: dict
"""


from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import kubernetes_module, validated_options
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec


def main():
    module = kubernetes_module(argument_spec())
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.cluster_run import check_cluster, no_log_values

    # Everything is checked before the first request or write.
    settings = validated_options(module, options.validate)
    # the whole run is the one shared with helm_unstick_batch (module_utils/remediation/cluster_run.py)
    run = check_cluster(settings, check_mode=module.check_mode, diff=module._diff)
    module.no_log_values = no_log_values(module.no_log_values, [run])
    for warning in run.warnings:
        module.warn(warning)
    if run.result.get("failed"):
        fields = dict(run.result)
        if run.exception:
            fields["exception"] = run.exception
        module.fail_json(**fields)
    module.exit_json(**run.result)


if __name__ == "__main__":
    main()
