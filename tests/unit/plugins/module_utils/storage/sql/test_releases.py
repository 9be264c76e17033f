# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SqlReleaseStorage's statements: the scan's shape (clock + one metadata query, no body), one history
query per namespace, body only on get, and writes conditional on the row as read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import SETTLED
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_http_date
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import DatabaseError
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.releases import SqlReleaseStorage

PROBE = {"now": 1796283600.0, "role": "helm", "has_releases": True, "has_labels": True, "rls_active": False,
         "has_policy": False}


def row(name, version, status, namespace="shop", body=None, claim=None, row_version="100"):
    out = {"key": "sh.helm.release.v1.%s.v%d" % (name, version), "namespace": namespace, "name": name,
           "version": version, "status": status, "owner": "helm", "createdat": 1796280000, "modifiedat": 1796280000,
           "row_version": row_version, "claim_labels": claim, "type": "helm.sh/release.v1"}
    if body is not None:
        out["body"] = body
    return out


class FakeDb:
    label = "db:5432/helm"

    def __init__(self, answers):
        self.answers, self.sent, self.statements = list(answers), [], 0
        self.written = []

    def read(self, sql, params=None):
        self.sent.append((sql, params))
        self.statements += 1
        return self.answers.pop(0)

    def write(self, steps):
        def execute(sql, params=None):
            self.written.append((sql, params))
            return self.answers.pop(0)
        return steps(execute)


def test_scan_is_the_clock_and_one_metadata_query():
    db = FakeDb([[PROBE], [row("web", 3, "pending-upgrade"), row("api", 2, "pending-install", namespace="other")]])
    result = SqlReleaseStorage(db).scan(["shop", "other"], keep_namespace=lambda ns: ns == "shop")
    assert [i["metadata"]["name"] for i in result.items] == ["sh.helm.release.v1.web.v3"]
    assert parse_http_date(result.server_date) == PROBE["now"] and result.requests == 2
    sql, params = db.sent[1]
    assert "r.body" not in sql and "namespace = ANY" in sql
    assert params["settled"] == list(SETTLED) and params["namespaces"] == ["shop", "other"]
    assert params["claim_label"] == claims.CLAIM_LABEL


@pytest.mark.parametrize("probe, status, words", [
    (dict(PROBE, has_releases=False), 404, "no table releases_v1"),
    (dict(PROBE, has_labels=False), 404, "no table custom_labels_v1"),
    (dict(PROBE, rls_active=True, has_policy=False), 403, "role helm sees no row of releases_v1"),
])
def test_a_database_that_cannot_show_helms_rows_fails_the_scan(probe, status, words):
    with pytest.raises(DatabaseError) as err:
        SqlReleaseStorage(FakeDb([[probe]])).scan()
    assert err.value.status == status and words in err.value.describe()


def test_histories_of_a_namespace_in_one_query():
    db = FakeDb([[row("a", 1, "deployed"), row("a", 2, "pending-upgrade"), row("b", 1, "pending-install")]])
    out = SqlReleaseStorage(db).histories("shop", ["b", "a", "a"])
    assert [len(out["a"]), len(out["b"])] == [2, 1] and len(db.sent) == 1
    assert db.sent[0][1]["names"] == ["a", "b"] and "r.body" not in db.sent[0][0]


def test_a_write_needs_a_read_and_the_row_unchanged():
    storage = SqlReleaseStorage(FakeDb([[row("web", 3, "pending-upgrade", body="OLD")]]))
    obj = storage.get("shop", "sh.helm.release.v1.web.v3")
    assert "r.body" in storage.db.sent[0][0] and obj["data"]["release"] == "OLD"
    never_read = dict(obj, metadata=dict(obj["metadata"], resourceVersion="999"))
    with pytest.raises(ValueError, match="unconditional"):
        storage.replace(never_read)
    new = claims.with_claim(obj, claims.new_claim("rollback", 3, 2, "ops@h", "r", 1796283600, 300))
    new["metadata"]["labels"].update(status="failed", modifiedAt="1796283600")
    new["data"]["release"] = "NEW"
    storage.db.answers = [[]]                       # UPDATE ... RETURNING: no row (Helm wrote it meanwhile)
    with pytest.raises(DatabaseError) as err:
        storage.replace(new)
    assert err.value.conflict and "changed since it was read" in err.value.message
    update = storage.db.written[0][1]
    assert (update["row_version"], update["status"], update["body"], update["new_body"], update["new_status"]) == (
        "100", "pending-upgrade", "OLD", "NEW", "failed")
    storage.db.written = []
    storage.db.answers = [[dict(row("web", 3, "failed", row_version="101"))], [], [], [], [], [], [], [], []]
    written = storage.replace(new)
    assert written["metadata"]["resourceVersion"] == "101" and written["data"]["release"] == "NEW"
    assert claims.read_claim(written["metadata"]).target == 2
    statements = [sql.split()[0] for sql, dummy in storage.db.written]
    assert statements == ["UPDATE", "DELETE"] + ["INSERT"] * 7      # the claim's label and its six fields
    again = claims.with_claim(written, claims.read_claim(written["metadata"])._replace(until=1))
    storage.db.answers = [[dict(row("web", 3, "failed", row_version="102"))]] + [[]] * 8
    assert storage.replace(again)["metadata"]["resourceVersion"] == "102"   # the new row version was remembered
