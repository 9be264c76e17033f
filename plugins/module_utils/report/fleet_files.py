# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_report's run: its options, the fleet report built from them and written to its files, and the task's
result. Shared by the fleet_report module and its action plugin, which runs it in the controller's worker."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.helmops.unstick.plugins.module_utils.common.files import write_whole
from ansible_collections.helmops.unstick.plugins.module_utils.report import fleet as fleet_report
from ansible_collections.helmops.unstick.plugins.module_utils.report import render as fleet_render
from ansible_collections.helmops.unstick.plugins.module_utils.report.run_record import run_record

MUTUALLY_EXCLUSIVE = [("results", "reports", "runs")]
REQUIRED_ONE_OF = [("results", "reports", "runs")]


class FleetReportError(Exception):
    """The report cannot be built or written; ``details`` go into the failed result."""

    def __init__(self, msg, **details):
        super(FleetReportError, self).__init__(msg)
        self.details = details


def argument_spec():
    return dict(
        results=dict(type="dict"),
        runs=dict(type="dict"),
        run_defaults=dict(type="dict", default={}),
        reports=dict(type="list", elements="raw"),
        return_report=dict(type="bool", default=False),
        hosts=dict(type="list", elements="str", default=[]),
        dest=dict(type="path", required=True),
        formats=dict(type="list", elements="str", choices=list(fleet_report.FORMATS),
                     default=list(fleet_report.FORMATS)),
        basename=dict(type="str", default="stuck-releases"),
        title=dict(type="str", default="Stuck Helm releases"),
        generated_by=dict(type="str", default=""),
        pending_hosts=dict(type="list", elements="str", default=[]),
        batch_hosts=dict(type="list", elements="str", default=[]),
    )


def _load_report(item):
    """A fleet report given as a dictionary, a JSON string, or the path of a JSON file."""
    if isinstance(item, dict):
        return item
    text = str(item)
    if not text.lstrip().startswith("{"):
        with open(os.path.expanduser(text)) as handle:
            text = handle.read()
    return json.loads(text)


def _records(runs, defaults):
    """O(runs) as O(results) takes them."""
    return dict((host, run_record(host, run, boolean(defaults.get("remediate", False)),
                                  boolean(defaults.get("check_mode", False)),
                                  defaults.get("storage_driver") or "", defaults.get("variable_prefix") or "")
                 if run else None)
                for host, run in runs.items())


def write_report(params, check_mode):
    """Build the fleet report from ``params`` (fleet_report's validated options), write its files (not in check
    mode), and return the task's result, with ``warnings`` for the clusters that could not be checked."""
    now = time.time()
    generated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    if params["reports"] is not None:
        try:
            fleet = fleet_report.merge([_load_report(r) for r in params["reports"]], params["hosts"], generated,
                                       params["title"], params["generated_by"], now)
        except (fleet_report.MergeError, OSError, ValueError) as err:
            raise FleetReportError("reports: %s; nothing was written" % err)
    else:
        results = params["results"]
        if params["runs"] is not None:
            waiting = [h for h in params["batch_hosts"] if not params["runs"].get(h)]
            if waiting:   # another host of the batch writes it when it has every result
                return dict(changed=False, waiting_for=waiting)
            try:
                results = _records(params["runs"], params["run_defaults"])
            except TypeError as err:
                raise FleetReportError("run_defaults: %s; nothing was written" % err)
        pending = [h for h in params["pending_hosts"] if not results.get(h)]
        batch = {"hosts": [h for h in params["hosts"] if h not in pending], "pending": pending} if pending else None
        fleet = fleet_report.build_fleet(results, params["hosts"], generated, params["title"],
                                         params["generated_by"], batch, now)
    dest = os.path.abspath(params["dest"])
    files = {}
    for fmt in params["formats"]:
        files[fmt] = os.path.join(dest, "%s.%s" % (params["basename"], fleet_report.EXTENSIONS[fmt]))
    if not check_mode:
        try:
            if files and not os.path.isdir(dest):
                os.makedirs(dest)
            for fmt, path in files.items():
                write_whole(path, fleet_render.render(fleet, fmt), 0o644)
        except (OSError, IOError) as err:
            raise FleetReportError("cannot write the fleet report to %s: %s" % (dest, err), files=files)
    clusters, warnings = [], []
    for cluster in fleet["clusters"]:
        if not cluster["ok"]:
            warnings.append("cluster %s could not be checked: %s" % (cluster["host"], cluster["message"]))
        clusters.append(dict(host=cluster["host"], cluster=cluster["cluster"], ok=cluster["ok"],
                             status=cluster["status"], message=cluster["message"],
                             remaining=cluster["remaining"], problems=fleet_report.cluster_problems(cluster)))
    result = dict(changed=not check_mode, files=files, summary=fleet["summary"], clusters=clusters,
                  mode=fleet["mode"], notify=fleet_report.should_notify(fleet),
                  notify_text=fleet_report.notification_text(fleet), summary_lines=fleet_report.summary_lines(fleet),
                  warnings=warnings)
    if params["return_report"]:
        result["report"] = fleet
    return result
