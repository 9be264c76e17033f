# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One release's history from its records, as ``helm history -o json`` shows it, and the check that a
rollback landed. Pure: records in, rows out; no values (``config``) ever leave here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import VerifyError
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload, meta_from_object


def history_rows(objs, driver):
    """``[{revision, updated, status, chart, app_version, description}]``, oldest first (helm's keys)."""
    rows = []
    for obj in objs:
        meta = meta_from_object(obj)
        release = decode_payload((obj.get("data") or {}).get("release"), driver)
        info = release.get("info") or {}
        chart = (release.get("chart") or {}).get("metadata") or {}
        rows.append({"revision": meta.revision, "updated": info.get("last_deployed") or "",
                     "status": info.get("status") or meta.status,
                     "chart": "%s-%s" % (chart.get("name", ""), chart.get("version", "")),
                     "app_version": chart.get("appVersion") or "", "description": info.get("description") or ""})
    return sorted(rows, key=lambda row: row["revision"])


def last_good(rows, below=None):
    """The newest ``deployed`` or ``superseded`` revision (below ``below``), or None."""
    good = [r["revision"] for r in rows if r["status"] in ("deployed", "superseded")
            and (below is None or r["revision"] < below)]
    return max(good) if good else None


def check_rolled_back(before, after, target, cluster, helm_said):
    """The newest revision after is new, ``deployed`` and "Rollback to ``target``"; returns it."""
    newest = after[-1] if after else None
    was = before[-1]["revision"] if before else 0
    if newest is None or newest["revision"] <= was or newest["status"] != "deployed" \
            or newest["description"] != "Rollback to %d" % target:
        shows = ("revision %(revision)s %(status)s (%(description)s)" % newest) if newest else "no record"
        raise VerifyError("helm rollback reported success (%s) but cluster %s shows %s as the newest, not a "
                          "new deployed rollback to revision %d" % (helm_said, cluster, shows, target))
    return newest["revision"]
