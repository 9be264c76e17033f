#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: helm_guard
short_description: Guard one Helm release's upgrade, before (check and unstick) and after (verify or roll back)
version_added: "0.1.0"
author:
  - helmops.unstick maintainers (@helmops)
description:
  - The guard of a Helm upgrade, for one release, in two phases around the upgrade task (the role
    C(helmops.unstick.guarded_upgrade) runs C(before), then M(kubernetes.core.helm) or your own task, then C(after)).
  - Each phase reads the release in one scan (a metadata list of its records, then its newest record) and acts
    through the same runner, actions and one connection as M(helmops.unstick.helm_unstick), so helm acts on the
    cluster that was read, every write is conditional, and every outcome is verified on the cluster.
  - O(phase=before) reads the helm CLI's version (older than O(min_helm_version) fails), then the release. A newest
    revision stuck in a pending state for at least O(min_age) is remediated as M(helmops.unstick.helm_unstick)
    would (O(strategy), O(pending_install)); a younger one may be a deploy still running, and so may an older
    one the liveness checks of M(helmops.unstick.helm_unstick) find signs of life in (an unfinished hook, objects
    helm wrote within O(min_age)). Then the task fails ("retry later"), naming the revision, its age and the
    signs, and touches nothing. The age is the time since helm created the revision's record (server clock). Returns
    RV(from_revision) and RV(good_revision), the revision a failed upgrade goes back to, and the upgrade flags
    this helm version wants (RV(helm_flags)).
  - O(phase=after) checks that the upgrade landed (the newest revision is deployed, not below O(from_revision)).
    If it did not, or O(upgrade_failure) says the upgrade task failed, the release is put back (with O(rescue)) -
    a revision the failed upgrade left pending is remediated at any age, a failed one is rolled back to
    O(good_revision) (C(helm rollback), verified) - and the task fails with the upgrade's error and what the
    rescue did. A pending revision is never touched when the upgrade was refused because another operation held
    the release, or when the upgrade reported success (then it is someone else's).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - helmops.unstick.one_release_options
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - the C(helm) CLI (3.x or 4.x)
attributes:
  check_mode:
    support: full
    description:
      - Reads the release and says what would happen (would unlock, would roll back, would upgrade, would stop);
        writes nothing. A pending revision younger than O(min_age), or older but possibly still running, is a
        warning and RV(proceed) is false, not a failure.
  diff_mode:
    support: full
    description: Shows the release's newest revision and status before and after the phase.
options:
  phase:
    description: Which side of the upgrade this is.
    type: str
    required: true
    choices: [before, after]
  min_age:
    description:
      - O(phase=before). A pending newest revision is stuck only once at least this old (seconds or a duration such
        as V(15m)); a younger one may be a live deploy, and stops the guard. Longer than your longest helm
        C(--timeout).
    type: raw
    default: 15m
  strategy:
    description: What to do with a stuck C(pending-upgrade) or C(pending-rollback), as in M(helmops.unstick.helm_unstick).
    type: str
    choices: [rollback, unlock]
    default: rollback
  pending_install:
    description: What to do with a stuck C(pending-install), as in M(helmops.unstick.helm_unstick).
    type: str
    choices: [unlock, uninstall]
    default: unlock
  from_revision:
    description:
      - O(phase=after), required. The revision the upgrade started from (V(0) when the release did not exist), as
        O(phase=before) returned it in RV(from_revision).
    type: int
  good_revision:
    description:
      - O(phase=after). The revision a failed upgrade goes back to, as O(phase=before) returned it in
        RV(good_revision). Unset, nothing is rolled back to.
    type: int
  upgrade_failure:
    description:
      - O(phase=after). The failed upgrade task's result (its C(msg), C(stderr) and C(command) are read), when the
        upgrade task failed; unset when it succeeded.
      - 'kubernetes.core.helm 6.x reads the release back after a change with C(helm list --all), a flag helm 4
        removed: exactly that failure, when the cluster shows the upgrade deployed, is a warning, not a failure.'
    type: dict
  rescue:
    description: O(phase=after). Put the release back when the upgrade failed; V(false) only reports.
    type: bool
    default: true
  chart:
    description: O(phase=after). What the upgrade was to (a chart reference), for messages only.
    type: str
    default: ''
  min_helm_version:
    description: O(phase=before). An older helm CLI fails the task before anything is read.
    type: str
    default: 3.8.0
  wait_for_pending:
    description:
      - O(phase=before). How long to wait (seconds or a duration such as V(10m)) for a pending revision that may be
        someone else's live operation (younger than O(min_age), or older with signs of life). The release's records' metadata is polled (every 1
        to 5 seconds) and the release judged again when its newest record changes or reaches O(min_age).
        Settled (deployed, failed, superseded), the upgrade goes on; stale (pending past O(min_age), no sign of
        life), it is unstuck as a stuck one is, then the upgrade goes on. When the wait runs out the task fails
        naming the release, the revision, who started it as far as its record says, and how long it waited;
        nothing is written.
      - V(0) does not wait (the task fails at once, "retry later"). O(cluster_timeout) counts on top of the wait.
      - With O(take_turns), the wait for this run's turn on the Lease comes first, within the same bound.
      - In check mode nothing is waited for; the result says what a real run would wait for.
    type: raw
    default: 10m
  take_turns:
    description:
      - Guarded upgrades of one release take turns on a C(coordination.k8s.io/v1) Lease in its namespace,
        C(helmops-unstick-<release>) (hashed when not a valid name). O(phase=before) waits for it in arrival order (a
        queue in its C(helmops.unstick/queue) annotation), within O(wait_for_pending), and takes it, for
        O(lease_duration); it gives it back itself when it fails. O(phase=after) gives it back (O(lease_holder)).
        Every Lease write is conditional (resourceVersion). A Lease whose holder stopped renewing it is free once
        C(renewTime) + C(leaseDurationSeconds) is past. Check mode never takes it.
      - Advice between guarded upgrades only; helm does not read it.
    type: bool
    default: false
  lease_duration:
    description:
      - How long the Lease is held without renewal (seconds or a duration), long enough for the upgrade between
        the two phases (it is not renewed while helm runs). Default O(timeout) plus 2 minutes.
    type: raw
  job_id:
    description:
      - Which job this run is, for the Lease's holder (with the run's user@host). Default the C(AWX_JOB_ID),
        C(TOWER_JOB_ID) or C(JOB_ID) environment variable; the role passes C(tower_job_id) / C(awx_job_id).
    type: str
  lease_holder:
    description: O(phase=after). The holder O(phase=before) took the Lease as (the C(holder) of its RV(lease)), to give it back.
    type: str
