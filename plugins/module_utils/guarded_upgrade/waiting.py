# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for a pending revision someone else's operation may still hold (``wait_for_pending``).

It polls the release's records' metadata (one label-selected list of PartialObjectMetadata: no payload) and
judges the release again, with the same ``judge_release`` as the first look (``Run.scan_release``), only when
they call for it (``turns.judgment_due``: the newest record changed, or its pending revision reached min_age).
A poll, not a watch: going stale is a moment in time, not a change any watch would send, so a timer is needed
anyway; and a poll takes the API client's retries and deadline as every other request does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import plan as guard_plan
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import turns
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import meta_from_object


def _judged(scan):
    """The newest record's key (``turns.record_key``) as ``scan`` judged it."""
    cls = scan.classification
    return None if cls is None else (cls.revision, cls.status)


def wait_for_pending(job, namespace, name, scan, limit, sleep=time.sleep, clock=time.monotonic):
    """Poll until the release is no longer in progress or ``limit`` seconds have passed.

    Returns ``(scan, decision, why, waited, polls)``: the last judgment (``guard_plan.judge_before``) and the
    seconds waited. ``decision`` is still WAIT when the wait ran out."""
    started = clock()
    decision, why = guard_plan.judge_before(scan.classification, scan.summary)
    judged = _judged(scan)
    polls = 0
    while decision == guard_plan.WAIT:
        elapsed = clock() - started
        if elapsed >= limit:
            break
        sleep(turns.poll_interval(elapsed, limit - elapsed))
        polls += 1
        items, date = job.storage.revisions_at(namespace, name)
        metas = [meta_from_object(item) for item in items]
        if not turns.judgment_due(judged, metas, job._server_time(date), job.settings.min_age):
            continue
        scan = job.scan_release(namespace, name)
        decision, why = guard_plan.judge_before(scan.classification, scan.summary)
        judged = turns.record_key(turns.newest(metas))
    return scan, decision, why, round(clock() - started, 1), polls
