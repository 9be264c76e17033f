# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting one's turn, for one release: when the phase before the upgrade judges a pending revision again while
it waits for it, and the words when the wait runs out; and the decisions of a Lease for guarded upgrades of one
release to take turns on (its name, holder, expiry, and a queue in arrival order), not yet read or written by
any module.

Pure helpers, no I/O: ``waiting.py`` polls the release's records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_time
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import PENDING_STATUSES

#: a poll of the records' metadata, at first every FIRST_POLL seconds, then slower, never slower than MAX_POLL
FIRST_POLL = 1.0
MAX_POLL = 5.0

#: the Lease's name: PREFIX + the release (a DNS-1123 subdomain, at most 253 characters; hashed when too long)
LEASE_PREFIX = "helmops-unstick-"
LEASE_NAME_MAX = 253
#: the annotation that holds the queue of runs waiting for the Lease (a list, in arrival order)
QUEUE_ANNOTATION = "helmops.unstick/queue"
#: the Lease's labels (what it is for, which release)
LEASE_LABELS = {"app.kubernetes.io/managed-by": "helmops.unstick"}


def poll_interval(elapsed, remaining):
    """Seconds to the next poll: FIRST_POLL, a little slower every ten seconds waited, at most MAX_POLL, never past
    the end of the wait."""
    return max(0.0, min(MAX_POLL, FIRST_POLL + elapsed / 10.0, remaining))


def newest(metas):
    """The newest revision's RevisionMeta of ``metas`` (None when there is none)."""
    return max(metas, key=lambda m: m.revision) if metas else None


def record_key(meta):
    """What identifies one state of the newest record (its revision and status label): a change in either calls
    for a new judgment."""
    return None if meta is None else (meta.revision, meta.status)


def judgment_due(judged, metas, now, min_age):
    """Whether the records (``metas``, read at server time ``now``) call for judging the release again, after it
    was last judged in progress with its newest record ``judged`` (a ``record_key``): the newest record changed
    (settled, superseded, a new revision), or its pending revision has reached ``min_age`` (stale unless the
    liveness checks find signs of life, which only a judgment makes)."""
    meta = newest(metas)
    if record_key(meta) != judged:
        return True
    if meta is None or meta.status not in PENDING_STATUSES:
        return True
    return meta.created_at is None or now - meta.created_at >= min_age


def started_by(summary, obj):
    """Who started the pending revision, as far as its record says: helm's description in the release (helm
    writes e.g. "Preparing upgrade"; a tool may write its own), and the field managers that wrote the record."""
    parts = []
    description = (summary or {}).get("description")
    if description:
        parts.append("description %r" % description)
    managers = sorted(set(entry.get("manager") for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []
                          if isinstance(entry, dict) and entry.get("manager")))
    if managers:
        parts.append("written by %s" % ", ".join(managers))
    return "; ".join(parts) or "the record does not say who started it"


def waited_out(where, cls, who, waited, limit):
    """The failure when ``wait_for_pending`` (``limit`` seconds) ran out with the release still in progress."""
    if cls.age_seconds is None:
        age = ""
    else:
        age = ", %ss old" % cls.age_seconds
    return ("guarded upgrade of %s: waited %ss (wait_for_pending %ss) for revision %s (%s%s; %s) to finish, and it "
            "is still %s: %s. Nothing was touched and no upgrade was started. Retry later, or wait longer "
            "(wait_for_pending, guarded_upgrade_wait_for_pending)."
            % (where, int(round(waited)), _shown(limit), cls.revision, cls.status, age, who,
               "possibly running" if cls.kind == "possibly_running" else "in progress", cls.reason))


def _shown(seconds):
    return int(seconds) if float(seconds).is_integer() else seconds


# -- the Lease ----------------------------------------------------------------------------------------------------

def lease_name(release):
    """The Lease's name for ``release``: PREFIX + the release, lower-cased; hashed (sha256, 10 hex) when that would
    not be a valid name, so two releases never share one."""
    name = LEASE_PREFIX + release
    if len(name) <= LEASE_NAME_MAX and re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name):
        return name
    digest = hashlib.sha256(release.encode("utf-8")).hexdigest()[:10]
    safe = re.sub(r"[^a-z0-9.-]+", "-", release.lower()).strip("-.")
    return (LEASE_PREFIX + safe)[:LEASE_NAME_MAX - 11].rstrip("-.") + "-" + digest


def holder_identity(actor, environ, job_id=None):
    """Who holds the Lease: the AWX/AAP job (``job_id``, else the ``JOB_ID``/``AWX_JOB_ID``/``TOWER_JOB_ID`` of the
    environment) and the run's actor (user@host)."""
    job = job_id or environ.get("AWX_JOB_ID") or environ.get("TOWER_JOB_ID") or environ.get("JOB_ID")
    return "%s job %s" % (actor, job) if job else actor


