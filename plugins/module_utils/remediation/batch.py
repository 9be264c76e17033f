# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many clusters in one process (helm_unstick_batch): every cluster's options checked first, then each
cluster's own run (``cluster_run.check_cluster``: its connection, deadline, errors and result) in a bounded
thread pool. A slow, dead or forbidden cluster holds one worker for at most its own ``cluster_timeout``;
helm runs inside its cluster's worker, so helm processes are bounded by the same ``concurrency``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import OptionError, UnstickError

#: the default of helm_unstick_batch's ``concurrency`` (and of the role's stuck_releases_concurrency)
DEFAULT_CONCURRENCY = 16


class BatchInputError(UnstickError):
    """One host's options are bad: the whole batch stops before any request (``host``, ``option``, ``value``)."""

    def __init__(self, host, option, value, why):
        self.host = host
        self.option = option
        self.value = value
        self.why = why
        super(BatchInputError, self).__init__("%s: %s (host %s)" % (option, why, host))


def _option_named(message, names):
    """The option an argument-spec message is about (the longest name it mentions as a word), or None."""
    for name in sorted(names, key=len, reverse=True):
        if re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), message):
            return name
    return None


def _with_no_log(err, no_log):
    err.no_log = set(no_log)   # what to mask in the failure (the secrets of the hosts read so far)
    return err


def prepare_one(host, raw, checker, validate, environ=None):
    """``(params, settings, no_log)`` of one host's helm_unstick options ``raw`` (options whose value is None are
    unset, as ``omit`` leaves them), or BatchInputError naming the host, the option and its value (never a
    secret's). ``checker``: an ``ArgumentSpecValidator`` of helm_unstick's spec (types, defaults, choices,
    K8S_AUTH_* fallbacks); ``validate``: ``options.validate``. No request is made."""
    if not isinstance(raw, dict):
        raise _with_no_log(BatchInputError(host, "(options)", type(raw).__name__,
                                           "expected a dictionary of helm_unstick options"), set())
    spec = checker.argument_spec
    given = dict((k, v) for k, v in raw.items() if v is not None)
    checked = checker.validate(given)
    no_log = set(checked._no_log_values)
    if checked.error_messages:
        message = checked.error_messages[0]
        option = _option_named(message, list(spec) + list(given)) or "(options)"
        shown = "(set)" if spec.get(option, {}).get("no_log") else given.get(option)
        raise _with_no_log(BatchInputError(host, option, shown, message), no_log)
    params = checked.validated_parameters
    try:
        settings = validate(params, environ)
    except OptionError as err:
        raise _with_no_log(BatchInputError(host, err.option, err.value, err.why), no_log)
    return params, settings, no_log


def prepare(clusters, spec, validate, environ=None):
    """``[(host, settings)]`` in the given host order, and the no_log values of every host's params, or
    BatchInputError for the first bad host (``prepare_one``). ``clusters``: ``{host: {option: value}}``;
    ``spec``: helm_unstick's argument spec. No request is made."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    checker = ArgumentSpecValidator(spec)
    prepared, no_log = [], set()
    for host, raw in clusters.items():
        try:
            dummy, settings, host_no_log = prepare_one(host, raw, checker, validate, environ)
        except BatchInputError as err:
            raise _with_no_log(err, no_log | err.no_log)
        no_log |= host_no_log
        prepared.append((host, settings))
    return prepared, no_log


def run_all(prepared, concurrency, check_cluster, **kwargs):
    """``{host: ClusterRun}`` for every prepared cluster, at most ``concurrency`` at a time. A cluster whose
    run raises (a bug, not an input) gets a failed result of its own; the others are not affected."""
    from ansible_collections.helmops.unstick.plugins.module_utils.remediation.cluster_run import ClusterRun

    def one(item):
        host, settings = item
        try:
            return check_cluster(settings, **kwargs)
        except Exception as err:  # pylint: disable=broad-except
            run = ClusterRun().fail("host %s: unexpected error: %s: %s" % (host, type(err).__name__, err))
            run.exception = traceback.format_exc()
            return run

    if not prepared:
        return {}
    workers = max(1, min(int(concurrency), len(prepared)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cluster") as pool:
        runs = list(pool.map(one, prepared))
    return dict((item[0], run) for item, run in zip(prepared, runs))
