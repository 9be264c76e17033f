# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Taking turns on a release's Lease over an API that keeps resourceVersions as a server does (a write with a
stale one is a 409): arrival order, conditional writes, expiry, giving back (the real servers: tests/e2e)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import email.utils

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError, Response
from ansible_collections.helmops.unstick.plugins.module_utils.guarded_upgrade import lease, turns

NOW = 1795000000.0


class LeaseApi:
    def __init__(self):
        self.objs, self.rv, self.now, self.writes, self.conflicts = {}, 1, NOW, [], 0
        self.before_write = None

    def _answer(self, body):
        return Response(200, {"Date": email.utils.formatdate(self.now, usegmt=True)}, copy.deepcopy(body))

    def get(self, path, query=None, accept=None):
        if path not in self.objs:
            raise ApiError(404, "NotFound", "not found", path)
        return self._answer(self.objs[path])

    def _store(self, path, body):
        self.rv += 1
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = str(self.rv)
        self.objs[path] = body
        self.writes.append(body)
        return self._answer(body)

    def post(self, path, body):
        if self.before_write:
            self.before_write()
        path = path + "/" + body["metadata"]["name"]
        if path in self.objs:
            self.conflicts += 1
            raise ApiError(409, "AlreadyExists", "already exists", path)
        return self._store(path, body)

    def put(self, path, body):
        if self.before_write:
            self.before_write()
        if self.objs[path]["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            self.conflicts += 1
            raise ApiError(409, "Conflict", "the object has been modified", path)
        return self._store(path, body)


PATH = "/apis/coordination.k8s.io/v1/namespaces/shop/leases/helmops-unstick-web"


def turn(api, holder, duration=30, clock=None):
    clock = clock or (lambda: api.now)
    return lease.Turn(api, "shop", "web", holder, duration, clock=clock, sleep=lambda s: setattr(api, "now", api.now + s),
                      monotonic=lambda: api.now)


def test_the_first_run_creates_the_lease_and_holds_it():
    api = LeaseApi()
    first = turn(api, "ops@ctl job 42")
    assert first.take(60) == 0
    spec = api.objs[PATH]["spec"]
    assert spec["holderIdentity"] == first.identity and first.identity.startswith("ops@ctl job 42 #")
    assert spec["leaseDurationSeconds"] == 30 and spec["renewTime"].endswith("Z") and "." in spec["renewTime"]
    assert lease.give_back(api, "shop", "web", first.identity) == "given back"
    assert "holderIdentity" not in api.objs[PATH]["spec"]
    assert lease.give_back(api, "shop", "web", first.identity) == "not held by this run (held by nobody)"


def test_a_second_run_waits_in_line_and_takes_the_lease_once_it_is_given_back():
    api = LeaseApi()
    first, second = turn(api, "a@ci"), turn(api, "b@ci")
    first.take(60)
    ticks = []

    def sleep(seconds):
        api.now += seconds
        ticks.append(api.now)
        if len(ticks) == 3:
            lease.give_back(api, "shop", "web", first.identity)
    second.sleep = sleep
    waited = second.take(60)
    assert 0 < waited < 10 and api.objs[PATH]["spec"]["holderIdentity"] == second.identity
    assert api.objs[PATH]["spec"]["leaseTransitions"] == 1
    assert turns.queue_of(api.objs[PATH], api.now, 60) == []          # out of line once it holds it


def test_runs_take_the_lease_in_arrival_order():
    api = LeaseApi()
    holder, early, late = turn(api, "h@ci"), turn(api, "early@ci"), turn(api, "late@ci")
    holder.take(60)
    # each waits once: early arrives first, then late
    with pytest.raises(lease.TurnWaitedOut):
        early.take(0.5)     # times out but shows the line: it leaves it
    assert turns.queue_of(api.objs[PATH], api.now, 60) == []
    early.sleep = lambda s: None
    queue = turns.queued([], early.ticket, "early@ci", api.now)
    queue = turns.queued(queue, late.ticket, "late@ci", api.now)
    api.objs[PATH] = turns.with_queue(api.objs[PATH], queue)
    lease.give_back(api, "shop", "web", holder.identity)
    spec = api.objs[PATH]["spec"]
    line = turns.queue_of(api.objs[PATH], api.now, 60)
    assert turns.decide_turn(spec, line, late.ticket, api.now) == turns.WAIT_TURN
    assert early.take(60) == 0 and api.objs[PATH]["spec"]["holderIdentity"] == early.identity


def test_a_conflicting_write_is_never_overwritten_the_run_reads_again():
    api = LeaseApi()
    first, second = turn(api, "a@ci"), turn(api, "b@ci")

    def race():     # someone else creates the Lease between our read and our write
        api.before_write = None
        first.take(60)
    api.before_write = race
    second.sleep = lambda s: setattr(api, "now", api.now + 100)      # the first holder never gives it back
    assert second.take(600) > 0
    assert api.conflicts == 1 and api.objs[PATH]["spec"]["holderIdentity"] == second.identity   # after expiry


def test_an_abandoned_lease_is_taken_once_it_expired():
    api = LeaseApi()
    turn(api, "killed@ci", duration=5).take(60)
    api.now += 6
    late = turn(api, "next@ci")
    assert late.take(60) == 0 and api.objs[PATH]["spec"]["holderIdentity"] == late.identity


def test_the_wait_runs_out_naming_the_holder():
    api = LeaseApi()
    holder = turn(api, "a@ci job 7", duration=300)
    holder.take(60)
    with pytest.raises(lease.TurnWaitedOut) as out:
        turn(api, "b@ci").take(20)
    assert out.value.holder.startswith(holder.identity + " (expires in ") and out.value.waited >= 20


def test_the_holder_renews_its_lease_and_a_run_that_lost_it_knows():
    api = LeaseApi()
    mine = turn(api, "a@ci", duration=30)
    mine.take(60)
    api.now += 20
    assert mine.renew() is True
    assert not turns.expired(api.objs[PATH]["spec"], api.now + 25)             # 30 s from the renewal
    api.now += 40
    other = turn(api, "b@ci")
    other.take(60)                                                             # expired: taken over
    assert mine.renew() is False and mine.held is False
