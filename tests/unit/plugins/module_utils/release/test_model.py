# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one release model: its newest revision as a module's result shows it, as scanned and as verified."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import RevisionMeta
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification

SUMMARY = {"chart": "web", "chart_version": "0.2.0", "app_version": "1.0", "description": "Upgrade complete",
           "status": "pending-upgrade", "name": "web"}


def scanned(read_payload=True):
    return Release(Classification("stuck", "shop", "web", 3, "pending-upgrade", 3600, 2, "why"),
                   summary=dict(SUMMARY) if read_payload else None)


def meta(revision, status):
    return RevisionMeta("web", "shop", revision, status, "sh.helm.release.v1.web.v%d" % revision, "9", 0.0, None)


def test_the_newest_revision_as_scanned_shows_the_chart_as_helm_history_does():
    assert scanned().shown() == {"revision": 3, "status": "pending-upgrade", "chart": "web-0.2.0",
                                 "app_version": "1.0", "description": "Upgrade complete"}
    assert scanned(read_payload=False).shown() == {"revision": 3, "status": "pending-upgrade", "chart": "",
                                                   "app_version": "", "description": ""}
    assert Release(None).shown() is None and Release(None).shown_outcome() is None


def test_the_newest_revision_as_verified():
    release = scanned()
    assert release.shown_outcome() is None                       # not verified yet, or no record after
    release.outcome = meta(3, "failed")                          # the unlock: same revision, the scan's chart
    assert release.shown_outcome() == dict(release.shown(), status="failed")
    release.outcome = meta(4, "deployed")                        # a rollback's new revision, its record read
    release.outcome_summary = dict(SUMMARY, chart_version="0.1.0", description="Rollback to 2")
    assert release.shown_outcome() == {"revision": 4, "status": "deployed", "chart": "web-0.1.0",
                                       "app_version": "1.0", "description": "Rollback to 2"}
    release.outcome_summary = None                               # a new revision whose record was not read
    assert release.shown_outcome() == {"revision": 4, "status": "deployed", "chart": "", "app_version": "",
                                       "description": ""}
    assert release.shown()["revision"] == 3                     # the scan's picture stays as it was
