#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_release
short_description: Read one Helm release's history, and roll it back to a revision, on the cluster you name
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Reads the history of one release from its records (what C(helm history -o json) shows, without the
    release values), through the same connection handling as M(helmops.unstick.helm_unstick). The options
    (and E(K8S_AUTH_*)) are resolved once into one context, cluster and user.
  - With O(rollback_to), takes the same guarded write path as M(helmops.unstick.helm_unstick), so it backs the records up
    (O(backup)), runs C(helm rollback RELEASE REVISION) against exactly that connection (a private
    kubeconfig, C(--kube-context), none of the controller's E(HELM_KUBE*), E(HELM_NAMESPACE) or E(KUBECONFIG)),
    then reads the release again and reports success only when the cluster shows a new newest revision,
    C(deployed), "Rollback to REVISION"; writes a Kubernetes Event (reason C(Restored), or C(RemediationFailed))
    and starts nothing after O(cluster_timeout). (The role C(helmops.unstick.guarded_upgrade) uses
    M(helmops.unstick.helm_guard), which also reads the release and rolls a failed upgrade back.)
  - Use M(helmops.unstick.helm_unstick) for releases stuck in a pending state; this module does not check for
    a live operation (a pending newest revision), helm itself refuses to roll back over one only in some cases.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - helmops.unstick.one_release_options
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - the C(helm) CLI (3.x or 4.x) for O(rollback_to)
attributes:
  check_mode:
    support: full
    description: Reads the history; with O(rollback_to) says what it would do and writes nothing.
options:
  rollback_to:
    description: Roll the release back to this revision (C(helm rollback)), then verify it on the cluster.
    type: int
  backup:
    description:
      - Where to save the records the rollback may change before it runs, V(file) (under O(backup_dir)) and/or
        V(cluster) (objects in the release's namespace), as M(helmops.unstick.helm_unstick)'s O(backup).
      - Unset means V(file) when O(backup_dir) is set, else no backup.
    type: list
    elements: str
  backup_keep:
    description: How many runs of cluster backups to keep per release (with O(backup=[cluster])).
    type: int
    default: 5
  events:
    description:
      - Write a Kubernetes Event in the release's namespace for the rollback (reason C(Restored)) or its failure
        (C(RemediationFailed)). An Event that cannot be written is a warning, never a failure.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Read the history of shop/web
  helmops.unstick.helm_release:
    kubeconfig: ~/.kube/prod.yaml
    context: prod-eu-1
    namespace: shop
    release: web
  register: web

- name: Roll shop/web back to its last good revision
  helmops.unstick.helm_release:
    kubeconfig: ~/.kube/prod.yaml
    context: prod-eu-1
    namespace: shop
    release: web
    rollback_to: "{{ (web.history | selectattr('status', 'in', ['deployed', 'superseded'])
                      | map(attribute='revision') | list | last) }}"
"""

RETURN = r"""
cluster:
  description: The cluster (context) the release was read on.
  returned: always
  type: str
server:
  description: The API server URL (no credentials).
  returned: always
  type: str
history:
  description:
    - The release's revisions, oldest first, as C(helm history -o json) shows them (after the rollback, if any).
      Empty when the release does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    revision: {description: Revision number., type: int, returned: always}
    updated: {description: When the revision was deployed (RFC 3339)., type: str, returned: always}
    status: {description: Its status., type: str, returned: always}
    chart: {description: Chart name and version., type: str, returned: always}
    app_version: {description: The chart's appVersion., type: str, returned: always}
    description: {description: Helm's description of the revision., type: str, returned: always}
last_good_revision:
  description: The newest C(deployed) or C(superseded) revision below the newest, or null.
  returned: always
  type: int
revision:
  description: The revision the rollback created.
  returned: when O(rollback_to) was done
  type: int
run_id:
  description: The id of the rollback's run, as its backups and Events name it.
  returned: when O(rollback_to) was attempted
  type: str
"""


from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import kubernetes_module, validated_options
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import one_release_argument_spec


def argument_spec():
    return one_release_argument_spec(
        rollback_to=dict(type="int"),
        backup=dict(type="list", elements="str"),
        backup_keep=dict(type="int", default=5),
        events=dict(type="bool", default=True),
    )


def main():
    module = kubernetes_module(argument_spec())
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import open_cluster_session
    from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError, UnstickError
    from ansible_collections.helmops.unstick.plugins.module_utils.release import history
    from ansible_collections.helmops.unstick.plugins.module_utils.release.records import meta_from_object
    from ansible_collections.helmops.unstick.plugins.module_utils.release.state import last_good_revision
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import Plan
    from ansible_collections.helmops.unstick.plugins.module_utils.report.release_report import STATE_REMEDIATED

    settings, target = validated_options(module, options.validate_release)
    session = open_cluster_session(module, settings.connection, settings.driver, settings.request_timeout,
                                   cluster_timeout=settings.cluster_timeout, helm_binary=settings.helm_binary,
                                   events=settings.events, liveness=False)
    namespace, name = settings.namespaces[0], settings.releases[0]
    where = "cluster %s: %s/%s" % (session.cluster, namespace, name)
    out = dict(cluster=session.cluster, server=session.server, changed=False)

    def read():
        records = session.storage.records(namespace, name)
        rows = history.history_rows(records, settings.driver)
        newest = rows[-1]["revision"] if rows else None
        out.update(history=rows, last_good_revision=last_good_revision(
            [meta_from_object(record) for record in records], below=newest))
        return rows

    job = runner.Run(settings, session, check_mode=module.check_mode, diff=module._diff)
    try:
        before = read()
        if target is None:
            module.exit_json(**out)
        if target not in [row["revision"] for row in before]:
            module.fail_json(msg="%s has no revision %d to roll back to" % (where, target), **out)
        out["changed"] = True
        if module.check_mode:
            module.exit_json(msg="%s: would roll back to revision %d" % (where, target), **out)
        # the guarded write path, as helm_unstick's and helm_guard's: backup, helm on the session's connection,
        # the cluster read again, an Event, all within cluster_timeout (the restore action: nothing to claim)
        scan = job.scan_release(namespace, name, min_age=0)
        item = job.act(scan, job.context(scan.now), plan=Plan("restore", target, None))
        entry = job.releases[-1]
        read()
    except UnstickError as err:   # the API or a record: say which release, on which cluster
        what = err.describe(session.server) if isinstance(err, StorageError) else str(err)
        module.fail_json(msg="%s: %s" % (where, what), **out)
    for warning in job.warnings + (session.events.warnings if session.events else []):
        module.warn(warning)
    out.update(run_id=job.run_id, changed=bool(entry.get("changed")))
    if entry["state"] != STATE_REMEDIATED:
        module.fail_json(msg=entry.get("reason") or entry.get("message"), **out)
    out["revision"] = item.outcome.revision
    module.exit_json(msg="%s: rolled back to revision %d (now revision %d)" % (where, target, out["revision"]),
                     **out)


if __name__ == "__main__":
    main()