notes:
  - One phase is one module run. The role C(helmops.unstick.guarded_upgrade) is the usual way to use it; alone,
    run C(before), your upgrade task in a C(block) whose C(rescue) keeps C(ansible_failed_result), then C(after)
    with that result as O(upgrade_failure).
"""

EXAMPLES = r"""
- name: Guard before the upgrade (check, unstick, remember the last good revision)
  helmops.unstick.helm_guard:
    phase: before
    kubeconfig: ~/.kube/prod.yaml
    context: prod-eu-1
    namespace: shop
    release: web
  register: web_guard

- name: Upgrade
  block:
    - name: Upgrade shop/web
      kubernetes.core.helm:
        kubeconfig: ~/.kube/prod.yaml
        context: prod-eu-1
        release_name: web
        release_namespace: shop
        chart_ref: ./charts/web
        wait: true
        atomic: true
      environment: "{{ web_guard.helm_environment }}"
  rescue:
    - name: Keep why the upgrade failed
      ansible.builtin.set_fact:
        web_failure: "{{ ansible_failed_result }}"

- name: Guard after the upgrade (verify it landed, or roll back and fail with both errors)
  helmops.unstick.helm_guard:
    phase: after
    kubeconfig: ~/.kube/prod.yaml
    context: prod-eu-1
    namespace: shop
    release: web
    from_revision: "{{ web_guard.from_revision }}"
    good_revision: "{{ web_guard.good_revision | default(omit, true) }}"
    upgrade_failure: "{{ web_failure | default(omit) }}"
    chart: ./charts/web
"""

RETURN = r"""
phase:
  description: The phase.
  returned: always
  type: str
cluster:
  description: The cluster (context) the release was read on.
  returned: always
  type: str
server:
  description: The API server URL (no credentials).
  returned: always
  type: str
found:
  description: O(phase=before). The newest revision as the phase found it (C(status) V(missing) when there is none),
    with C(age_seconds) and C(state) (V(healthy), V(stuck), V(in_progress), V(possibly_running), V(unfinished), V(error)).
  returned: when O(phase=before)
  type: dict
from_revision:
  description: The revision the upgrade starts from (after any remediation; V(0) when the release does not exist).
  returned: always
  type: int
good_revision:
  description: The revision a failed upgrade goes back to (the newest deployed one); null when there is none.
  returned: always
  type: int
