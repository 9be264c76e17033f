# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One stuck release in an in-memory store, ready for an action (tests of actions/)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release.model import Release
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.plan import plan_action
from release_fakes import NOW, FakeHelm, Store, history

Settings = namedtuple("Settings", ["timeout"])


@pytest.fixture
def stuck_item(make_release, make_object):
    """``stuck_item(statuses, helm_mode="works", claim=None, strategy=..., pending_install=...)`` →
    (action context, Remediation, store, helm) for release apps/web whose newest revision is stuck."""
    def _make(statuses, helm_mode="works", claim=None, strategy="rollback", pending_install="unlock"):
        store = Store(history(make_release, make_object, "web", statuses))
        helm = FakeHelm(store, helm_mode)
        revision = len(statuses)
        good = max((rev for rev, status in enumerate(statuses, 1) if status in ("deployed", "superseded")),
                   default=None)
        cls = Classification("unfinished" if claim else "stuck", "apps", "web", revision, statuses[-1], 3600,
                             good, None, claim)
        obj = store.get("apps", "sh.helm.release.v1.web.v%d" % revision)
        release = base.decode_payload(obj["data"]["release"], "secret")
        item = Release(cls, obj, release, {}, plan_action(cls, strategy, pending_install))
        ctx = base.ActionContext(store, helm, "ops@ctl", "run1", NOW, Settings(300), True, "c1")
        return ctx, item, store, helm
    return _make
