# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One release as a run knows it, from the scan to the report.

``classification`` is its state and reason (``release/state.py``); ``obj`` its newest record as read (it
follows our own writes: the claim, the unlock), ``release`` that record's decoded payload and ``summary`` the
payload's non-secret fields (``records.safe_summary``), ``now`` the server's time of the scan. Once the run
decided what to do, ``plan``; once it acted, what it wrote and what the verification saw. What a module
returns about it is derived from it: a report entry (``report/release_report.py``), or its newest revision as
a guarded upgrade shows it (``shown``); nothing else holds a picture of a release.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Release:
    def __init__(self, classification, obj=None, release=None, summary=None, plan=None, now=None):
        self.classification = classification
        self.obj = obj
        self.release = release
        self.summary = summary
        self.plan = plan
        self.now = now           # the server's time of the scan
        self.written = False     # set once the cluster was changed (the claim or the unlock)
        self.outcome = None      # the newest revision (RevisionMeta) as the verification read it; None: no record
        self.outcome_summary = None   # its records.safe_summary, when the verification read the record
        self.seen_after = None   # the release's RevisionMetas as the verification listed them (actions.base.newest)
        self.helm_output = ""    # what helm printed, for messages
        self.backups = []        # the cluster backup objects written before the first write (backup_run.py)
        self.file_backups = []   # the same, to be written as a file bundle once the run is done

    @property
    def namespace(self):
        return self.classification.namespace

    @property
    def name(self):
        return self.classification.name

    @property
    def revision(self):
        return self.classification.revision

    @property
    def found(self):
        """Whether the release has any record (a scan of one named release may find none)."""
        return self.classification is not None

    def shown(self):
        """The newest revision as the scan read it (``shown``); None when the release has no record."""
        return shown(self.classification, self.summary) if self.found else None

    def shown_outcome(self):
        """The newest revision as an action's verification read it (``outcome``), its chart from the record the
        verification read (a rollback's), else from the scan when it is the same revision; None: no record."""
        meta = self.outcome
        if meta is None:
            return None
        if self.outcome_summary is None and self.found and meta.revision == self.revision:
            return dict(self.shown(), status=meta.status)
        return shown(meta, self.outcome_summary)


def shown(revision, summary):
    """A revision (anything with ``revision`` and ``status``) and its payload's ``records.safe_summary`` as a
    module's result shows them: ``{revision, status, chart, app_version, description}``, the chart as
    ``helm history`` shows it (name-version)."""
    summary = summary or {}
    chart = "%s-%s" % (summary["chart"], summary.get("chart_version") or "") if summary.get("chart") else ""
    return {"revision": revision.revision, "status": revision.status, "chart": chart,
            "app_version": summary.get("app_version") or "", "description": summary.get("description") or ""}
