# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import (
    Classification, classify_release, group_revisions, judge_release, last_good_revision, rollback_landed,
    KNOWN_STATUSES,
)
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    meta_from_object, parse_time,
)

CREATED = "2026-11-24T10:52:33Z"
T0 = parse_time(CREATED)


def history(make_release, make_object, statuses, name="my.app-v2", namespace="apps",
            newest_labels=None, creation=CREATED, drop=()):
    """RevisionMeta list built from real storage objects; revision i+1 has statuses[i]."""
    metas = []
    for index, status in enumerate(statuses):
        extra = newest_labels if index == len(statuses) - 1 else None
        obj = make_object(make_release(name=name, namespace=namespace, version=index + 1, status=status),
                          labels_extra=extra, creation=creation, with_data=False)
        if index == len(statuses) - 1:
            for key in drop:
                del obj["metadata"][key]
        metas.append(meta_from_object(obj))
    return metas


def test_group_revisions_numeric_sort(make_release, make_object):
    metas = history(make_release, make_object, ["superseded"] * 9 + ["deployed"])
    metas += history(make_release, make_object, ["deployed"], name="other")
    metas += history(make_release, make_object, ["deployed"], namespace="prod")
    shuffled = list(reversed(metas))
    groups = group_revisions(shuffled)
    assert set(groups) == {("apps", "my.app-v2"), ("apps", "other"), ("prod", "my.app-v2")}
    assert [m.revision for m in groups[("apps", "my.app-v2")]] == list(range(1, 11))
    assert groups[("prod", "my.app-v2")][0].namespace == "prod"


def test_group_revisions_empty():
    assert group_revisions([]) == {}


def test_last_good_revision(make_release, make_object):
    metas = history(make_release, make_object,
                    ["superseded", "deployed", "failed", "pending-upgrade", "superseded", "pending-rollback"])
    assert last_good_revision(metas, 6) == 5
    assert last_good_revision(metas, 5) == 2
    assert last_good_revision(metas, 2) == 1
    assert last_good_revision(metas, 1) is None
    assert last_good_revision([], 3) is None


def test_last_good_revision_numeric_not_string(make_release, make_object):
    metas = history(make_release, make_object, ["superseded"] * 9 + ["deployed", "pending-upgrade"])
    assert last_good_revision(list(reversed(metas)), 11) == 10


def test_stuck_pending_upgrade(make_release, make_object):
    metas = history(make_release, make_object, ["superseded", "deployed", "pending-upgrade"])
    result = classify_release(metas, T0 + 3600, 900)
    assert isinstance(result, Classification)
    assert result == Classification("stuck", "apps", "my.app-v2", 3, "pending-upgrade", 3600, 2,
                                    "pending-upgrade for 3600 seconds (min_age 15m)")


@pytest.mark.parametrize("status", ["pending-install", "pending-upgrade", "pending-rollback"])
def test_each_pending_status_can_be_stuck(make_release, make_object, status):
    metas = history(make_release, make_object, [status])
    result = classify_release(metas, T0 + 900, 900)  # exactly min_age counts as stuck
    assert (result.kind, result.status, result.last_good_revision) == ("stuck", status, None)


def test_in_progress_when_young(make_release, make_object):
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"])
    result = classify_release(metas, T0 + 899.9, 900)
    assert result.kind == "in_progress" and result.age_seconds == 899
    assert "less than min_age" in result.reason


def test_age_is_from_the_records_creation_never_from_modified_at(make_release, make_object):
    # real helm copies modifiedAt from the previous revision onto a new pending record (issue 25): a live
    # upgrade of a release last changed an hour ago carries that hour-old modifiedAt
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"],
                    newest_labels={"modifiedAt": str(int(T0 - 3600)), "createdAt": str(int(T0 - 3600))})
    young = classify_release(metas, T0 + 10, 900)
    assert (young.kind, young.age_seconds) == ("in_progress", 10)
    old = classify_release(metas, T0 + 900, 900)
    assert (old.kind, old.age_seconds) == ("stuck", 900)


def test_without_a_creation_time_the_created_at_label_dates_the_record(make_release, make_object):
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"], drop=("creationTimestamp",),
                    newest_labels={"createdAt": str(int(T0 + 3000)), "modifiedAt": str(int(T0))})
    assert classify_release(metas, T0 + 3600, 900).kind == "in_progress"
    assert classify_release(metas, T0 + 3900, 900).age_seconds == 900


def test_judge_release_asks_for_signs_of_life_only_of_a_stuck_release(make_release, make_object):
    asked = []

    def probe(cls):
        asked.append(cls.revision)
        return ["hook Job apps/migrate has not finished"]
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"])
    young = judge_release(metas, T0 + 10, 900, probe)
    assert young.kind == "in_progress" and asked == []
    running = judge_release(metas, T0 + 3600, 900, probe)
    assert running.kind == "possibly_running" and asked == [2]
    assert "may still be running: hook Job apps/migrate has not finished" in running.reason
    assert judge_release(metas, T0 + 3600, 900, lambda cls: []).kind == "stuck"
    assert judge_release(metas, T0 + 3600, 900, None).kind == "stuck"


