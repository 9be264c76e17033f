# SPDX-License-Identifier: GPL-3.0-or-later
"""What keeps helm_unstick from doing harm: age threshold, check mode,
backups, resourceVersion preconditions, the mass-change guard."""

import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

import helmfix

pytestmark = pytest.mark.slow


def versions(kube, ns):
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in kube.store.list("secrets", ns)}


def test_young_pending_release_is_in_progress_and_untouched(kube, helm_env, unstick, module_args):
    helm_env.install("live", "ops")
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "live", "ops")   # just now: could be a live operation
    before = versions(kube, "ops")
    run = unstick(module_args(min_age="15m"))
    assert run.rc == 0, run.text
    assert [(e["name"], e["revision"]) for e in run["in_progress"]] == [("live", rev)]
    assert run["stuck"] == [] and run["remediated"] == [] and run["changed"] is False
    assert versions(kube, "ops") == before


def test_check_mode_writes_nothing_and_diff_shows_plan(kube, helm_env, unstick, module_args):
    helm_env.install("web", "ops")
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "web", "ops")
    helmfix.age_record(kube, "ops", "web", rev, 3600)
    before = versions(kube, "ops")
    run = unstick(module_args(), check=True, diff=True)
    assert run.rc == 0, run.text
    assert run["changed"] is True
    assert run["remediated"][0]["message"].startswith("check mode: would roll back to revision ")
    assert run["remediated"][0]["state"] == "would_remediate"
    assert versions(kube, "ops") == before
    assert "pending-upgrade (revision %d)" % rev in run.stdout     # the diff, as Ansible prints it


def test_backup_written_private_and_restorable(kube, helm_env, unstick, module_args, tmp_path):
    helm_env.install("db", "ops")
    rev = helmfix.make_stuck_upgrade(helm_env, kube, "db", "ops")
    helmfix.age_record(kube, "ops", "db", rev, 3600)
    original = kube.store.get("secrets", "ops", "sh.helm.release.v1.db.v%d" % rev)
    run = unstick(module_args(strategy="unlock", backup_dir=str(tmp_path / "backups")))
    assert run.rc == 0, run.text
    path = run["remediated"][0]["backup"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(open(path).read())
    assert saved["data"] == original["data"] and saved["metadata"]["labels"] == original["metadata"]["labels"]
    # restore it the way an operator would (replace, without the stale resourceVersion)
    saved["metadata"].pop("resourceVersion")
    from localkube.testing import raw
    code, _, _ = raw(kube, "PUT", "/api/v1/namespaces/ops/secrets/" + saved["metadata"]["name"], saved)
    assert code == 200
    assert kube.store.get("secrets", "ops", saved["metadata"]["name"])["data"] == original["data"]
    assert "another operation" in helmfix.assert_locked(helm_env, "db", "ops")   # the original state, back


def test_guard_refuses_mass_changes(kube, helm_env, unstick, module_args):
    for name in ("a", "b"):
        helm_env.install(name, "ops")
        rev = helmfix.make_stuck_upgrade(helm_env, kube, name, "ops")
        helmfix.age_record(kube, "ops", name, rev, 3600)
    before = versions(kube, "ops")
    run = unstick(module_args(max_remediations=1))
    assert run.rc == 0  # the task failed, the play ignored it to keep the result
    assert run["failed"] and "max_remediations" in run["msg"]
    assert sorted(e["name"] for e in run["stuck"]) == ["a", "b"]
    assert versions(kube, "ops") == before


def test_live_helm_write_between_read_and_write_wins(kube, helm_env, module_args, tmp_path):
    """A real Helm upgrade finishes while the module is about to write: the
    module's conditional write gets 409, it skips and reports; Helm's record stands."""
    helm_env.install("race", "ops")
    name = "sh.helm.release.v1.race.v2"
    path = r"/namespaces/ops/secrets/sh\.helm\.release\.v1\.race\.v2$"
    helm_hold = kube.faults.hang(method="PUT", path=path, count=1)       # Helm's final update
    upgrade = helm_env.upgrade_async("race", "ops")
    assert kube.faults.wait_hanging(1, timeout=60), "Helm never reached its final write"
    assert kube.store.get("secrets", "ops", name)["metadata"]["labels"]["status"] == "pending-upgrade"
    module_hold = kube.faults.hang(method="PUT", path=path, count=1)     # our write, next in line
    from playbook_run import run_module
    result = {}
    worker = threading.Thread(target=lambda: result.update(run=run_module(
        tmp_path, module_args(strategy="unlock", min_age="0s"))))
    worker.start()
    assert kube.faults.wait_hanging(2, timeout=120), "the module never tried to write"
    kube.faults.release(helm_hold.id)          # Helm's write lands first ...
    upgrade.wait(timeout=120)
    assert kube.store.get("secrets", "ops", name)["metadata"]["labels"]["status"] == "deployed"
    kube.faults.release(module_hold.id)        # ... then ours, with a stale resourceVersion
    worker.join(timeout=120)
    run = result["run"]
    assert run["remediated"] == [] and run["changed"] is False
    assert "changed since it was read" in run["errors"][0]["reason"]
    assert kube.store.get("secrets", "ops", name)["metadata"]["labels"]["status"] == "deployed"
    assert helm_env.history("race", "ops")[-1]["status"] == "deployed"
