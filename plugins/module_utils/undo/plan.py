# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore (helm_restore): which backups to restore, and whether a release may be put back. Pure, no I/O.

A run's backups of one release say which records it saved (as they were), which records the release had
before the run (``before``) and the resourceVersion of every record after it (``after``). A restore goes
ahead only while the release is exactly as the run left it: every record of ``after`` still there with the
same resourceVersion (Kubernetes changes it on every write), and no other record. Then it deletes the
records the run created (helm rollback's new revision), and puts back every saved record, data, labels and
annotations as they were (re-creating one helm pruned). Otherwise it refuses, saying what changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_object_name

#: the annotation a restore leaves on the backups it used: the release's records after it ({name: rv})
RESTORED = "helmops.unstick/restored"

#: what a restore of one release does: ``refusal`` (a sentence) or the writes, each conditional
UndoPlan = namedtuple("UndoPlan", ["namespace", "release", "run", "at", "refusal", "deletes", "puts", "creates",
                                   "already"])


def _revision(name):
    try:
        return parse_object_name(name)[1]
    except Exception:  # noqa: BLE001 - a name that is not a record's sorts first
        return 0


def select(backups, releases=None, run=None, since=None):
    """{(namespace, release): [Backup, ...] of the one run to restore}, and notes on what was left out.

    ``run``: that run's backups; else the newest run of each release (at or after ``since``, epoch seconds,
    when given). ``releases``: only those release names. An older run of a release also selected by ``since``
    is left out (a note says so): restores go back one run at a time, newest first."""
    groups = {}
    for backup in backups:
        if releases and backup.release not in releases:
            continue
        if run and backup.run != run:
            continue
        if since is not None and (backup.at is None or backup.at < since):
            continue
        groups.setdefault((backup.namespace, backup.release), {}).setdefault(backup.run, []).append(backup)
    chosen, notes = {}, []
    for key, runs in sorted(groups.items()):
        ordered = sorted(runs.items(), key=lambda kv: (max(b.at or 0 for b in kv[1]), kv[0]), reverse=True)
        chosen[key] = sorted(ordered[0][1], key=lambda b: b.revision)
        for older in [pair[0] for pair in ordered[1:]]:
            notes.append("release %s/%s: run %s is older than run %s; restore that one first, then this one "
                         "(run=%s)" % (key[0], key[1], older, ordered[0][0], older))
    return chosen, notes


def _describe_current(name, current):
    rv, status = current[name]
    return "revision %s (%s)" % (_revision(name), status or "no status label")


def plan(backups, current):
    """The UndoPlan of one release from one run's ``backups``; ``current``: {record name: (resourceVersion,
    status)} of the release's records now."""
    first = backups[0]

    def result(refusal=None, deletes=(), puts=(), creates=(), already=False):
        return UndoPlan(first.namespace, first.release, first.run, first.at, refusal, list(deletes), list(puts),
                        list(creates), already)

    if any(b.action == "uninstall" for b in backups):
        return result("run %s uninstalled the release: helm deleted its objects, and putting its records back "
                      "alone would make Helm believe in objects that are gone (reinstall it instead)" % first.run)
    afters = [b.after for b in backups]
    if any(a is None for a in afters):
        return result("run %s did not note what it left (it was interrupted, or could not write its backups "
                      "after acting); nothing can tell whether the release moved on, so it is not restored "
                      "(the backups %s hold the records as they were)"
                      % (first.run, ", ".join(b.name for b in backups)))
    after = afters[0]
    if _same(_restored_state(first), current):
        return result(already=True)
    changes = []
    for name in sorted(after, key=_revision):
        if name not in current:
            changes.append("revision %s was deleted" % _revision(name))
        elif str(current[name][0]) != str(after[name]):
            changes.append("%s was written" % _describe_current(name, current))
    for name in sorted(set(current) - set(after), key=_revision):
        changes.append("%s is new" % _describe_current(name, current))
    if changes:
        return result("the release moved on since run %s: %s" % (first.run, "; ".join(changes)))
    saved = dict((b.record, b) for b in backups)
    before = set(first.before or [])
    lost = sorted((before - set(after)) - set(saved), key=_revision)
    if lost:
        return result("run %s left the release without %s and holds no backup of %s"
                      % (first.run, ", ".join("revision %s" % _revision(n) for n in lost),
                         "it" if len(lost) == 1 else "them"))
    deletes = [(name, after[name]) for name in sorted(set(after) - before, key=_revision, reverse=True)]
    puts = [(saved[name], after[name]) for name in sorted(saved, key=_revision) if name in after]
    creates = [saved[name] for name in sorted(saved, key=_revision) if name not in after]
    return result(deletes=deletes, puts=puts, creates=creates)


def _restored_state(backup):
    """{name: resourceVersion} a restore of this backup's run left (its annotation), or None."""
    raw = ((backup.obj.get("metadata") or {}).get("annotations") or {}).get(RESTORED)
    try:
        state = json.loads(raw) if raw else None
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def _same(state, current):
    """Whether the release is exactly as a restore left it ({name: resourceVersion})."""
    return state is not None and set(state) == set(current) and \
        all(str(current[n][0]) == str(state[n]) for n in state)


def restored_record(backup, resource_version=None):
    """The record to write back: the saved one, with the live object's resourceVersion (a PUT's
    precondition) or none (a create)."""
    record = dict(backup.record_object, metadata=dict(backup.record_object["metadata"]))
    if resource_version:
        record["metadata"]["resourceVersion"] = str(resource_version)
    return record


def same_record(record, backup):
    """Whether a record read back is the saved one: data and labels byte for byte."""
    meta = record.get("metadata") or {}
    want = backup.record_object
    return (record.get("data") or {}) == (want.get("data") or {}) and \
        (meta.get("labels") or {}) == (want["metadata"].get("labels") or {})
