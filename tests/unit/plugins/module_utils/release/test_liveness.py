# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Liveness evidence: what is looked at (bounded), what counts as a live operation, and the decision."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.release import liveness
from ansible_collections.helmops.unstick.plugins.module_utils.release.state import Classification, with_liveness
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import format_time

NOW = 1796291000.0
MANIFEST = """---
# Source: web/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: web-reader
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: other
"""
RELEASE = {"manifest": MANIFEST, "hooks": [
    {"name": "web-migrate", "kind": "Job", "events": ["pre-upgrade"],
     "last_run": {"started_at": format_time(NOW - 3600), "phase": "Running"}},
    {"name": "web-test", "kind": "ConfigMap", "events": ["test"]}]}


def test_targets_hooks_first_then_workloads_bounded():
    found = liveness.targets(RELEASE, "shop")
    assert [(t.role, t.kind, t.namespace, t.name) for t in found] == [
        ("hook", "Job", "shop", "web-migrate"), ("object", "Deployment", "shop", "web-app"),
        ("object", "ConfigMap", "shop", "web-config"), ("object", "Service", "other", "web")]
    assert liveness.path(found[1]) == "/apis/apps/v1/namespaces/shop/deployments/web-app"
    assert len(liveness.targets(RELEASE, "shop", max_hooks=0, max_objects=1)) == 1
    assert liveness.targets({"manifest": "kind: [unclosed"}, "shop") == []


def test_a_hook_job_not_finished_is_evidence_a_finished_one_is_not():
    [job] = liveness.targets(RELEASE, "shop")[:1]
    assert liveness.judge(job, {"status": {"active": 1}}, NOW, 900) == \
        "hook Job shop/web-migrate (pre-upgrade) has not finished"
    done = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert liveness.judge(job, done, NOW, 900) is None


def managed(manager, age, operation="Update"):
    return {"metadata": {"managedFields": [{"manager": manager, "operation": operation,
                                            "time": format_time(NOW - age)}]}}


def test_a_recent_helm_write_is_evidence_an_old_one_or_another_manager_is_not():
    deployment = liveness.targets(RELEASE, "shop")[1]
    assert liveness.judge(deployment, managed("helm", 30, "Apply"), NOW, 900) == \
        "Deployment shop/web-app was written by helm (field manager 'helm', Apply) 30s ago"
    assert liveness.judge(deployment, managed("helm", 901), NOW, 900) is None
    assert liveness.judge(deployment, managed("kube-controller-manager", 5), NOW, 900) is None


def test_a_hook_started_within_min_age_is_evidence_in_the_record_alone():
    assert liveness.record_evidence(RELEASE, NOW, 900) == []
    assert liveness.record_evidence(RELEASE, NOW, 7200) == [
        "hook Job web-migrate was started by helm 3600s ago (phase Running)"]


def test_evidence_makes_a_stuck_release_possibly_running():
    stuck = Classification("stuck", "shop", "web", 2, "pending-upgrade", 3600, 1, "pending-upgrade for 3600 seconds")
    assert with_liveness(stuck, []) is stuck
    running = with_liveness(stuck, ["hook Job shop/web-migrate (pre-upgrade) has not finished"])
    assert (running.kind, running.reason) == ("possibly_running", "pending-upgrade for 3600 seconds, but it may "
                                              "still be running: hook Job shop/web-migrate (pre-upgrade) has not "
                                              "finished")
    young = stuck._replace(kind="in_progress")
    assert with_liveness(young, ["anything"]) is young
