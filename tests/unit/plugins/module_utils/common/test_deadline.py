# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_timeout: one deadline cuts every request, retry, back-off and helm call of a run on a cluster."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions.base import ActionContext
from ansible_collections.helmops.unstick.plugins.module_utils.common.deadline import Deadline
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError, KubeApi


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TimingOutClient:
    """An API client whose every call times out after the timeout it is given (on the fake clock)."""

    def __init__(self, clock):
        self.clock = clock
        self.timeouts = []

    def param_serialize(self, method, path, **kw):
        return (method, path)

    def call_api(self, method, path, _request_timeout=None):
        self.timeouts.append(_request_timeout)
        self.clock.now += _request_timeout
        raise OSError("Read timed out. (read timeout=%s)" % _request_timeout)


def api_with(seconds, request_timeout=2):
    clock = Clock()
    client = TimingOutClient(clock)

    def sleep(delay):
        clock.now += delay
    api = KubeApi(client, timeout=request_timeout, sleep=sleep, deadline=Deadline(seconds, clock=clock))
    return api, client, clock


def test_a_hung_server_costs_at_most_the_cluster_timeout():
    # without a deadline: 5 tries of 2 s and 0.5+1+2+4 s of back-off = 17.5 s
    api, client, clock = api_with(None)
    with pytest.raises(ApiError):
        api.get("/api/v1/secrets")
    assert len(client.timeouts) == 5 and clock.now - 1000 == 17.5
    # with cluster_timeout 5s: 2 s, back-off 0.5, 2 s; then 0.5 s left is too little for the next back-off
    api, client, clock = api_with(5)
    with pytest.raises(ApiError) as err:
        api.get("/api/v1/secrets")
    assert client.timeouts == [2, 2] and clock.now - 1000 == 4.5
    assert "no retry: cluster_timeout (5s) reached after 2 attempt(s)" in err.value.message
    assert err.value.status == 0                       # still an unanswered request, described as such


def test_each_request_gets_only_what_is_left_and_none_is_sent_after_the_deadline():
    api, client, clock = api_with(3, request_timeout=60)
    with pytest.raises(ApiError):
        api.get("/api/v1/secrets")
    assert client.timeouts == [3]                      # 60 s asked, 3 s left
    with pytest.raises(ApiError) as err:
        api.put("/api/v1/namespaces/a/secrets/b", {})
    assert client.timeouts == [3] and "not sent: cluster_timeout (3s) reached" in err.value.message


def test_helm_gets_the_time_left_as_its_timeout():
    clock = Clock()
    settings = type("Settings", (), {"timeout": 300})()
    ctx = ActionContext(None, None, "ops@ctl", "run1", 0, settings, True, "c1", Deadline(120, clock=clock))
    assert ctx.helm_seconds() == 120
    clock.now += 119.5
    assert ctx.helm_seconds() == 1                     # never 0: helm reads 0s as "no timeout"
    assert ActionContext(None, None, "a", "r", 0, settings, True, "c1").helm_seconds() == 300


def test_no_deadline_never_expires():
    deadline = Deadline(None)
    assert not deadline.expired() and deadline.cap(7) == 7 and deadline.allows(10 ** 9)