waited_seconds:
  description: O(phase=before). How long the phase waited for a pending revision (0 when it did not).
  returned: when O(phase=before)
  type: float
lease:
  description:
    - With O(take_turns) (O(phase=before)) or O(lease_holder) (O(phase=after)), the release's Lease - C(name), C(holder)
      (this run's identity), C(waited_seconds) for its turn, C(duration_seconds) - or, after, C(given_back) (what
      happened to it).
  returned: when the Lease is used
  type: dict
waited_for:
  description: O(phase=before). The pending revision it waited for, when it waited.
  returned: when it waited
  type: str
proceed:
  description:
    - Whether the upgrade may start. False when the guard stopped (the task fails, RV(stopped)) and in check
      mode when a real run would stop.
  returned: when O(phase=before), and whenever the guard stopped
  type: bool
stopped:
  description:
    - True when the guard stopped the guarded upgrade (the task fails with the reason), for a live deploy, a
      release that cannot be judged or unstuck, or, after the upgrade, an upgrade that failed or did not land.
    - With O(phase=after), C(changed) is true when the failed upgrade wrote revisions or the rescue wrote records.
  returned: when the guard stopped
  type: bool
would:
  description: In check mode, what a real run would do.
  returned: in check mode
  type: str
helm_version:
  description: O(phase=before). The helm CLI's version.
  returned: when O(phase=before)
  type: str
  sample: 4.2.4
helm_flags:
  description: O(phase=before). The upgrade flags as this helm version spells them, for your own helm command.
  returned: when O(phase=before)
  type: dict
  sample: {atomic: --rollback-on-failure, wait: --wait=watcher, force: --force-replace}
helm_environment:
  description:
    - O(phase=before). The environment for the upgrade's helm (HELM_DRIVER; helm's own connection variables
      emptied, so the controller's cannot send it to another cluster). Holds no secret.
  returned: when O(phase=before)
  type: dict
helm_timeout:
  description: O(phase=before). O(timeout) as helm's C(--timeout) wants it (a Go duration).
  returned: when O(phase=before)
  type: str
  sample: 300s
helm_args:
  description: O(phase=before). The connection options as helm flags (never a token), for your own helm command.
  returned: when O(phase=before)
  type: list
  elements: str
revision:
  description: O(phase=after). The newest revision now.
  returned: when O(phase=after)
  type: int
status:
  description: O(phase=after). Its status.
  returned: when O(phase=after)
  type: str
chart:
  description: O(phase=after). Its chart (name-version).
  returned: when O(phase=after)
  type: str
upgraded:
  description: O(phase=after). Whether the upgrade made a new deployed revision.
  returned: when O(phase=after)
  type: bool
