# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's bookkeeping over an in-memory record store (the REST layer is
exercised end to end against the local API server in tests/e2e)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json

from ansible_collections.helmops.unstick.plugins.module_utils import runner
from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.k8s.releases import SETTLED
from ansible_collections.helmops.unstick.plugins.module_utils.records import (
    decode_payload,
    format_http_date,
)

NOW = 1795000000.0
PARAMS = dict(namespaces=[], exclude_namespaces=[], releases=[], exclude_releases=[], min_age="15m",
              remediate=True, strategy="unlock", pending_install="unlock", wait=True, timeout="5m",
              backup_dir=None, max_remediations=None)


class Scan:
    def __init__(self, items, date):
        self.items, self.server_date, self.forbidden = items, date, []


class Store:
    driver = "secret"

    def __init__(self, objs):
        self.objs = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs}
        self.writes = 0
        self.gets = 0

    def scan(self, namespaces, keep):
        items = [o for o in self.objs.values()
                 if o["metadata"]["labels"].get("status") not in SETTLED and keep(o["metadata"]["namespace"])]
        return Scan([{"metadata": copy.deepcopy(o["metadata"])} for o in items], format_http_date(NOW))

    def revisions(self, namespace, release):
        return [{"metadata": copy.deepcopy(o["metadata"])} for (ns, _), o in self.objs.items()
                if ns == namespace and o["metadata"]["labels"]["name"] == release]

    def get(self, namespace, name):
        self.gets += 1
        return copy.deepcopy(self.objs[(namespace, name)])

    def replace(self, obj):
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if self.objs[key]["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        self.writes += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        self.objs[key] = obj
        return obj


def history(make_release, make_object, name, statuses, age=3600, namespace="apps"):
    objs = []
    for rev, status in enumerate(statuses, 1):
        obj = make_object(make_release(name=name, namespace=namespace, version=rev, status=status),
                          labels_extra={"modifiedAt": str(int(NOW - age))}, resource_version=str(rev * 10))
        objs.append(obj)
    return objs


def test_only_newest_pending_counts_and_unlock_is_idempotent(make_release, make_object, secret_password):
    objs = (history(make_release, make_object, "stuck", ["superseded", "deployed", "pending-upgrade"])
            + history(make_release, make_object, "healed", ["superseded", "pending-upgrade", "deployed"])
            + history(make_release, make_object, "young", ["deployed", "pending-upgrade"], age=30)
            + history(make_release, make_object, "fine", ["superseded", "deployed"]))
    store = Store(objs)
    out = runner.run(dict(PARAMS), store, "c1", "me@here", clock=lambda: NOW)

    assert [(e["name"], e["revision"], e["action"]) for e in out["stuck"]] == [("stuck", 3, "unlock")]
    assert [e["name"] for e in out["in_progress"]] == ["young"]
    assert [e["name"] for e in out["remediated"]] == ["stuck"]
    assert out["errors"] == [] and out["changed"] is True
    assert out["stuck"][0]["last_good_revision"] == 2
    assert store.gets == 2  # full records only for the stuck and the in-progress release
    record = decode_payload(store.objs[("apps", "sh.helm.release.v1.stuck.v3")]["data"]["release"], "secret")
    assert record["info"]["status"] == "failed" and "me@here" in record["info"]["description"]
    assert secret_password not in json.dumps(out)

    again = runner.run(dict(PARAMS), store, "c1", "me@here", clock=lambda: NOW)
    assert again["changed"] is False and again["stuck"] == [] and store.writes == 1


def test_check_mode_plans_but_writes_nothing(make_release, make_object):
    store = Store(history(make_release, make_object, "s", ["deployed", "pending-upgrade"]))
    out = runner.run(dict(PARAMS), store, "c1", "me", check_mode=True, diff=True, clock=lambda: NOW)
    assert out["changed"] is True and store.writes == 0
    assert out["diff"]["before"] == {"apps/s": "pending-upgrade (revision 2)"}


def test_guard_changes_nothing_and_lists(make_release, make_object):
    store = Store(history(make_release, make_object, "a", ["deployed", "pending-upgrade"])
                  + history(make_release, make_object, "b", ["deployed", "pending-rollback"]))
    out = runner.run(dict(PARAMS, max_remediations=1), store, "c1", "me", clock=lambda: NOW)
    assert out["failed"] and "max_remediations" in out["msg"]
    assert len(out["stuck"]) == 2 and out["remediated"] == [] and store.writes == 0


def test_corrupt_record_reported_others_fixed(make_release, make_object):
    bad = history(make_release, make_object, "bad", ["deployed", "pending-upgrade"])
    bad[-1]["data"]["release"] = "!!!not-base64!!!"
    store = Store(bad + history(make_release, make_object, "good", ["deployed", "pending-install"]))
    out = runner.run(dict(PARAMS), store, "c1", "me", clock=lambda: NOW)
    assert [e["name"] for e in out["remediated"]] == ["good"]
    assert len(out["errors"]) == 1 and "apps/bad" in out["errors"][0]["reason"]
    assert "corrupt" in out["errors"][0]["reason"]


def test_rollback_without_helm_is_an_error_not_a_crash(make_release, make_object):
    store = Store(history(make_release, make_object, "r", ["deployed", "pending-upgrade"]))
    out = runner.run(dict(PARAMS, strategy="rollback"), store, "c1", "me", helm=None,
                     helm_problem="helm binary 'helm' not found", clock=lambda: NOW)
    assert store.writes == 0 and out["remediated"] == []
    assert "not found" in out["errors"][0]["reason"] and out["errors"][0]["action"] == "rollback"


def test_unknown_status_reported(make_release, make_object):
    store = Store(history(make_release, make_object, "x", ["deployed", "pending-frobnicate"]))
    out = runner.run(dict(PARAMS), store, "c1", "me", clock=lambda: NOW)
    assert "unknown status 'pending-frobnicate'" in out["errors"][0]["reason"]
    assert store.writes == 0


class NoAnswerStore(Store):
    """The write reaches the server, but the answer never comes back (dropped, timed out)."""

    def replace(self, obj):
        Store.replace(self, obj)
        raise ApiError(0, "ReadTimeoutError", "PUT /x: Read timed out")


def test_write_without_answer_is_not_reported_as_nothing_written(make_release, make_object):
    store = NoAnswerStore(history(make_release, make_object, "s", ["deployed", "pending-upgrade"]))
    out = runner.run(dict(PARAMS), store, "c1", "me", clock=lambda: NOW)
    [err] = out["errors"]
    assert "may have landed" in err["reason"] and "nothing written" not in err["reason"]
    assert out["remediated"] == [] and store.writes == 1
    again = runner.run(dict(PARAMS), store, "c1", "me", clock=lambda: NOW)   # it had landed
    assert again["changed"] is False and again["stuck"] == [] and again["errors"] == []
