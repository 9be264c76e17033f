# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Choose the remediation for a stuck release (the table from state to action), and the blast-radius guard.

Pure helpers, no I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release.state import KIND_STUCK, KIND_UNFINISHED

STRATEGIES = ("rollback", "unlock")
PENDING_INSTALL_ACTIONS = ("unlock", "uninstall")

NO_ROLLBACK_TARGET = "no deployed or superseded revision to roll back to"

Plan = namedtuple("Plan", [
    "action",           # "rollback" | "unlock" | "uninstall"
    "target_revision",  # int for rollback, else None
    "fallback_reason",  # str when the rollback strategy could not be used, else None
])


class GuardError(Exception):
    """More releases would be remediated than ``max_remediations`` allows."""


#: The one table from a release's state (``release/state.py``) to what a remediating run does with it:
#: (state, newest status) -> the action, where STRATEGY and PENDING_INSTALL stand for those options' values.
#: A state that is not here is left alone: healthy, in_progress, possibly_running, error.
STRATEGY = "<strategy>"
PENDING_INSTALL = "<pending_install>"
ACTIONS = {
    (KIND_STUCK, "pending-install"): PENDING_INSTALL,    # no earlier revision to roll back to
    (KIND_STUCK, "pending-upgrade"): STRATEGY,
    (KIND_STUCK, "pending-rollback"): STRATEGY,
    (KIND_UNFINISHED, "failed"): "resume",                 # our own claim (a failed record) did not complete
}


def acted_on(kind):
    """Whether a release in this state is remediated (else it is only reported)."""
    return any(state == kind for state, dummy in ACTIONS)


def plan_action(classification, strategy, pending_install):
    """Return the ``Plan`` for a ``stuck`` (or ``unfinished``) ``Classification``, from ``ACTIONS``.

    * ``pending-install`` -> ``pending_install`` (``"unlock"`` marks the
      record failed, ``"uninstall"`` removes the release).
    * ``pending-upgrade`` / ``pending-rollback`` -> ``strategy``:
      ``"rollback"`` to ``last_good_revision``, or ``"unlock"``. When
      rollback is asked for but there is no deployed/superseded revision,
      the ``pending_install`` rule is used instead and ``fallback_reason``
      says why.
    * ``unfinished`` -> ``resume`` (``plan_resume``).

    Raises ``ValueError`` for a state that is not acted on, or bad options.
    """
    if strategy not in STRATEGIES:
        raise ValueError("strategy must be one of %s, got %r" % (", ".join(STRATEGIES), strategy))
    if pending_install not in PENDING_INSTALL_ACTIONS:
        raise ValueError("pending_install must be one of %s, got %r" % (
            ", ".join(PENDING_INSTALL_ACTIONS), pending_install))
    if not acted_on(classification.kind):
        raise ValueError("can only plan for a stuck release, got kind %r" % (classification.kind,))
    action = ACTIONS.get((classification.kind, classification.status))
    if action is None:
        raise ValueError("cannot plan for status %r" % (classification.status,))
    if action == "resume":
        return plan_resume(classification)
    if action == PENDING_INSTALL:
        return Plan(pending_install, None, None)
    if strategy == "unlock":
        return Plan("unlock", None, None)
    target = classification.last_good_revision
    if target is None:
        return Plan(pending_install, None, NO_ROLLBACK_TARGET)
    return Plan("rollback", target, None)


def plan_resume(classification):
    """The ``Plan`` that finishes an unfinished (claimed) rollback or uninstall.

    A rollback goes to the claimed revision while it is still the last good
    one; otherwise to the last good one now, and ``fallback_reason`` says so.
    Raises ``ValueError`` when a claimed rollback has nowhere to go any more.
    """
    claim = classification.claim
    if claim.target is None:          # an uninstall: nothing to choose
        return Plan("resume", None, None)
    good = classification.last_good_revision
    if good is None:
        raise ValueError("the unfinished rollback to revision %s cannot be finished: %s"
                         % (claim.target, NO_ROLLBACK_TARGET))
    if good != claim.target:
        return Plan("resume", good, "revision %s is no longer the last good one; rolling back to %s instead"
                    % (claim.target, good))
    return Plan("resume", good, None)


def check_guard(stuck_count, max_remediations):
    """Raise ``GuardError`` when ``stuck_count`` exceeds ``max_remediations``.

    ``max_remediations`` ``None`` means no limit; otherwise both must be
    non-negative integers (``ValueError`` if not). Returns ``None``.
    """
    for label, value in (("stuck_count", stuck_count), ("max_remediations", max_remediations)):
        if value is None and label == "max_remediations":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("%s must be a non-negative integer, got %r" % (label, value))
    if max_remediations is not None and stuck_count > max_remediations:
        raise GuardError(
            "refusing to remediate %d stuck releases: max_remediations is %d "
            "(raise it or narrow the scope)" % (stuck_count, max_remediations))
