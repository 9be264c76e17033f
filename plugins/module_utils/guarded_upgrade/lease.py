# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our guarded upgrades of one release take turns on a ``coordination.k8s.io/v1`` Lease in its namespace.

A run that finds the Lease held (or others ahead of it) puts a ticket at the end of the queue in the Lease's
``helmops.unstick/queue`` annotation and polls; it takes the Lease when it is free (no holder, or the holder's
renewTime + leaseDurationSeconds past) and its ticket is first. Every write carries the resourceVersion read
(a conflict: read again), so two runs never both take it. The decisions are ``turns.py``'s.

Advice between our runs only: helm does not read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import turns
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_http_date

LEASES = "/apis/coordination.k8s.io/v1/namespaces/%s/leases"


class TurnWaitedOut(Exception):
    """The wait for the Lease ran out; ``holder`` says who has it."""

    def __init__(self, holder, ahead, waited):
        super(TurnWaitedOut, self).__init__(holder)
        self.holder, self.ahead, self.waited = holder, ahead, waited


class Turn:
    """This run's turn on ``release``'s Lease in ``namespace``: ``identity`` is the holder (who, which job, and a
    ticket of this run)."""

    def __init__(self, api, namespace, release, holder, duration, clock=time.time, sleep=time.sleep,
                 monotonic=time.monotonic):
        self.api, self.namespace, self.duration = api, namespace, duration
        self.name = turns.lease_name(release)
        self.ticket = uuid.uuid4().hex[:12]
        self.identity = "%s #%s" % (holder, self.ticket)
        self.holder = holder
        self.clock, self.sleep, self.monotonic = clock, sleep, monotonic
        self.requests = 0
        self.held = False
        self.waited_for = None   # who held the Lease when this run first had to wait

    def _path(self, name=None):
        return LEASES % self.namespace + ("/" + name if name else "")

    def _read(self):
        """(the Lease or None, the server's time)."""
        self.requests += 1
        try:
            answer = self.api.get(self._path(self.name))
        except ApiError as err:
            if err.not_found:
                return None, self.clock()
            raise
        return answer.body, self._now(answer.date)

    def _now(self, date):
        try:
            return parse_http_date(date) if date else self.clock()
        except ValueError:
            return self.clock()

    def _write(self, lease, create=False):
        """True when the conditional write landed, False on a conflict (someone wrote first: read again)."""
        self.requests += 1
        try:
            if create:
                self.api.post(self._path(), lease)
            else:
                self.api.put(self._path(self.name), lease)
        except ApiError as err:
            if err.status in (409,):
                return False
            raise
        return True

    def take(self, limit):
        """Wait for the Lease, in arrival order, up to ``limit`` seconds, and take it; returns the seconds waited.
        Raises TurnWaitedOut when the wait ran out (this run's ticket is taken out of the line)."""
        started = self.monotonic()
        seen = None
        while True:
            lease, now = self._read()
            queue = turns.queue_of(lease, now, turns.STALE_WAITER)
            spec = (lease or {}).get("spec") or {}
            if turns.decide_turn(spec, queue, self.ticket, now) == turns.TAKE_TURN:
                mine = turns.taken(lease, self.identity, self.duration, now, turns.dequeued(queue, self.ticket))
                if lease is None:
                    mine["metadata"].update(name=self.name, namespace=self.namespace, labels=dict(turns.LEASE_LABELS))
                    mine.update(apiVersion="coordination.k8s.io/v1", kind="Lease")
                if self._write(mine, create=lease is None):
                    self.held = True
                    return round(self.monotonic() - started, 1)
                continue
            elapsed = self.monotonic() - started
            if self.waited_for is None:
                self.waited_for = spec.get("holderIdentity") or "runs ahead in line"
            if elapsed >= limit:
                self._leave()
                ahead = [e.get("holder") for e in queue if e["id"] != self.ticket]
                raise TurnWaitedOut(turns.describe_holder(spec, now), ahead, round(elapsed, 1))
            if seen is None or now - seen >= turns.REFRESH or self.ticket not in [e["id"] for e in queue]:
                if not self._write(turns.with_queue(lease, turns.queued(queue, self.ticket, self.holder, now))):
                    continue
                seen = now
            self.sleep(turns.poll_interval(elapsed, limit - elapsed))

    def renew(self):
        """Renew the Lease this run holds (renewTime now): after a wait for a pending revision, so the upgrade
        that follows has the whole lease_duration. False when it is no longer this run's."""
        for dummy in range(3):
            lease, now = self._read()
            spec = (lease or {}).get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                self.held = False
                return False
            if self._write(dict(lease, spec=dict(spec, renewTime=turns.micro_time(now)))):
                return True
        return False

    def _leave(self):
        """Out of the line (best effort: a ticket left behind goes stale by itself)."""
        for dummy in range(3):
            lease, now = self._read()
            queue = turns.queue_of(lease, now, turns.STALE_WAITER)
            if lease is None or self.ticket not in [e["id"] for e in queue]:
                return
            if self._write(turns.with_queue(lease, turns.dequeued(queue, self.ticket))):
                return


def give_back(api, namespace, release, identity, clock=time.time):
    """Free ``release``'s Lease if ``identity`` still holds it (conditional writes; a conflict: read again).
    Returns what happened, for the result: "given back", "not held by this run (held by ...)", "no Lease"."""
    turn = Turn(api, namespace, release, "", 0, clock=clock)
    for dummy in range(5):
        lease, now = turn._read()
        if lease is None:
            return "no Lease %s" % turn.name
        holder = ((lease.get("spec") or {}).get("holderIdentity"))
        if holder != identity:
            return "not held by this run (held by %s)" % (holder or "nobody")
        if turn._write(turns.given_back(lease, now)):
            return "given back"
    return "not given back: the Lease kept changing; it expires by itself"
