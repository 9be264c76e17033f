# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backup objects: what they carry, read back exactly, and which runs retention deletes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup as cb
from ansible_collections.helmops.unstick.plugins.module_utils.undo.backup_run import records_at_stake
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import RevisionMeta

RECORD = {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
          "metadata": {"name": "sh.helm.release.v1.web.v2", "namespace": "shop", "resourceVersion": "41",
                       "labels": {"owner": "helm", "name": "web", "status": "pending-upgrade", "version": "2"},
                       "uid": "u-1"},
          "data": {"release": "SDRzSUFBQUFBQUFBQS8=="}}
T = 1796287463   # 2026-12-03T08:44:23Z


def backup(run="run1", at=T, revision=2):
    before = ["sh.helm.release.v1.web.v1", RECORD["metadata"]["name"]]
    return cb.backup_object(RECORD, "Secret", "web", revision, run, at, "ops@ctl", "rollback",
                            "pending-upgrade for 3600 seconds", "prod", before)


def test_a_backup_is_ours_and_holds_the_record_exactly():
    obj = backup()
    meta = obj["metadata"]
    assert (meta["name"], meta["namespace"], obj["type"]) == ("helmops.unstick.backup.web.v2.run1", "shop",
                                                              "helmops.unstick/backup")
    assert "owner" not in meta["labels"]                 # Helm lists owner=helm: it never sees a backup
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "helmops.unstick", "helmops.unstick/backup-of": "web",
                              "helmops.unstick/revision": "2", "helmops.unstick/run": "run1"}
    notes = meta["annotations"]
    assert (notes[cb.A_BY], notes[cb.A_AT], notes[cb.A_ACTION], notes[cb.A_RECORD]) == (
        "ops@ctl", "2026-12-03T08:44:23Z", "rollback", "sh.helm.release.v1.web.v2")
    assert obj["data"] == RECORD["data"] and obj["data"] is not RECORD["data"]


def test_read_back_gives_the_record_as_it_was_and_what_the_run_left():
    obj = cb.with_after(backup(), {"sh.helm.release.v1.web.v2": "57", "sh.helm.release.v1.web.v3": "58"})
    got = cb.read_backup(json.loads(json.dumps(obj)))    # as the API returns it
    assert (got.release, got.revision, got.run, got.at) == ("web", 2, "run1", T)
    assert got.record == "sh.helm.release.v1.web.v2"
    assert got.record_object == {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                                 "metadata": {"name": "sh.helm.release.v1.web.v2", "namespace": "shop",
                                              "labels": RECORD["metadata"]["labels"]},
                                 "data": RECORD["data"]}
    assert got.after == {"sh.helm.release.v1.web.v2": "57", "sh.helm.release.v1.web.v3": "58"}
    assert got.before == ["sh.helm.release.v1.web.v1", "sh.helm.release.v1.web.v2"]
    assert cb.read_backup(backup()).after is None        # the run never said what it left


def test_not_ours_or_damaged_is_no_backup():
    assert cb.read_backup(RECORD) is None
    damaged = backup()
    damaged["metadata"]["annotations"][cb.A_LABELS] = "{not json"
    assert cb.read_backup(damaged) is None


def test_retention_keeps_the_newest_runs_of_a_release():
    items = [backup(run, at)["metadata"] for run, at in (("a", T), ("b", T + 60), ("c", T + 120))]
    items.append(backup("c", T + 120, revision=1)["metadata"])
    assert cb.runs_to_prune([{"metadata": m} for m in items], 2) == ["helmops.unstick.backup.web.v2.a"]
    pruned = cb.runs_to_prune([{"metadata": m} for m in items], 1)
    assert pruned == ["helmops.unstick.backup.web.v2.a", "helmops.unstick.backup.web.v2.b"]
    assert cb.runs_to_prune([{"metadata": m} for m in items], 5) == []


def meta(revision, status):
    return RevisionMeta("web", "shop", revision, status, "sh.helm.release.v1.web.v%d" % revision, "1", T, T)


def test_what_a_remediation_may_change_besides_the_newest_record():
    metas = [meta(1, "superseded"), meta(2, "deployed"), meta(3, "pending-upgrade")]
    assert records_at_stake("rollback", 3, metas) == [2]     # helm rollback supersedes the deployed one
    assert records_at_stake("resume", 3, metas) == [2]
    assert records_at_stake("unlock", 3, metas) == []


def test_tidy_history_backs_up_and_finds_the_pending_revisions_below():
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.tidy import pending_below
    metas = [meta(1, "superseded"), meta(2, "pending-upgrade"), meta(3, "deployed"), meta(4, "pending-rollback"),
             meta(5, "pending-upgrade")]
    assert [m.revision for m in pending_below(metas, 5)] == [2, 4]
    assert records_at_stake("rollback", 5, metas, tidy_history=True) == [2, 3, 4]
    assert records_at_stake("unlock", 5, metas, tidy_history=True) == []
