# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the module return values: one dict per release, plus counts.

Pure helpers, no I/O. Entries only ever contain non-secret facts (see
``records.safe_summary``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import (
    KIND_ERROR,
    KIND_IN_PROGRESS,
    KIND_POSSIBLY_RUNNING,
    KIND_STUCK,
    KIND_UNFINISHED,
)


#: Every state a release can be reported in (healthy releases are not listed): the state decided for it
#: (release/state.py), or once a run acted on it, what the action came to.
STATE_STUCK = KIND_STUCK                      # pending, old enough; found by a report-only run
STATE_IN_PROGRESS = KIND_IN_PROGRESS          # pending but younger than min_age, or claimed by a live run
STATE_UNFINISHED = KIND_UNFINISHED            # our own rollback/uninstall claim that did not complete
STATE_POSSIBLY_RUNNING = KIND_POSSIBLY_RUNNING  # old enough, but a live hook or a recent helm write says it may run
STATE_ERROR = KIND_ERROR                      # could not be read, classified or acted on
STATE_WOULD_REMEDIATE = "would_remediate"     # check mode: what a remediating run would do
STATE_REMEDIATED = "remediated"               # done, and the cluster shows it
STATE_REFUSED = "refused"                     # the API (409, 403) or a guard refused; nothing written
STATE_FAILED = "failed"                       # tried and did not complete (see reason); may have written
STATES = (STATE_STUCK, STATE_IN_PROGRESS, STATE_UNFINISHED, STATE_WOULD_REMEDIATE, STATE_REMEDIATED,
          STATE_REFUSED, STATE_FAILED, STATE_ERROR, STATE_POSSIBLY_RUNNING)
#: states of releases that were found stuck (or unfinished): the ``stuck`` view
FOUND_STATES = (STATE_STUCK, STATE_UNFINISHED, STATE_WOULD_REMEDIATE, STATE_REMEDIATED, STATE_REFUSED,
                STATE_FAILED)


def release_entry(classification, plan=None, summary=None, action_result=None, state=None):
    """Return the report dict for one release.

    Keys (always present; ``None`` when unknown / not applicable):
    ``namespace``, ``name``, ``kind``, ``revision``, ``status``,
    ``age_seconds``, ``last_good_revision``, ``reason``, ``action``,
    ``target_revision``, ``fallback_reason``, ``chart``, ``chart_version``,
    ``app_version``, ``description``, ``changed``, ``failed``, ``message``.

    ``summary`` is a ``records.safe_summary`` dict; only its whitelisted
    chart fields are copied. ``action_result`` is a dict from the action
    layer with optional ``changed`` (bool), ``failed`` (bool) and
    ``message`` (str).
    """
    summary = summary or {}
    action_result = action_result or {}
    return {
        "namespace": classification.namespace,
        "name": classification.name,
        "kind": classification.kind,
        "revision": classification.revision,
        "status": classification.status,
        "age_seconds": classification.age_seconds,
        "last_good_revision": classification.last_good_revision,
        "reason": classification.reason,
        "action": plan.action if plan is not None else None,
        "target_revision": plan.target_revision if plan is not None else None,
        "fallback_reason": plan.fallback_reason if plan is not None else None,
        "chart": summary.get("chart"),
        "chart_version": summary.get("chart_version"),
        "app_version": summary.get("app_version"),
        "description": summary.get("description"),
        "changed": bool(action_result.get("changed", False)),
        "failed": bool(action_result.get("failed", False)),
        "message": action_result.get("message"),
        "state": state or classification.kind,
    }


ENTRY_KEYS = ("namespace", "name", "kind", "revision", "status", "age_seconds", "last_good_revision",
              "reason", "action", "target_revision", "fallback_reason", "chart", "chart_version",
              "app_version", "description", "changed", "failed", "message", "state")


def error_entry(entry=None, reason=None, **fields):
    """Report dict for whatever could not be read, classified or remediated.

    Carries every key of ``release_entry`` (``None`` where unknown), the
    fields of ``entry`` (a release entry, when there is one) and ``fields``;
    ``kind`` is ``"error"`` and ``reason`` says what went wrong.
    """
    out = dict.fromkeys(ENTRY_KEYS)
    out.update(entry or {})
    out.update(fields)
    out["kind"] = "error"
    out["reason"] = reason
    out["state"] = fields.get("state") or STATE_ERROR
    return out


def views(releases):
    """The older per-kind lists, derived from the one ``releases`` list:
    ``stuck`` (found stuck or unfinished, whatever happened next), ``in_progress``,
    ``remediated`` (done, or in check mode would be) and ``errors`` (error,
    failed, refused)."""
    out = {"stuck": [], "in_progress": [], "remediated": [], "errors": []}
    for entry in releases:
        state = entry.get("state")
        if state in FOUND_STATES:
            out["stuck"].append(entry)
        if state in (STATE_IN_PROGRESS, STATE_POSSIBLY_RUNNING):   # both left alone as possibly live
            out["in_progress"].append(entry)
        if state in (STATE_REMEDIATED, STATE_WOULD_REMEDIATE):
            out["remediated"].append(entry)
        # a run the guard refused fails as a whole (its msg says why): not one error per release
        if state in (STATE_ERROR, STATE_FAILED, STATE_REFUSED) and not entry.get("refused_by"):
            out["errors"].append(dict(entry, kind="error"))
    return out


def count_states(releases):
    counts = dict.fromkeys(STATES, 0)
    for entry in releases:
        counts[entry.get("state") or STATE_ERROR] += 1
    return counts


def _count(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("expected a count or a collection, got %r" % (value,))
    if isinstance(value, int):
        return value
    return len(value)


def summarize(stuck, in_progress, remediated, errors):
    """Counts dict; each argument is an int or a collection (its length)."""
    return {
        "stuck": _count(stuck),
        "in_progress": _count(in_progress),
        "remediated": _count(remediated),
        "errors": _count(errors),
    }
