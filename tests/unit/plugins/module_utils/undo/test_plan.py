# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore decisions: put back only a release exactly as the run left it, and say what changed otherwise."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.helmops.unstick.plugins.module_utils.undo import cluster_backup as cb
from ansible_collections.helmops.unstick.plugins.module_utils.undo import plan as undo_plan

T = 1796287463
V = "sh.helm.release.v1.web.v%d"


def record(revision, status):
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": V % revision, "namespace": "shop", "resourceVersion": str(10 + revision),
                         "labels": {"owner": "helm", "name": "web", "status": status, "version": str(revision)}},
            "data": {"release": "payload-%d" % revision}}


def backups(run="r1", at=T, after=None, before=(1, 2), saved=((2, "pending-upgrade"), (1, "deployed")),
            restored=None, action="rollback"):
    out = []
    for revision, status in saved:
        obj = cb.backup_object(record(revision, status), "Secret", "web", revision, run, at, "me", action, "why",
                               "c", [V % r for r in before])
        if after is not None:
            obj = cb.with_after(obj, after)
        if restored is not None:
            obj["metadata"]["annotations"][undo_plan.RESTORED] = json.dumps(restored)
        out.append(cb.read_backup(obj))
    return out


AFTER = {V % 1: "21", V % 2: "22", V % 3: "23"}       # a rollback: 1 superseded, 2 claimed, 3 deployed
NOW = {V % 1: ("21", "superseded"), V % 2: ("22", "failed"), V % 3: ("23", "deployed")}


def test_a_release_as_the_run_left_it_is_put_back():
    plan = undo_plan.plan(backups(after=AFTER), NOW)
    assert plan.refusal is None and not plan.already
    assert plan.deletes == [(V % 3, "23")]                                    # the revision helm rollback wrote
    assert [(b.revision, rv) for b, rv in plan.puts] == [(1, "21"), (2, "22")]
    assert plan.creates == []
    put = undo_plan.restored_record(plan.puts[1][0], "22")
    assert put["metadata"] == {"name": V % 2, "namespace": "shop", "resourceVersion": "22",
                               "labels": record(2, "pending-upgrade")["metadata"]["labels"]}
    assert put["data"] == {"release": "payload-2"}


def test_a_later_upgrade_is_named_and_nothing_is_planned():
    now = dict(NOW)
    now[V % 3] = ("30", "superseded")
    now[V % 4] = ("31", "deployed")
    plan = undo_plan.plan(backups(after=AFTER), now)
    assert plan.refusal == ("the release moved on since run r1: revision 3 (superseded) was written; "
                            "revision 4 (deployed) is new")
    assert plan.deletes == plan.puts == plan.creates == []


def test_a_deleted_record_and_an_unknown_after_state_refuse():
    now = dict(NOW)
    del now[V % 1]
    assert undo_plan.plan(backups(after=AFTER), now).refusal.endswith("revision 1 was deleted")
    assert "did not note what it left" in undo_plan.plan(backups(after=None), NOW).refusal


def test_a_pruned_record_is_re_created_from_its_backup_and_one_without_backup_refuses():
    after = {V % 2: "22", V % 3: "23"}                     # helm pruned revision 1 (history limit)
    now = {V % 2: ("22", "failed"), V % 3: ("23", "deployed")}
    plan = undo_plan.plan(backups(after=after), now)
    assert [b.revision for b in plan.creates] == [1] and undo_plan.restored_record(plan.creates[0])[
        "metadata"].get("resourceVersion") is None
    lost = undo_plan.plan(backups(after=after, saved=((2, "pending-upgrade"),)), now)
    assert lost.refusal == "run r1 left the release without revision 1 and holds no backup of it"


def test_already_restored_is_no_refusal():
    restored = {V % 1: "40", V % 2: "41"}
    now = {V % 1: ("40", "deployed"), V % 2: ("41", "pending-upgrade")}
    assert undo_plan.plan(backups(after=AFTER, restored=restored), now).already is True


def test_selection_by_release_run_and_time():
    old, new = backups(run="old", at=T, after=AFTER), backups(run="new", at=T + 600, after=AFTER)
    chosen, notes = undo_plan.select(old + new)
    assert [b.run for b in chosen[("shop", "web")]] == ["new", "new"]
    assert notes == ["release shop/web: run old is older than run new; restore that one first, then this one "
                     "(run=old)"]
    assert undo_plan.select(old + new, run="old")[0][("shop", "web")][0].run == "old"
    assert undo_plan.select(old + new, since=T + 601) == ({}, [])
    assert undo_plan.select(old + new, releases=["api"]) == ({}, [])


def test_read_back_compares_data_and_labels():
    saved = backups(after=AFTER)[0]
    same = record(2, "pending-upgrade")
    assert undo_plan.same_record(dict(same, metadata=dict(same["metadata"], resourceVersion="99")), saved)
    assert not undo_plan.same_record(record(2, "failed"), saved)


def test_an_uninstall_is_not_restored():
    plan = undo_plan.plan(backups(after={}, before=(1,), saved=((1, "pending-install"),), action="uninstall"), {})
    assert plan.refusal.startswith("run r1 uninstalled the release: helm deleted its objects")
    assert plan.creates == []