error:
  description: O(phase=after). Why the upgrade failed (helm's error, or what the verification found).
  returned: when the upgrade failed
  type: str
rescue:
  description: O(phase=after). What the rescue did (or why nothing was needed).
  returned: when the upgrade failed
  type: str
unlocked:
  description: O(phase=after). Whether the release is free for the next operation (its newest revision is not pending).
  returned: when the upgrade failed
  type: bool
remediated:
  description: Releases remediated by this phase (in check mode, that would be), as in M(helmops.unstick.helm_unstick).
  returned: always
  type: list
  elements: dict
releases:
  description: What this phase did to the release, in the release model of M(helmops.unstick.helm_unstick) (a C(state) each).
  returned: always
  type: list
  elements: dict
"""

import os
import time

from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import kubernetes_module, validated_options
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import one_release_argument_spec


def argument_spec():
    return one_release_argument_spec(
        phase=dict(type="str", required=True, choices=["before", "after"]),
        min_age=dict(type="raw", default="15m"),
        strategy=dict(type="str", default="rollback", choices=["rollback", "unlock"]),
        pending_install=dict(type="str", default="unlock", choices=["unlock", "uninstall"]),
        from_revision=dict(type="int"),
        good_revision=dict(type="int"),
        upgrade_failure=dict(type="dict"),
        rescue=dict(type="bool", default=True),
        chart=dict(type="str", default=""),
        min_helm_version=dict(type="str", default="3.8.0"),
        wait_for_pending=dict(type="raw", default="10m"),
        take_turns=dict(type="bool", default=False),
        lease_duration=dict(type="raw"),
        job_id=dict(type="str"),
        lease_holder=dict(type="str"),
    )


def main():
    module = kubernetes_module(argument_spec())
    from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import guard, lease, turns
    from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import plan as guard_plan
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
    from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.base import open_cluster_session
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
    from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError, UnstickError
    from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import format_version, helm_timeout
    from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import format_duration

    started = time.time()
    guarding = validated_options(module, options.validate_guard)
    settings, namespace, release = guarding.run, guarding.namespace, guarding.release
    where = "%s/%s" % (namespace, release)
    # cluster_timeout bounds the requests and helm calls; the wait for the release comes on top of it
    waits = guarding.wait_for_pending if guarding.phase == "before" else 0
    session = open_cluster_session(module, settings.connection, settings.driver, settings.request_timeout,
                                   cluster_timeout=settings.cluster_timeout + waits, helm_binary=settings.helm_binary,
                                   events=settings.events, liveness=settings.liveness_checks)
    out = dict(phase=guarding.phase, cluster=session.cluster, server=session.server)
    gate = session.gate
    if guarding.phase == "before":
        # the upgrade needs helm as much as any remediation: a helm that cannot do it stops the guard first
        if not gate.ready():
            module.fail_json(msg="guarded upgrade of %s: %s; helm 3.x or 4.x is needed. Nothing was read or "
                             "touched." % (where, gate.problem), **out)
        version = gate.helm.version
        if guard_plan.older_than(version, guarding.min_helm_version):
            module.fail_json(msg="guarded upgrade of %s: helm %s (%s) is older than %s: before 3.8 oci:// charts "
                             "needed HELM_EXPERIMENTAL_OCI, and those releases no longer get fixes. Upgrade helm "
                             "(3.8+ or 4.x). Nothing was read or touched."
                             % (where, format_version(version)[1:], gate.helm.binary,
                                format_version(guarding.min_helm_version)[1:]), **out)
        out.update(helm_version=format_version(version)[1:], helm_flags=guard_plan.upgrade_flags(version),
                   helm_environment=guard_plan.upgrade_environment(settings.driver),
                   helm_timeout=helm_timeout(settings.timeout),
                   helm_args=guard_plan.helm_connection_args(settings.connection))
    job = runner.Run(settings, session, check_mode=module.check_mode, diff=module._diff)
    turn = None
    if guarding.phase == "before" and guarding.take_turns and not module.check_mode:
        holder = turns.holder_identity(job.actor, os.environ, guarding.job_id)
        turn = lease.Turn(session.api, namespace, release, holder, guarding.lease_duration)
    try:
        if guarding.phase == "before":
            # min_age as a duration with its unit, whatever form it was given in (900 -> 15m)
            out.update(guard.before(job, namespace, release, format_duration(settings.min_age),
                                    guarding.wait_for_pending, turn=turn, check_turns=guarding.take_turns))
        else:
            try:
                out.update(guard.after(job, namespace, release, guarding.from_revision, guarding.good_revision,
                                       guarding.upgrade_failure, guarding.rescue, guarding.chart))
            finally:
                _give_back(session, guarding, guarding.lease_holder, out)
    except guard.GuardStop as err:
        out.update(err.result)
        _give_back_on_failure(session, guarding, turn, out)
        out.update(_report(job, started))
        _warn(module, job)
        module.fail_json(msg=str(err), **out)
    except UnstickError as err:   # the release could not be read (API, corrupt record)
        what = err.describe(session.server) if isinstance(err, StorageError) else str(err)
        _give_back_on_failure(session, guarding, turn, out)
        out.update(_report(job, started))
        module.fail_json(msg="guarded upgrade of %s: cannot read the release on cluster %s (%s): %s; nothing was "
                         "touched" % (where, session.cluster, session.server, what), **out)
    out.update(_report(job, started))
    _warn(module, job)
    module.exit_json(**out)


def _report(job, started):
    """The runner's release model of what this phase did, and how long it took."""
    from ansible_collections.helmops.unstick.plugins.module_utils.report import release_report as report
    for entry in job.releases:
        entry["cluster"] = job.cluster
    return dict(releases=job.releases, remediated=report.views(job.releases)["remediated"],
                actor=job.actor, duration_seconds=round(time.time() - started, 3))


def _give_back(session, guarding, holder, out):
    """Phase after, or a failed phase before: give the Lease back when this run holds it."""
    from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import lease
    if holder:
        what = lease.give_back(session.api, guarding.namespace, guarding.release, holder)
        out["lease"] = dict(out.get("lease") or {}, given_back=what)


def _give_back_on_failure(session, guarding, turn, out):
    if turn is not None and turn.held:
        _give_back(session, guarding, turn.identity, out)


def _warn(module, job):
    for warning in job.warnings:
        module.warn(warning)


if __name__ == "__main__":
    main()
