# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""unlock: mark the stuck newest revision ``failed`` (label and payload).

Helm only refuses to act while the newest revision is pending; once it is
``failed`` the next ``helm upgrade`` (or ``upgrade --install``) proceeds.
No record is removed, so history keeps what happened, and the description
says who changed it, when, and what it was.  The write carries the record's
resourceVersion: if Helm touched the record since we read it, the API answers
409 Conflict and nothing is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time

from ansible_collections.helmops.unstick.plugins.module_utils.records import (
    encode_payload,
    failed_labels,
    mark_failed,
)

ACTION = "unlock"


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def describe(was_status, revision, age_seconds, actor, now, then=None):
    text = "helmops.unstick: marked failed by %s at %s; was %s (revision %s, stuck %ss)" % (
        actor, rfc3339(now), was_status, revision, age_seconds)
    if then:
        text += "; " + then
    return text


def unlocked_object(obj, release, description, now, driver):
    """The record as it must be after unlocking: a new dict, input untouched."""
    new = copy.deepcopy(obj)
    new["metadata"]["labels"] = failed_labels(new["metadata"].get("labels"), now)
    new["data"]["release"] = encode_payload(mark_failed(release, description, rfc3339(now)), driver)
    return new


def run(storage, obj, release, description, now):
    """Write the unlocked record (conditional on resourceVersion); returns it."""
    return storage.replace(unlocked_object(obj, release, description, now, storage.driver))
