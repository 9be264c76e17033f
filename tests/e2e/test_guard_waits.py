# SPDX-License-Identifier: GPL-3.0-or-later
"""The guard waits its turn (issue 29): playbooks/safe_upgrade.yml on localkube with the real helm CLI (3 and 4)
finds web pending and waits (guarded_upgrade_wait_for_pending) instead of failing: for someone else's live
``helm upgrade`` to finish (then upgrades), for a killed one to go stale past min_age (then unsticks it and
upgrades; the wait that runs out is in test_guarded_upgrade.py); and our own guarded upgrades take
turns on the release's Lease (tests/support/turn_scenarios.py; on the real kube-apiserver too: realkube/)."""

import re
import sys
import threading
import time
from pathlib import Path

import pytest

import helmfix
from turn_scenarios import killed_holder, two_runs
from tools import both_helms

sys.path.insert(0, str(Path(__file__).resolve().parent))   # the guarded upgrade tests' helpers
from test_guarded_upgrade import SAFE_UPGRADE, guard_vars, history, one_cluster, play, records, stuck_web  # noqa: E402
pytestmark = pytest.mark.slow


def _in_background(call):
    out = {}
    thread = threading.Thread(target=lambda: out.update(result=call()))
    thread.start()
    return thread, out


def _until(check, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@both_helms
def test_the_guard_waits_for_a_live_upgrade_of_someone_else_then_upgrades(kube, helm_env, real_helm, tmp_path,
                                                                          helm_bin):
    real_helm.install("web", "shop", values={"message": "one"})
    # someone else's helm upgrade, held live by the server at its first record update (revision 2 pending)
    fault = kube.faults.hang(count=1, method="PUT", path=r"/namespaces/shop/secrets/sh\.helm\.release\.v1\.web\.v1(\?|$)")
    other = real_helm.start("upgrade", "web", "shop", chart=helmfix.CHART, values={"message": "two"})
    _until(lambda: fault.fired and helmfix.newest(kube, "shop", "web") == (2, "pending-upgrade"))
    extra = guard_vars(helmfix.make_chart(tmp_path, "0.2.0"), helm_bin, guarded_upgrade_wait_for_pending="3m")
    thread, out = _in_background(lambda: play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube)))
    # the guard's first look finds revision 2 in progress; it waits (no write of ours), then the other helm goes on
    _until(lambda: any("/secrets" in r["path"] and not (r["user_agent"] or "").startswith("Helm/")
                       for r in kube.requests), timeout=180)
    time.sleep(3)
    assert helmfix.newest(kube, "shop", "web") == (2, "pending-upgrade") and thread.is_alive()
    kube.faults.release(fault.id)
    assert other.wait(timeout=120) == 0, other.stderr.read()
    thread.join(timeout=300)
    run = out["result"]
    assert run.rc == 0, run.text
    assert re.search(r"shop/web: after waiting [\d.]+s for revision 2 \(pending-upgrade\): not stuck", run.stdout), run.stdout
    assert [(rev, status) for rev, status, _, _ in history(helm_env)] == [(1, "superseded"), (2, "superseded"),
                                                                          (3, "deployed")]


@both_helms
def test_the_guard_waits_for_a_killed_upgrade_to_go_stale_then_unsticks_and_upgrades(kube, helm_env, real_helm,
                                                                                      tmp_path, helm_bin):
    rev = stuck_web(real_helm, kube, age=0)                  # killed just now: may be live until min_age
    started = time.monotonic()
    extra = guard_vars(helmfix.make_chart(tmp_path, "0.2.0"), helm_bin, guarded_upgrade_min_age="25s",
                       guarded_upgrade_wait_for_pending="3m")
    run = play(tmp_path, SAFE_UPGRADE, extra, hosts=one_cluster(kube))
    assert run.rc == 0, run.text
    assert time.monotonic() - started >= 20                  # it waited for min_age, it did not act at once
    assert re.search(r"after waiting [\d.]+s for revision %d \(pending-upgrade\): revision %d was stuck in "
                     r"pending-upgrade" % (rev, rev), run.stdout), run.stdout
    assert helmfix.newest(kube, "shop", "web")[1] == "deployed"
    assert history(helm_env)[-1][2] == "unstick-demo-0.2.0"


@both_helms
def test_two_guarded_upgrades_started_together_take_turns_and_both_land(kube, helm_bin, tmp_path):
    two_runs(tmp_path, kube, helm_bin, "shop")


@both_helms
def test_a_controller_killed_holding_the_lease_holds_up_the_next_run_only_until_it_expires(kube, helm_bin, tmp_path):
    killed_holder(tmp_path, kube, helm_bin, "shop")