def expired(spec, now):
    """Whether a Lease ``spec`` is free: no holder, or its holder's renewTime (else acquireTime) plus
    leaseDurationSeconds is past (server time ``now``, epoch seconds)."""
    holder = (spec or {}).get("holderIdentity")
    if not holder:
        return True
    stamp = spec.get("renewTime") or spec.get("acquireTime")
    try:
        renewed = parse_time(stamp) if stamp else None
    except ValueError:
        renewed = None
    if renewed is None:
        return True
    return now >= renewed + (spec.get("leaseDurationSeconds") or 0)


def queue_of(lease, now, stale_after):
    """The queue of a Lease (``lease``: the object, or None): entries ``{"id", "holder", "seen"}`` in arrival
    order, without those whose waiter has not been seen for ``stale_after`` seconds (a waiter killed in line)."""
    raw = (((lease or {}).get("metadata") or {}).get("annotations") or {}).get(QUEUE_ANNOTATION) or "[]"
    try:
        entries = json.loads(raw)
    except ValueError:
        entries = []
    return [e for e in entries if isinstance(e, dict) and e.get("id")
            and isinstance(e.get("seen"), (int, float)) and now - e["seen"] < stale_after]


def queued(queue, ticket, holder, now):
    """``queue`` with ``ticket`` at its place (appended on arrival), its ``seen`` time refreshed to ``now``."""
    out = [dict(e) for e in queue]
    for entry in out:
        if entry["id"] == ticket:
            entry["seen"] = now
            return out
    return out + [{"id": ticket, "holder": holder, "seen": now}]


def dequeued(queue, ticket):
    return [e for e in queue if e["id"] != ticket]


TAKE_TURN = "take"
WAIT_TURN = "wait"


def decide_turn(spec, queue, ticket, now):
    """What the run with ``ticket`` does with the Lease (``spec``, its live ``queue``): TAKE_TURN when the Lease is
    free (no holder, or expired) and no other run is ahead of it in line, else WAIT_TURN."""
    if not expired(spec, now):
        return WAIT_TURN
    ids = [e["id"] for e in queue]
    if ids and ids[0] != ticket:
        return WAIT_TURN
    return TAKE_TURN


#: a waiter refreshes its place in line every REFRESH seconds; one not seen for STALE_WAITER seconds (killed while
#: waiting) loses its place
REFRESH = 10.0
STALE_WAITER = 60.0


def micro_time(epoch):
    """Epoch seconds as a Kubernetes MicroTime (RFC 3339 with 6 fraction digits, UTC), as a Lease's times are."""
    import datetime
    whole = int(epoch)
    stamp = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=whole)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % int((epoch - whole) * 1e6)


def taken(lease, identity, duration, now, queue):
    """``lease`` (the object read, or a new one when None) as held by ``identity`` from ``now`` for ``duration``
    seconds, with ``queue`` in its annotation; the resourceVersion read stays, so the write is conditional."""
    out = dict(lease or {})
    out["metadata"] = dict(out.get("metadata") or {})
    spec = dict(out.get("spec") or {})
    spec.update(holderIdentity=identity, leaseDurationSeconds=int(duration), acquireTime=micro_time(now),
                renewTime=micro_time(now), leaseTransitions=int(spec.get("leaseTransitions") or 0) + (1 if lease else 0))
    out["spec"] = spec
    return with_queue(out, queue)


def with_queue(lease, queue):
    out = dict(lease)
    meta = dict(out.get("metadata") or {})
    meta["annotations"] = dict(meta.get("annotations") or {}, **{QUEUE_ANNOTATION: json.dumps(queue, sort_keys=True)})
    out["metadata"] = meta
    return out


def given_back(lease, now):
    """``lease`` free again: no holder (its duration and times kept, as client-go's leader election leaves them)."""
    out = dict(lease)
    spec = dict(out.get("spec") or {})
    spec.pop("holderIdentity", None)
    spec["renewTime"] = micro_time(now)
    out["spec"] = spec
    return out


def describe_holder(spec, now):
    """Who holds the Lease and until when, for messages."""
    stamp = (spec or {}).get("renewTime") or (spec or {}).get("acquireTime")
    try:
        left = int(parse_time(stamp) + (spec.get("leaseDurationSeconds") or 0) - now) if stamp else None
    except ValueError:
        left = None
    return "%s%s" % ((spec or {}).get("holderIdentity") or "nobody",
                     "" if left is None else " (expires in %ss unless renewed)" % max(left, 0))
