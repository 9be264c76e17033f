# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster's record for the fleet report, from its helm_unstick result (``fleet_report``'s ``runs``, and the
stuck_releases role's gate in the helm_unstick action). Pure; no I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

#: helm_unstick's options a role sets through a variable of its own (``<prefix><option>``): its messages name the
#: option in parentheses, "namespace 'shop' (namespaces) does not exist"; the role's user set the variable
NAMED_OPTIONS = ("namespaces", "releases", "exclude_namespaces", "exclude_releases", "min_age", "strategy",
                 "pending_install", "backup", "backup_dir", "max_remediations", "helm_binary", "storage_driver",
                 "timeout", "request_timeout", "cluster_timeout")
_OPTION_IN_PARENS = re.compile(r"[(](%s)[)]" % "|".join(NAMED_OPTIONS))


def name_variables(text, prefix):
    """``text`` with every ``(option)`` named as the variable ``(<prefix>option)``; unchanged without prefix."""
    if not prefix or not text:
        return text or ""
    return _OPTION_IN_PARENS.sub(lambda m: "(%s%s)" % (prefix, m.group(1)), text)


def run_record(host, run, remediate, check_mode, storage_driver="", prefix=""):
    """The fleet report's record of ``host`` from its helm_unstick result ``run`` (a failed task's too: a templating
    error, bad input, a cluster that could not be checked). ``remediate`` and ``storage_driver``: what the run
    was asked, when its result does not say (it failed before helm_unstick read its options)."""
    run = run or {}
    failed = bool(run.get("failed"))
    releases = run.get("releases") or []
    asked = (run.get("invocation") or {}).get("module_args") or {}
    return {
        "host": host,
        "cluster": run.get("cluster") or host,
        "server": run.get("server") or "",
        # where its Helm keeps records (secret, configmap, sql) and, for sql, the database (host:port/dbname)
        "storage_driver": run.get("storage_driver") or storage_driver or "",
        "database": run.get("database") or "",
        # scanned: helm_unstick returned its releases (a guard refusal fails the task after the scan)
        "checked": "releases" in run,
        "msg": name_variables(run.get("msg") or "", prefix) if failed else "",
        "refused": (run.get("msg") or "") if any("refused_by" in r for r in releases) else "",
        "remediate": bool(asked.get("remediate", remediate)),
        "check_mode": bool(check_mode),
        "actor": run.get("actor") or "",
        "run_id": run.get("run_id") or "",
        "duration_seconds": run.get("duration_seconds"),
        "warnings": [name_variables(w, prefix) for w in run.get("scan_warnings") or []],
        "releases": releases,
    }
