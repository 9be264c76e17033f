# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure decisions of waiting one's turn: when to judge a release again, the Lease's name, holder, expiry
and queue order."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import turns
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import RevisionMeta, format_time

NOW = 1795000000.0


def meta(revision, status, created):
    return RevisionMeta("web", "apps", revision, status, "sh.helm.release.v1.web.v%d" % revision, "1", created, None)


def test_a_judgment_is_due_when_the_newest_record_changes_or_reaches_min_age():
    young = [meta(1, "deployed", NOW - 900), meta(2, "pending-upgrade", NOW - 10)]
    assert not turns.judgment_due((2, "pending-upgrade"), young, NOW, 60)
    assert turns.judgment_due((2, "pending-upgrade"), young, NOW + 50, 60)          # 60 s old: stale?
    assert turns.judgment_due((2, "pending-upgrade"), young[:1] + [meta(2, "deployed", NOW - 10)], NOW, 60)
    assert turns.judgment_due((2, "pending-upgrade"), young + [meta(3, "pending-upgrade", NOW)], NOW, 60)
    assert turns.judgment_due((2, "pending-upgrade"), [], NOW, 60)                  # uninstalled meanwhile


def test_polls_start_fast_slow_down_and_never_pass_the_end():
    assert turns.poll_interval(0, 100) == 1.0
    assert turns.poll_interval(20, 100) == 3.0
    assert turns.poll_interval(300, 100) == 5.0
    assert turns.poll_interval(5, 0.5) == 0.5


def test_who_started_it_as_far_as_the_record_says():
    obj = {"metadata": {"managedFields": [{"manager": "helm"}, {"manager": "helm"}, {"manager": "argo"}]}}
    assert turns.started_by({"description": "Preparing upgrade"}, obj) == \
        "description 'Preparing upgrade'; written by argo, helm"
    assert turns.started_by({}, {}) == "the record does not say who started it"


def test_the_lease_name_is_valid_and_distinct_for_every_release():
    assert turns.lease_name("web") == "helmops-unstick-web"
    long_a, long_b = "a" * 260, "a" * 259 + "b"
    assert turns.lease_name(long_a) != turns.lease_name(long_b)
    assert all(len(turns.lease_name(n)) <= 253 for n in (long_a, long_b))
    odd = turns.lease_name("Web_App")
    assert odd.startswith("helmops-unstick-web-app-") and odd == odd.lower()


def test_the_holder_names_the_awx_job_where_there_is_one():
    assert turns.holder_identity("ops@ctl", {}) == "ops@ctl"
    assert turns.holder_identity("ops@ctl", {"AWX_JOB_ID": "42"}) == "ops@ctl job 42"
    assert turns.holder_identity("ops@ctl", {"JOB_ID": "7"}, job_id="42") == "ops@ctl job 42"


def spec(holder, renewed, duration=30):
    return {"holderIdentity": holder, "renewTime": format_time(renewed), "leaseDurationSeconds": duration}


def test_a_lease_is_free_without_holder_or_once_its_holder_stopped_renewing_it():
    assert turns.expired({}, NOW) and turns.expired(spec(None, NOW), NOW)
    assert not turns.expired(spec("a", NOW - 29), NOW)
    assert turns.expired(spec("a", NOW - 30), NOW)


def lease(entries):
    return {"metadata": {"annotations": {turns.QUEUE_ANNOTATION: json.dumps(entries)}}}


def test_the_queue_keeps_arrival_order_and_drops_waiters_not_seen_for_a_while():
    line = turns.queue_of(lease([{"id": "a", "seen": NOW - 5}, {"id": "b", "seen": NOW - 100}, {"id": "c", "seen": NOW}]),
                          NOW, 60)
    assert [e["id"] for e in line] == ["a", "c"]
    line = turns.queued(line, "d", "ops@ctl", NOW)
    assert [e["id"] for e in line] == ["a", "c", "d"]
    assert turns.queued(line, "a", "x", NOW + 1)[0]["seen"] == NOW + 1          # refreshed, keeps its place
    assert [e["id"] for e in turns.dequeued(line, "c")] == ["a", "d"]
    assert turns.queue_of(None, NOW, 60) == [] and turns.queue_of(lease("garbage"), NOW, 60) == []


def test_a_run_takes_its_turn_only_when_the_lease_is_free_and_nobody_is_ahead():
    line = [{"id": "a", "seen": NOW}, {"id": "b", "seen": NOW}]
    assert turns.decide_turn(spec("x", NOW), line, "a", NOW) == turns.WAIT_TURN      # held
    assert turns.decide_turn(spec(None, NOW), line, "a", NOW) == turns.TAKE_TURN     # first in line
    assert turns.decide_turn(spec(None, NOW), line, "b", NOW) == turns.WAIT_TURN     # a came first
    assert turns.decide_turn(spec("x", NOW - 60), [], "c", NOW) == turns.TAKE_TURN   # abandoned, nobody waiting
    assert turns.decide_turn(spec(None, NOW), line, "c", NOW) == turns.WAIT_TURN     # not yet in line
