# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A row of Helm's ``releases_v1`` table shown as the record object the runner reads.

Helm's SQL driver (pkg/storage/driver/sql.go, the same in helm 3.21 and 4.2)
keeps one row per revision: ``key`` (``sh.helm.release.v1.<name>.v<rev>``,
as the Kubernetes object name), ``type``, ``body`` (base64 of gzipped release
JSON), ``name``, ``namespace``, ``version``, ``status``, ``owner``,
``createdat`` and ``modifiedat`` (epoch seconds of Helm's clock; 0 until the
first update), and custom labels in ``custom_labels_v1``. ``createdat`` is set
once, when Helm inserts the row (a pending revision's row is inserted when its
operation starts): it is the record's creation time (``creationTimestamp``
of the object), what a pending revision's age is measured from. Shown as an object
with the labels Helm's Kubernetes drivers carry, the classification, claims
and actions work unchanged; ``resourceVersion`` is the row version (``xmin``)
that every write is conditional on.

A claim (claims.py) is a label and a JSON annotation on Kubernetes. Custom
label values are VARCHAR(63) here, so its fields are stored as labels of
their own (``helmops.unstick/claim-revision`` …) and shown as the annotation.
Helm copies custom labels into the next revision, as it does on Kubernetes,
and, as there, a claim counts only when its revision is the row's.

Pure code, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.helmops.unstick.plugins.module_utils.release.claims import CLAIM_ANNOTATION, CLAIM_LABEL
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import format_time

TABLE = "releases_v1"
LABELS_TABLE = "custom_labels_v1"
#: the claim's fields, each a custom label (value <= 63 characters)
CLAIM_FIELDS = ("revision", "target", "by", "run", "at", "until")
CLAIM_FIELD_PREFIX = CLAIM_LABEL + "-"
#: every custom label key this module writes (and removes before writing again)
CLAIM_KEYS = (CLAIM_LABEL,) + tuple(CLAIM_FIELD_PREFIX + f for f in CLAIM_FIELDS)
LABEL_VALUE_MAX = 63
#: the columns a scan reads: no body
META_COLUMNS = ("key", "namespace", "name", "version", "status", "owner", "createdat", "modifiedat",
                "row_version")


def claim_annotation(custom_labels):
    """The claim annotation (JSON) rebuilt from the claim's custom labels, or None."""
    labels = custom_labels or {}
    if not labels.get(CLAIM_LABEL):
        return None
    doc = {"action": labels[CLAIM_LABEL]}
    for field in CLAIM_FIELDS:
        value = labels.get(CLAIM_FIELD_PREFIX + field)
        if field == "target" and value == "":
            value = None
        elif value is not None and field in ("revision", "target", "at", "until"):
            try:
                value = int(value)
            except ValueError:
                return None
        doc[field] = value
    return json.dumps(doc, sort_keys=True)


def claim_label_rows(metadata):
    """[(key, value)] of custom labels for the claim a record object carries ([] for none)."""
    metadata = metadata or {}
    action = (metadata.get("labels") or {}).get(CLAIM_LABEL)
    raw = (metadata.get("annotations") or {}).get(CLAIM_ANNOTATION)
    if not action or not raw:
        return []
    doc = json.loads(raw)
    rows = [(CLAIM_LABEL, action)]
    for field in CLAIM_FIELDS:
        value = doc.get(field)
        rows.append((CLAIM_FIELD_PREFIX + field, "" if value is None else str(value)[:LABEL_VALUE_MAX]))
    return rows


def record_object(row, custom_labels=None, body=None):
    """The record object of a ``releases_v1`` row (``row``: a dict of META_COLUMNS, plus ``type`` when
    ``body`` is given); ``custom_labels``: the row's labels of ours (CLAIM_KEYS)."""
    labels = {"name": row["name"], "owner": row["owner"], "status": row["status"],
              "version": str(row["version"]), "createdAt": str(int(row["createdat"]))}
    if row.get("modifiedat"):          # 0: never updated (Helm's column default)
        labels["modifiedAt"] = str(int(row["modifiedat"]))
    metadata = {"name": row["key"], "namespace": row["namespace"], "labels": labels,
                "resourceVersion": str(row["row_version"]),
                "creationTimestamp": format_time(int(row["createdat"]))}
    annotation = claim_annotation(custom_labels)
    if annotation:
        labels[CLAIM_LABEL] = custom_labels[CLAIM_LABEL]
        metadata["annotations"] = {CLAIM_ANNOTATION: annotation}
    obj = {"apiVersion": "helmops.unstick/v1", "kind": "HelmReleaseRow", "metadata": metadata,
           "table": TABLE}
    if body is not None:
        obj["type"] = row.get("type")
        obj["data"] = {"release": body}
    return obj


def update_of(obj, read):
    """What the conditional UPDATE of ``obj`` sets and requires.

    ``read``: the row as it was read (``row_version``, ``modifiedat``, ``status``, ``body``): the update
    applies only if the row is still exactly that. Returns (set, where) dicts of column values."""
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    modified = labels.get("modifiedAt")
    new = {"body": obj["data"]["release"], "status": labels["status"],
           "modifiedat": int(modified) if modified else int(read["modifiedat"])}
    where = {"key": meta["name"], "namespace": meta["namespace"], "row_version": read["row_version"],
             "modifiedat": int(read["modifiedat"]), "status": read["status"], "body": read["body"]}
    return new, where
