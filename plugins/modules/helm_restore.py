#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_restore
short_description: Put back the Helm release records a helm_unstick remediation changed, from its backups
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - Undoes what M(helmops.unstick.helm_unstick) did to the B(release records) of a release, from the backups
    it wrote with O(helmops.unstick.helm_unstick#module:backup=cluster) (objects in the release's namespace) or
    O(helmops.unstick.helm_unstick#module:backup=file) (bundles under O(backup_dir)).
  - Choose what to restore by O(releases), by O(run) (the C(run_id) helm_unstick returned), or everything
    backed up since a time (O(since)); each release is restored to the state before the newest selected run.
  - A release is restored only when it has not moved on since that run, that is every record is still the
    one the run left (same C(resourceVersion)) and no other record exists (no newer revision). Otherwise
    nothing is written and the release is reported as V(refused), naming what changed (for example a later
    C(helm upgrade)'s revision).
  - The restore deletes the records the run created (the revision C(helm rollback) wrote) and writes every
    saved record back with its data, labels and annotations as they were (re-creating one helm pruned); each
    write is conditional on the C(resourceVersion). Then it reads the records back and reports V(restored)
    only when data and labels are byte for byte the backup's.
  - B(What a restore does not undo.) Only release records are restored. The Kubernetes objects of the release
    that C(helm rollback) or C(helm uninstall) changed (Deployments, Services, ...) stay as they are now; after
    restoring a rollback Helm again believes the pending revision's objects are deployed, while the cluster
    runs the rolled-back ones. A release that was uninstalled cannot be restored this way.
  - Writes a Kubernetes Event (reason C(Restored), or C(Refused)) in the release's namespace unless O(events=false).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  releases:
    description: Names of the releases to restore (exact names).
    type: list
    elements: str
    default: []
  namespaces:
    description: Namespaces to look for backups in (exact names). Empty means every namespace.
    type: list
    elements: str
    default: []
  run:
    description: Restore what this run of M(helmops.unstick.helm_unstick) changed (its RV(helmops.unstick.helm_unstick#module:run_id)).
    type: str
  since:
    description:
      - Restore the runs backed up at or after this time, an RFC 3339 time (V(2026-12-03T10:00:00Z)) or a
        duration meaning that long ago (V(2h)). With several runs of one release, the newest is restored and the
        others are named in RV(notes) (restore them one after the other).
    type: str
  source:
    description: Where the backups are, V(cluster) (objects in the releases' namespaces) or V(file) (O(backup_dir)).
    type: str
    choices: [cluster, file]
    default: cluster
  backup_dir:
    description: With O(source=file), the O(helmops.unstick.helm_unstick#module:backup_dir) the backups were written to.
    type: path
  storage_driver:
    description: Where Helm keeps release records, V(secret) or V(configmap); defaults to E(HELM_DRIVER), else C(secret).
    type: str
    choices: [secret, configmap]
  events:
    description: Write a Kubernetes Event per release restored or refused.
    type: bool
    default: true
  request_timeout:
    description: How long to wait for each answer of the API server (V(30s)).
    type: raw
    default: 60s
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
attributes:
  check_mode:
    support: full
    description: Judges every release and says what would be restored; writes nothing.
  diff_mode:
    support: full
    description: Shows each release's newest revision before and after.
notes:
  - Needs C(get), C(list), C(update), C(create) and C(delete) on secrets (or configmaps) in the releases' namespaces,
    and C(create) on events.
"""

EXAMPLES = r"""
- name: Remediate with backups in the cluster
  helmops.unstick.helm_unstick:
    backup: [cluster]
  register: unstick

- name: Undo that run
  helmops.unstick.helm_restore:
    run: "{{ unstick.run_id }}"

- name: See what restoring the last run on one release would do
  helmops.unstick.helm_restore:
    releases: [web]
    namespaces: [shop]
  check_mode: true
  diff: true

- name: Restore everything remediated in the last two hours, from files
  helmops.unstick.helm_restore:
    since: 2h
    source: file
    backup_dir: /var/backups/helm-unstick
"""

RETURN = r"""
releases:
  description:
    - One entry per release considered, with C(namespace), C(name), C(run_id) (the run restored), C(backed_up_at),
      C(state), C(changed), C(message) and C(reason).
    - C(state) is V(restored) (done and read back; C(changed) false when it was already restored), V(would_restore)
      (check mode), V(refused) (the release moved on, or the run's backups cannot tell; C(reason) says what changed,
      nothing written), V(failed) (a write was refused midway; C(reason) says what was done) or V(error).
    - C(restored) and C(deleted) list the revisions written back and the revisions deleted.
  returned: always
  type: list
  elements: dict
notes:
  description: Runs selected but not restored (older runs of a release restored now), to restore next.
  returned: always
  type: list
  elements: str
restore_id:
  description: This restore's id (in its Events).
  returned: always
  type: str
cluster:
  description: The cluster restored on.
  returned: always
  type: str
"""

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import kubernetes_module, validated_options


def argument_spec():
    import copy
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        releases=dict(type="list", elements="str", default=[]),
        namespaces=dict(type="list", elements="str", default=[]),
        run=dict(type="str"),
        since=dict(type="str"),
        source=dict(type="str", default="cluster", choices=["cluster", "file"]),
        backup_dir=dict(type="path"),
        storage_driver=dict(type="str", choices=["secret", "configmap"]),
        events=dict(type="bool", default=True),
        request_timeout=dict(type="raw", default="60s"),
    )
    return spec


def main():
    import os
    module = kubernetes_module(argument_spec())
    from ansible_collections.helmops.unstick.plugins.module_utils.undo import backup_files as backup
    from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import open_cluster_session
    from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError
    from ansible_collections.helmops.unstick.plugins.module_utils.undo.undo import Undo

    params = module.params
    settings = validated_options(module, options.validate_restore)
    session = open_cluster_session(module, settings.connection, settings.driver, settings.request_timeout,
                                   events=settings.events, liveness=False)
    cluster, events = session.cluster, session.events
    found, note = None, None
    if settings.source == "file":
        def note(objects):
            backup.note_in_bundles(settings.backup_dir, cluster, objects)
    undo = Undo(session, module.check_mode, module._diff, note)
    if settings.source == "file":
        try:
            found = [b for b in (cluster_backup.read_backup(o)
                                 for o in backup.read_bundles(settings.backup_dir, cluster)) if b]
        except (OSError, IOError, ValueError) as err:
            module.fail_json(msg="backup_dir: cannot read the backups of cluster %s: %s" % (cluster, err))
    try:
        result = undo.run(list(settings.namespaces), list(settings.releases), settings.run, settings.since, found)
    except StorageError as err:
        module.fail_json(msg="cluster %s: cannot list the backups: API error %s: %s"
                         % (cluster, err.status, err.message), cluster=cluster)
    result["cluster"] = cluster
    for entry in result["releases"]:
        entry["cluster"] = cluster
    for warning in undo.warnings + (events.warnings if events else []):
        module.warn(warning)
    for note in result["notes"]:
        module.warn(note)
    if module._diff and (undo.before or undo.after):
        result["diff"] = {"before": undo.before, "after": undo.after}
    if not result["releases"]:
        if settings.source == "file":
            where = ("looked in the bundles under %s; backups kept in the cluster (backup=cluster) are read with "
                     "source=cluster (playbooks/restore.yml: -e restore_source=cluster)"
                     % os.path.join(settings.backup_dir, backup.cluster_dir_name(cluster)))
        else:
            where = ("looked for backup objects in the cluster; backups written to files (backup=file, "
                     "stuck_releases_backup_dir) are read with source=file and backup_dir (playbooks/restore.yml: "
                     "-e restore_source=file)")
        module.fail_json(msg="cluster %s: no backup matches (releases %s, run %s, since %s, source %s): %s; the "
                         "run id is in the run's summary and its fleet report (summary.run_ids)"
                         % (cluster, params["releases"] or "any", params["run"] or "any",
                            params["since"] or "any", settings.source, where), **result)
    bad = [e for e in result["releases"] if e["state"] in ("refused", "failed", "error")]
    if bad:
        module.fail_json(msg="; ".join(e["reason"] for e in bad), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
