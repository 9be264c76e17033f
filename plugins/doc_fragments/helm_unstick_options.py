# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  namespaces:
    description:
      - Namespaces to scan, as names or shell-style globs (C(team-*)). Empty means every namespace.
      - With plain names only, each namespace is listed on its own (works with namespace-scoped RBAC).
        With globs or when empty, one cluster-wide list is made; if RBAC forbids that, each namespace
        is listed on its own and the ones that stay forbidden are reported in RV(errors).
    type: list
    elements: str
    default: []
  exclude_namespaces:
    description: Namespaces (names or globs) to leave out.
    type: list
    elements: str
    default: []
  releases:
    description: Release names or globs to consider. Empty means all.
    type: list
    elements: str
    default: []
  exclude_releases:
    description: Release names or globs to leave out.
    type: list
    elements: str
    default: []
  storage_driver:
    description:
      - Where Helm keeps release records. Defaults to the E(HELM_DRIVER) environment variable (read as Helm
        reads it, so C(secrets) and C(configmaps) work too), else C(secret).
      - V(sql) is Helm's PostgreSQL driver (C(HELM_DRIVER=sql)); records are rows of the C(releases_v1) table
        reached with O(sql_connection_string), while the chart's objects stay in the cluster (helm still
        gets the one connection). The scan reads metadata columns only and C(body) only for the releases
        acted on; ages are measured on the database server's clock; every write is one transaction whose
        UPDATE applies only if the row is still exactly what was read (else it is skipped and reported, as
        a 409). Claims are custom labels (C(custom_labels_v1)). Needs the Python package C(psycopg) (3.x).
      - Helm's C(memory) driver is not supported; the task fails saying so.
    type: str
    choices: [secret, configmap, sql]
  sql_connection_string:
    description:
      - With O(storage_driver=sql), the PostgreSQL connection string, exactly as Helm takes it, a URL
        (C(postgres://helm:PASSWORD@db.example:5432/helm?sslmode=require)) or C(key=value) pairs.
      - Defaults to the E(HELM_DRIVER_SQL_CONNECTION_STRING) environment variable, as for helm.
      - The scan uses Helm's defaults where the string is silent (host C(localhost), C(sslmode=require), as
        Go's lib/pq), and helm gets the same string in its environment, so both reach the same database
        the same way. C(PG*) environment variables apply to both alike. The password never appears in
        output or messages (messages name the database as C(host:port/dbname)).
      - Each statement is limited to O(request_timeout) (PostgreSQL's C(statement_timeout), unless the role
        or the string sets a shorter one); connecting too (C(connect_timeout), unless the string sets it).
    type: str
  min_age:
    description:
      - A pending newest revision is stuck only once it is at least this old; younger ones are reported
        as RV(in_progress) and never touched.
      - A duration such as C(90s), C(15m), C(2h), C(1h30m), or a number of seconds given as a number (V(900));
        a string without a unit (C("900"), what C(-e min_age=900), an INI inventory or a survey give) is
        refused, since seconds and minutes are easy to mix up here.
      - Make it longer than the longest C(--timeout) your deployments use.
    type: raw
    default: 15m
  remediate:
    description: Remediate stuck releases. V(false) only reports.
    type: bool
    default: true
  strategy:
    description:
      - What to do with a stuck C(pending-upgrade) or C(pending-rollback).
      - V(rollback) marks the stuck revision failed (conditionally, see description) and runs
        C(helm rollback RELEASE LAST_GOOD_REVISION). Needs the helm CLI. If there is no
        C(deployed) or C(superseded) revision to go back to, the O(pending_install) rule is used
        and the result says so.
      - V(unlock) marks the stuck revision C(failed) in its label and payload, with a description saying
        who did it, when and what it was. The next C(helm upgrade) then proceeds. No helm CLI needed.
    type: str
    default: rollback
    choices: [rollback, unlock]
  pending_install:
    description:
      - What to do with a stuck C(pending-install) (a first install that never finished).
      - V(unlock) marks it failed so C(helm upgrade --install) can retry.
      - V(uninstall) runs C(helm uninstall) (needs the helm CLI).
    type: str
    default: unlock
    choices: [unlock, uninstall]
  wait:
    description: Pass C(--wait) to C(helm rollback) and C(helm uninstall).
    type: bool
    default: true
  timeout:
    description: C(--timeout) for helm, in seconds or as a duration (C(5m)).
    type: raw
    default: 5m
  helm_binary:
    description: The helm CLI, a name looked up on E(PATH) or a path.
    type: str
    default: helm
  backup_dir:
    description:
      - Before changing a release, write its record, exactly as the API returned it, to a file under
        this directory, named C(CLUSTER/NAMESPACE/RELEASE.vREVISION.TIMESTAMP.json), mode 0600.
      - The file contains the release values, which often hold secrets.
    type: path
  backup:
    description:
      - Where to save the records a remediation may change, before its first write. A list of V(file) (under
        O(backup_dir), mode 0600) and V(cluster) (in the release's namespace); both may be given.
      - V(cluster) writes one object per record of the driver's kind (a Secret of type C(helmops.unstick/backup),
        or a ConfigMap), named C(helmops.unstick.backup.RELEASE.vREVISION.RUN), labelled
        C(app.kubernetes.io/managed-by=helmops.unstick), C(helmops.unstick/backup-of=RELEASE),
        C(helmops.unstick/revision) and C(helmops.unstick/run), never C(owner=helm) (so Helm ignores it), with
        annotations saying who, when, which run, which revision, which action and why, and the record's own
        labels. The release values never leave the cluster. Once the remediation is done, the backups note the
        C(resourceVersion) of each record of the release, which M(helmops.unstick.helm_restore) compares with
        before it restores.
      - The newest record is saved; for C(rollback) (and resuming one) also the C(deployed) records below it,
        which C(helm rollback) marks superseded.
      - With V(file), the same backup objects are also written as one bundle per release and run
        (C(RELEASE.run-RUN.restore-bundle), mode 0600) beside the record's own file, for a restore from files.
      - Unset means V(file) when O(backup_dir) is set, else no backup. V(cluster) needs C(create), C(update),
        C(list) and C(delete) on secrets (or configmaps); see C(docs/rbac/helm-unstick-backups.yaml). Not with
        O(storage_driver=sql) (its records are database rows; use V(file)).
    type: list
    elements: str
  backup_keep:
    description:
      - How many runs of cluster backups to keep per release; older runs' backup objects are deleted after a
        remediation of that release.
    type: int
    default: 5
  events:
    description:
      - Write a Kubernetes Event (core/v1) in the release's namespace for every remediation (reason C(Unlocked),
        C(RolledBack), C(Uninstalled), C(Resumed)), refusal (C(Refused), also for RV(releases) left alone as
        V(possibly_running)) and failure (C(RemediationFailed)), with who, what and which revisions, the
        release's record as the involved object and C(helmops.unstick) as the reporting component
        (C(kubectl get events -n NAMESPACE)).
      - An Event that cannot be written is a warning, never a failure. Not written with O(storage_driver=sql).
    type: bool
    default: true
  liveness_checks:
    description:
      - For a pending revision older than O(min_age), look for signs that the operation is still going on;
        any sign makes it V(possibly_running), listed with the evidence, and it is never acted on. Made by
        every run that finds one, report-only runs (O(remediate=false)) included, so a report never calls a
        live operation stuck.
      - What is looked at, with at most 10 GETs per stuck release (counted in RV(liveness_requests)), is
        the Job and Pod hooks of the pending revision (named in its record) that have not finished (up to 4);
        the objects of its manifest, workloads first (up to 6), written by helm's field manager (a
        C(managedFields) entry of a manager named C(helm*)) less than O(min_age) ago; and, in the record itself,
        a hook helm started less than O(min_age) ago. The revision's age itself is the time since its record
        was created (C(metadata.creationTimestamp), or the C(createdat) column with O(storage_driver=sql)),
        never the C(modifiedAt) label, which helm copies from the previous revision.
      - An object that cannot be read (RBAC) is a warning, not evidence. Not made with O(storage_driver=sql).
    type: bool
    default: true
  run_id:
    description:
      - This run's id (in backup names and labels, Events, claims and
        RV(helmops.unstick.helm_unstick#module:run_id)), 1 to 40 lower-case letters, digits and C(-). Unset, the
        run makes up its own.
      - The C(helmops.unstick.stuck_releases) role gives every cluster of one playbook run the same id, so one
        C(-e restore_run=ID) of C(playbooks/restore.yml) undoes the run on every cluster.
    type: str
  tidy_history:
    description:
      - After a successful rollback, mark the older pending revisions left in the release's history (below
        the stuck one) C(failed), so C(helm history) and other scanners stop showing them as pending. Each is a
        conditional write with a description saying who and why; backed up like the stuck record.
      - Off by default. Helm ignores pending revisions that are not the newest, so this is cosmetic.
    type: bool
    default: false
  max_remediations:
    description:
      - If more releases are stuck than this, change nothing and fail with the list. A guard against
        mass changes caused by a wrong clock or a wrong filter.
    type: int
  fail_on_error:
    description:
      - Fail the task when anything could not be read or remediated (a forbidden namespace, a corrupt
        record, a release skipped because Helm wrote it meanwhile). Everything else is still done first.
      - V(false) reports those in RV(errors) and as warnings only.
    type: bool
    default: true
  request_timeout:
    description:
      - How long to wait for each answer of the API server, in seconds or as a duration (V(30s)).
      - A read that times out, loses its connection or is answered 429 or 5xx is tried again, at most 4 more
        times, with backoff (honouring C(Retry-After), at most 10 seconds a pause). Writes are never tried
        again. So a hung API server holds the module for at most about five times this, plus 40 seconds, and
        never beyond O(cluster_timeout).
    type: raw
    default: 60s
  cluster_timeout:
    description:
      - The most the whole run on this cluster may take, in seconds or as a duration (V(10m)). The scan, every
        request and retry, back-off pause and helm call are cut to what is left of it.
      - When it is reached, a request is not sent (the task fails naming the cluster and V(cluster_timeout)
        if the scan is not done), no retry is made, and no further remediation is started (each such release is
        reported as not attempted, nothing written). A helm call already running gets only the time left as
        its C(--timeout); an action cut short is reported as failed or unfinished, and the next run finishes it.
    type: raw
    default: 30m
"""
