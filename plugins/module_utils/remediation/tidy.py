# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tidy_history: after a rollback, mark the older pending revisions left in history ``failed``.

Helm only minds the newest revision, so a ``pending-upgrade`` below it is harmless to Helm, but ``helm
history`` and other scanners keep showing it as pending. Each is rewritten as an unlock rewrites the stuck
record (label and payload ``failed``, a description saying who and why), with its own resourceVersion as
precondition. Off by default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.remediation.actions import base
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import PENDING_STATUSES
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import decode_payload

#: the actions after which history is tidied (they end in a new deployed revision from helm rollback)
TIDIED_AFTER = ("rollback", "resume")


def pending_below(metas, revision):
    """The RevisionMetas of pending revisions older than ``revision``, oldest first: pure."""
    return sorted((m for m in metas if m.status in PENDING_STATUSES and m.revision < revision),
                  key=lambda m: m.revision)


def tidy(ctx, item, metas):
    """Mark each pending revision below the remediated one failed; returns the revisions written.
    Raises ApiError (409 when Helm wrote one meanwhile) after the ones already done."""
    done = []
    for meta in pending_below(metas, item.revision):
        obj = ctx.storage.get(item.namespace, meta.object_name)
        release = decode_payload((obj.get("data") or {}).get("release"), ctx.storage.driver)
        then = "tidy_history after the rollback of revision %s (run %s)" % (item.revision, ctx.run_id)
        since = meta.created_at or ctx.now   # when the record was created: when the operation started
        description = base.describe(meta.status, meta.revision, int(ctx.now - since), ctx.actor, ctx.now, then)
        ctx.storage.replace(base.unlocked_object(obj, release, description, ctx.now, ctx.storage.driver))
        done.append(meta.revision)
    return done
