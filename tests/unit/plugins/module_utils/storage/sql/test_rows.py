# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A releases_v1 row as the record object the runner reads, and a claim as custom labels of <= 63 characters."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.helmops.unstick.plugins.module_utils.release import claims
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import meta_from_object
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import rows

ROW = {"key": "sh.helm.release.v1.web.v3", "namespace": "shop", "name": "web", "version": 3,
       "status": "pending-upgrade", "owner": "helm", "createdat": 1796280000, "modifiedat": 0,
       "row_version": "7781", "type": "helm.sh/release.v1"}


def test_a_row_reads_as_helms_kubernetes_record():
    obj = rows.record_object(ROW, None, body="H4sI...")
    meta = meta_from_object(obj)
    assert (meta.release, meta.namespace, meta.revision, meta.status, meta.object_name, meta.resource_version) == (
        "web", "shop", 3, "pending-upgrade", "sh.helm.release.v1.web.v3", "7781")
    # modifiedat 0 is Helm's "never updated": the age counts from createdat, as for a fresh Kubernetes record
    assert (meta.created_at, meta.modified_at, meta.claim) == (1796280000.0, None, None)
    assert obj["data"] == {"release": "H4sI..."} and obj["table"] == "releases_v1"
    assert "data" not in rows.record_object(ROW)               # a scan's row: no body


def test_a_claim_round_trips_through_custom_labels():
    mark = claims.new_claim("rollback", 3, 2, "ops@" + "h" * 80, "0123456789ab", 1796280100, 300)
    obj = claims.with_claim(rows.record_object(ROW, None, body="x"), mark)
    labels = rows.claim_label_rows(obj["metadata"])
    assert [k for k, dummy in labels] == list(rows.CLAIM_KEYS)
    assert all(len(v) <= rows.LABEL_VALUE_MAX for dummy, v in labels)   # Helm's VARCHAR(63)
    back = meta_from_object(rows.record_object(ROW, dict(labels)))
    assert back.claim._replace(by=mark.by) == mark and back.claim.by == mark.by[:63]
    uninstall = claims.with_claim(obj, claims.new_claim("uninstall", 3, None, "ops@h", "r", 1, 300))
    assert dict(rows.claim_label_rows(uninstall["metadata"]))["helmops.unstick/claim-target"] == ""
    assert meta_from_object(rows.record_object(ROW, dict(rows.claim_label_rows(uninstall["metadata"])))).claim.target is None


def test_a_claim_helm_copied_into_a_later_revision_is_not_ours():
    mark = claims.new_claim("rollback", 2, 1, "ops@h", "r", 1, 300)
    copied = dict(rows.claim_label_rows(claims.with_claim(rows.record_object(dict(ROW, version=2)), mark)["metadata"]))
    assert meta_from_object(rows.record_object(ROW, copied)).claim is None     # revision 2's claim on revision 3
    assert rows.claim_annotation({"helmops.unstick/claim": "rollback", "helmops.unstick/claim-at": "x"}) is None


def test_the_update_requires_the_row_as_read():
    read = dict(ROW, body="OLD")
    obj = rows.record_object(read, None, body="OLD")
    obj["metadata"]["labels"].update(status="failed", modifiedAt="1796281000")
    obj["data"]["release"] = "NEW"
    new, where = rows.update_of(obj, read)
    assert new == {"body": "NEW", "status": "failed", "modifiedat": 1796281000}
    assert where == {"key": "sh.helm.release.v1.web.v3", "namespace": "shop", "row_version": "7781",
                     "modifiedat": 0, "status": "pending-upgrade", "body": "OLD"}
    json.dumps(obj)          # a backup is the object as JSON
