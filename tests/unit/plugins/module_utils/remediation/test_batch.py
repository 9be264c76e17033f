# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""helm_unstick_batch's engine: every cluster's options checked before any request (bad input names the host,
the option and its value, never a secret's), then each cluster's own run in a bounded pool, one failure or
one slow cluster never another's."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.remediation import batch
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module import options
from ansible_collections.helmops.unstick.plugins.module_utils.remediation.cluster_run import ClusterRun
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import argument_spec

SPEC = argument_spec()


def prepare(clusters):
    return batch.prepare(clusters, SPEC, options.validate, environ={})


def test_options_are_typed_defaulted_and_null_means_unset():
    prepared, no_log = prepare({"a": {"kubeconfig": "/k/a", "remediate": "false", "max_remediations": "3",
                                      "api_key": "t0ken-a", "namespaces": None},
                                "b": {"host": "https://b.example", "api_key": "t0ken-b"}})
    assert [item[0] for item in prepared] == ["a", "b"]
    a, b = prepared[0][1], prepared[1][1]
    assert a.remediate is False and a.max_remediations == 3
    assert a.namespaces == () and a.min_age == 900 and b.strategy == "rollback"
    # each host's no_log options are masked, as helm_unstick masks them (kubeconfig is no_log in kubernetes.core:
    # a path is unmasked again once its run says it was a path, cluster_run.ClusterRun.public)
    assert no_log == {"t0ken-a", "t0ken-b", "/k/a"}


@pytest.mark.parametrize("bad, option, value", [
    ({"strategy": "rewind"}, "strategy", "rewind"),
    ({"max_remediations": "many"}, "max_remediations", "many"),
    ({"min_age": "soon"}, "min_age", "soon"),
    ({"client_cert": "/c.pem"}, "client_cert", "/c.pem"),          # no client_key: a pair
    ({"password": "hunter2", "username": None}, "password", "(set)"),  # a secret is never shown
])
def test_the_first_bad_host_stops_the_batch_naming_host_option_and_value(bad, option, value):
    clusters = {"good": {"kubeconfig": "/k/good"}, "bad": dict({"kubeconfig": "/k/bad"}, **bad)}
    with pytest.raises(batch.BatchInputError) as err:
        prepare(clusters)
    assert (err.value.host, err.value.option, err.value.value) == ("bad", option, value)
    assert str(err.value).startswith("%s: " % option) and str(err.value).endswith(" (host bad)")
    assert "hunter2" not in str(err.value)
    if option == "password":
        assert "hunter2" in err.value.no_log   # what the module masks in its failure


def test_a_host_without_a_dictionary_is_bad_input():
    with pytest.raises(batch.BatchInputError, match="\\(options\\): expected a dictionary .* \\(host x\\)"):
        prepare({"x": "kubeconfig=/k"})


def test_clusters_run_concurrently_within_the_bound_and_each_keeps_its_own_result():
    prepared = prepare(dict(("c%d" % i, {"kubeconfig": "/k/%d" % i}) for i in range(6)))[0]
    running, peak, lock = [0], [0], threading.Lock()

    def check(settings, **kw):
        kubeconfig = settings.connection["kubeconfig"]
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if kubeconfig == "/k/2":
            raise RuntimeError("boom")   # a bug in one cluster's run
        run = ClusterRun()
        run.result = {"changed": kw["check_mode"], "kubeconfig": kubeconfig}
        return run

    runs = batch.run_all(prepared, 3, check, check_mode=True, diff=False)
    assert list(runs) == ["c%d" % i for i in range(6)]
    assert peak[0] == 3
    assert runs["c2"].result["failed"] and "host c2: unexpected error: RuntimeError: boom" in runs["c2"].result["msg"]
    assert [runs["c%d" % i].result["kubeconfig"] for i in (0, 1, 3, 4, 5)] == ["/k/0", "/k/1", "/k/3", "/k/4", "/k/5"]


def test_a_slow_cluster_holds_one_worker_not_the_others():
    prepared = prepare({"slow": {"kubeconfig": "/k/slow"}, "a": {"kubeconfig": "/k/a"},
                        "b": {"kubeconfig": "/k/b"}})[0]
    finished = {}
    release = threading.Event()

    def check(settings, **kw):
        kubeconfig = settings.connection["kubeconfig"]
        if kubeconfig == "/k/slow":
            release.wait(5)
        finished[kubeconfig] = time.monotonic()
        if kubeconfig == "/k/b":
            release.set()   # the others got through while the slow one still held its worker
        run = ClusterRun()
        run.result = {"changed": False}
        return run

    batch.run_all(prepared, 2, check)
    assert finished["/k/a"] < finished["/k/slow"] and finished["/k/b"] <= finished["/k/slow"]


def test_nothing_to_run():
    assert batch.run_all([], 16, None) == {}