def test_future_record_is_never_acted_on(make_release, make_object):
    metas = history(make_release, make_object, ["pending-install"])
    result = classify_release(metas, T0 - 120, 0)
    assert result.kind == "in_progress"
    assert "future" in result.reason and result.age_seconds == -120


def test_unknown_age_is_error(make_release, make_object):
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"], drop=("creationTimestamp",))
    result = classify_release(metas, T0 + 10 ** 6, 0)
    assert (result.kind, result.reason, result.age_seconds) == ("error", "cannot determine age", None)
    assert result.last_good_revision == 1


def test_unknown_age_fine_when_settled(make_release, make_object):
    metas = history(make_release, make_object, ["deployed"], drop=("creationTimestamp",))
    assert classify_release(metas, T0, 0).kind == "healthy"


@pytest.mark.parametrize("status", ["deployed", "failed", "uninstalled"])
def test_healthy_statuses(make_release, make_object, status):
    result = classify_release(history(make_release, make_object, ["deployed", status]), T0 + 10 ** 6, 900)
    assert (result.kind, result.reason) == ("healthy", None)


@pytest.mark.parametrize("status", ["superseded", "uninstalling", "unknown"])
def test_odd_settled_statuses_are_healthy_with_note(make_release, make_object, status):
    result = classify_release(history(make_release, make_object, ["deployed", status]), T0 + 10 ** 6, 900)
    assert result.kind == "healthy" and status in result.reason


def test_old_pending_under_newer_revision_is_history(make_release, make_object):
    metas = history(make_release, make_object,
                    ["superseded", "pending-upgrade", "pending-rollback", "superseded", "deployed"])
    result = classify_release(metas, T0 + 10 ** 6, 0)
    assert (result.kind, result.revision, result.last_good_revision) == ("healthy", 5, 4)


def test_revision_10_beats_9(make_release, make_object):
    metas = history(make_release, make_object, ["superseded"] * 8 + ["pending-upgrade", "deployed"])
    result = classify_release(list(reversed(metas)), T0 + 10 ** 6, 0)
    assert (result.kind, result.revision) == ("healthy", 10)
    metas = history(make_release, make_object, ["superseded"] * 8 + ["deployed", "pending-upgrade"])
    result = classify_release([metas[9]] + metas[:9], T0 + 10 ** 6, 0)
    assert (result.kind, result.revision, result.last_good_revision) == ("stuck", 10, 9)


def test_unknown_status_is_error(make_release, make_object):
    result = classify_release(history(make_release, make_object, ["deployed", "xyz"]), T0 + 10 ** 6, 0)
    assert (result.kind, result.reason) == ("error", "unknown status 'xyz'")


def test_missing_status_label_is_error(make_release, make_object):
    metas = history(make_release, make_object, ["deployed"])
    metas[0] = metas[0]._replace(status=None)
    assert classify_release(metas, T0, 0).reason == "missing status label"


def test_duplicate_newest_revision_is_error(make_release, make_object):
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"])
    metas.append(metas[1]._replace(status="deployed", object_name="copy"))
    result = classify_release(metas, T0 + 10 ** 6, 0)
    assert result.kind == "error" and "more than one record for revision 2" == result.reason


def test_duplicate_older_revision_is_fine(make_release, make_object):
    metas = history(make_release, make_object, ["deployed", "pending-upgrade"])
    metas.append(metas[0])
    assert classify_release(metas, T0 + 10 ** 6, 0).kind == "stuck"


@pytest.mark.parametrize("min_age", [-1, None, "15m", True])
def test_bad_min_age(make_release, make_object, min_age):
    with pytest.raises(ValueError):
        classify_release(history(make_release, make_object, ["deployed"]), T0, min_age)


def test_empty_revisions():
    with pytest.raises(ValueError):
        classify_release([], T0, 0)


def test_known_statuses_complete():
    assert set(KNOWN_STATUSES) == {"unknown", "deployed", "uninstalled", "superseded", "failed", "uninstalling",
                                   "pending-install", "pending-upgrade", "pending-rollback"}


def test_last_good_revision_of_history_rows_and_without_a_bound():
    """One "last good revision" for every caller: RevisionMetas or anything with revision and status."""
    from collections import namedtuple
    row = namedtuple("Row", ["revision", "status"])
    out = [row(1, "superseded"), row(2, "deployed"), row(3, "failed"), row(4, "superseded")]
    assert last_good_revision(out) == 4 and last_good_revision(out, below=4) == 2
    assert last_good_revision([row(1, "failed")]) is None


def test_a_rollback_counts_only_when_the_cluster_shows_it():
    """One "rollback landed" check (the rollback, resume and restore actions, helm_release)."""
    from collections import namedtuple
    rev = namedtuple("Rev", ["revision", "status"])
    assert rollback_landed(3, rev(4, "deployed"), "Rollback to 2", 2) is None
    assert rollback_landed(3, None, "", 2) == "no record of the release"
    assert rollback_landed(3, rev(3, "failed"), "Upgrade failed", 2) == "revision 3 failed as the newest"
    assert rollback_landed(3, rev(4, "pending-rollback"), "Rollback to 2", 2) == \
        "revision 4 pending-rollback as the newest"
    assert rollback_landed(3, rev(4, "deployed"), "Upgrade complete", 2) == \
        "revision 4 deployed as 'Upgrade complete', not a rollback to revision 2"
