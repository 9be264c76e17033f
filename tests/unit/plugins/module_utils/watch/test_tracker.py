# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The event source's tracker: the newest revision of each release, its min_age timer, one event per stuck revision."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.release.records import format_time
from ansible_collections.helmops.unstick.plugins.module_utils.watch.tracker import ReleaseTracker

T0 = 1796000000.0   # whole seconds: creationTimestamp has no fraction
MIN_AGE = 60
_rv = [100]


def record(release, revision, status, created=T0, namespace="shop", modified=None, uid=None):
    """A record's PartialObjectMetadata as a metadata watch carries it: Helm's labels, the server's
    creationTimestamp; ``modifiedAt`` copied from an older revision, as helm does for a new pending one."""
    _rv[0] += 1
    name = "sh.helm.release.v1.%s.v%d" % (release, revision)
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {
        "name": name, "namespace": namespace, "uid": uid or "uid-%s-%s-%d" % (namespace, release, revision),
        "resourceVersion": str(_rv[0]), "creationTimestamp": format_time(created),
        "labels": {"name": release, "owner": "helm", "status": status, "version": str(revision),
                   "createdAt": str(int(created)), "modifiedAt": str(int(modified or created - 86400))}}}


def tracker(*items):
    t = ReleaseTracker(MIN_AGE)
    t.replace(list(items), "99")
    return t


def due(t, now):
    return [(s.namespace, s.release, s.revision, s.status, s.age) for s in t.due(now)]


def test_newest_pending_revision_is_due_min_age_after_its_record_was_created_not_its_modified_at():
    t = tracker(record("web", 1, "superseded"), record("web", 2, "pending-upgrade", created=T0, modified=T0 - 7200))
    assert t.next_deadline() == T0 + MIN_AGE     # modifiedAt (two hours old) never dates a pending record
    assert due(t, T0 + MIN_AGE - 1) == []
    assert due(t, T0 + MIN_AGE + 2) == [("shop", "web", 2, "pending-upgrade", MIN_AGE + 2)]
    assert due(t, T0 + 3600) == [] and t.next_deadline() is None   # handed out once


def test_an_older_pending_revision_is_no_lock():
    # rollback leaves the old pending revision in history; the newest is deployed
    t = tracker(record("web", 1, "superseded"), record("web", 2, "pending-upgrade"), record("web", 3, "deployed"))
    assert t.next_deadline() is None and due(t, T0 + 3600) == []


def test_settling_cancels_the_timer():
    t = tracker(record("web", 1, "deployed"))
    t.apply("ADDED", record("web", 2, "pending-upgrade"))
    assert t.pending() == [("shop", "web", 2)]
    t.apply("MODIFIED", record("web", 1, "superseded"))
    t.apply("MODIFIED", record("web", 2, "deployed"))
    assert t.pending() == [] and due(t, T0 + 3600) == []


def test_a_newer_revision_cancels_the_timer_and_starts_its_own():
    t = tracker(record("web", 1, "deployed"), record("web", 2, "pending-upgrade", created=T0))
    t.apply("ADDED", record("web", 3, "pending-rollback", created=T0 + 30))
    assert t.next_deadline() == T0 + 30 + MIN_AGE
    assert due(t, T0 + MIN_AGE + 1) == []
    assert due(t, T0 + 30 + MIN_AGE) == [("shop", "web", 3, "pending-rollback", MIN_AGE)]


def test_a_record_rewritten_while_still_pending_is_one_event():
    t = tracker(record("web", 1, "superseded"), record("web", 2, "pending-upgrade"))
    assert len(due(t, T0 + MIN_AGE)) == 1
    rewritten = record("web", 2, "pending-upgrade")
    rewritten["metadata"]["labels"]["helmops.unstick/note"] = "patched"
    t.apply("MODIFIED", rewritten)
    assert t.next_deadline() is None and due(t, T0 + 3600) == []


def test_a_new_record_of_the_same_revision_is_a_new_stuck_revision():
    t = tracker(record("web", 1, "pending-install", uid="first"))
    assert len(due(t, T0 + MIN_AGE)) == 1
    t.apply("DELETED", record("web", 1, "pending-install", uid="first"))
    t.apply("ADDED", record("web", 1, "pending-install", created=T0 + 600, uid="second"))
    assert due(t, T0 + 600 + MIN_AGE) == [("shop", "web", 1, "pending-install", MIN_AGE)]


def test_deleting_the_newest_record_falls_back_to_the_one_before():
    t = tracker(record("web", 1, "pending-upgrade"), record("web", 2, "deployed"))
    assert t.next_deadline() is None
    t.apply("DELETED", record("web", 2, "deployed"))
    assert t.pending() == [("shop", "web", 1)]
    t.apply("DELETED", record("web", 1, "pending-upgrade"))
    assert t.pending() == [] and len(t) == 0


def test_releases_and_namespaces_are_apart():
    t = tracker(record("web", 1, "pending-install", namespace="a"), record("web", 1, "deployed", namespace="b"),
                record("db", 4, "pending-upgrade", namespace="a", created=T0 + 10))
    assert due(t, T0 + MIN_AGE + 10) == [("a", "db", 4, "pending-upgrade", MIN_AGE),
                                         ("a", "web", 1, "pending-install", MIN_AGE + 10)]


def test_a_relist_neither_loses_nor_doubles():
    t = tracker(record("web", 1, "pending-install"), record("api", 1, "deployed"))
    assert len(due(t, T0 + MIN_AGE)) == 1
    # while the watch was away (410 Gone): api went pending, web is unchanged, a new release appeared
    t.replace([record("web", 1, "pending-install"), record("api", 1, "superseded"),
               record("api", 2, "pending-upgrade", created=T0 + 5), record("new", 1, "deployed")], "500")
    assert t.resource_version == "500"
    assert due(t, T0 + 3600) == [("shop", "api", 2, "pending-upgrade", 3600 - 5)]   # web is not doubled


def test_a_relist_that_shows_a_settled_release_forgets_it():
    t = tracker(record("web", 1, "pending-install"))
    assert len(due(t, T0 + MIN_AGE)) == 1
    t.replace([record("web", 1, "failed")], "600")
    t.replace([record("web", 1, "failed"), record("web", 2, "pending-upgrade", created=T0 + 900)], "700")
    assert due(t, T0 + 900 + MIN_AGE) == [("shop", "web", 2, "pending-upgrade", MIN_AGE)]


def test_bookmarks_and_events_move_the_resource_version():
    t = tracker()
    t.apply("BOOKMARK", {"kind": "PartialObjectMetadata", "metadata": {"resourceVersion": "4242"}})
    assert t.resource_version == "4242" and len(t) == 0
    t.apply("ADDED", record("web", 1, "deployed"))
    assert t.resource_version == str(_rv[0])


def test_an_unreadable_record_is_noted_and_the_rest_goes_on():
    bad = record("web", 1, "pending-install")
    bad["metadata"]["labels"]["modifiedAt"] = "yesterday"
    t = tracker(bad, record("db", 1, "pending-install"))
    assert [name for name, _why in t.problems] == ["sh.helm.release.v1.web.v1"]
    assert [s.release for s in t.due(T0 + MIN_AGE)] == ["db"]


def test_unknown_and_settled_statuses_never_fire():
    t = tracker(*[record("r%d" % i, 1, status) for i, status in
                  enumerate(("deployed", "failed", "superseded", "uninstalled", "uninstalling", "unknown"))])
    assert t.next_deadline() is None and due(t, T0 + 10 ** 6) == []
