# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the suite's time goes: a pytest plugin writing one JSON line per test (wall seconds, this process's CPU
seconds and the CPU of the subprocesses it waited for, worker, start) to the file HELMOPS_TEST_PROFILE names.

    HELMOPS_TEST_PROFILE=/tmp/profile.jsonl ./scripts/test -p suite_profile
    python bench/suite_profile.py /tmp/profile.jsonl

Servers a session fixture starts (realkube's kube-apiserver and etcd) are counted when they are stopped, so on the
test the worker ran last. Each worker appends its own lines (O_APPEND, one write per line)."""

import json
import os
import resource
import time

import pytest


def _cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = os.environ.get("HELMOPS_TEST_PROFILE")
    if not path:
        yield
        return
    start, (own, kids) = time.time(), _cpu()
    yield
    own_after, kids_after = _cpu()
    line = json.dumps({"test": item.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                       "start": round(start, 3), "wall": round(time.time() - start, 3),
                       "cpu": round(own_after - own, 3), "cpu_children": round(kids_after - kids, 3)})
    with open(path, "a") as handle:
        handle.write(line + "\n")
