# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One release's history from its records, as ``helm history -o json`` shows it. Pure: records in, rows
out; no values (``config``) ever leave here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
