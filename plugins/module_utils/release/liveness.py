# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence that a pending operation older than ``min_age`` is still going on: what to look at, and what
the answers mean. Pure helpers, no I/O (``k8s/liveness.py`` makes the requests, classify.py decides).

Age alone cannot tell a dead operation from a slow one: a pre-upgrade hook Job that runs for an hour, or a
helm that keeps applying objects, is alive. So, for a release about to be remediated, we look at:

* the record itself (no request): a hook Helm started within ``min_age`` (its ``last_run.started_at``);
  the record's creation (when the operation started) is already what its age is measured from;
* the hooks of the pending revision that are Jobs or Pods (their names are in the record): one GET each, at
  most MAX_HOOKS; one that has not finished is evidence;
* the objects of its manifest, workloads first: one metadata GET each, at most MAX_OBJECTS; a
  ``managedFields`` entry of helm's field manager newer than ``min_age`` is evidence.

So a stuck release costs at most MAX_HOOKS + MAX_OBJECTS requests more (the README has the measured count).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release.records import parse_time

MAX_HOOKS = 4
MAX_OBJECTS = 6

#: kind -> (API path prefix, resource): the namespaced kinds we can look at; others are not looked at
KINDS = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Job": ("/apis/batch/v1", "jobs"),
    "CronJob": ("/apis/batch/v1", "cronjobs"),
    "Pod": ("/api/v1", "pods"),
    "Service": ("/api/v1", "services"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "Ingress": ("/apis/networking.k8s.io/v1", "ingresses"),
}
#: what is looked at first among a manifest's objects: what helm --wait waits for
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod")
HOOK_KINDS = ("Job", "Pod")

Target = namedtuple("Target", ["role", "kind", "namespace", "name", "events"])   # role: "hook" | "object"


def _time(value):
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def path(target):
    prefix, resource = KINDS[target.kind]
    return "%s/namespaces/%s/%s/%s" % (prefix, target.namespace, resource, target.name)


def describe(target):
    if target.role == "hook":
        return "hook %s %s/%s (%s)" % (target.kind, target.namespace, target.name, ",".join(target.events) or "?")
    return "%s %s/%s" % (target.kind, target.namespace, target.name)


def _manifest_objects(manifest, namespace):
    """(kind, namespace, name) of the documents of a rendered manifest, in order; unreadable ones skipped."""
    try:
        import yaml
    except ImportError:   # PyYAML is a requirement of the module; without it the manifest is not read
        return []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser when PyYAML has it (10x faster)
    out = []
    for text in (manifest or "").split("\n---"):
        try:
            doc = yaml.load(text, Loader=loader)  # nosec B506: a safe loader
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata") or {}
        if isinstance(meta, dict) and doc.get("kind") and meta.get("name"):
            out.append((str(doc["kind"]), str(meta.get("namespace") or namespace), str(meta["name"])))
    return out


def targets(release, namespace, max_hooks=MAX_HOOKS, max_objects=MAX_OBJECTS):
    """What to look at for ``release`` (the decoded record): its Job/Pod hooks, then its objects."""
    hooks = []
    for hook in release.get("hooks") or []:
        if not isinstance(hook, dict) or hook.get("kind") not in HOOK_KINDS or not hook.get("name"):
            continue
        events = [str(e) for e in hook.get("events") or []]
        hooks.append(Target("hook", hook["kind"], namespace, str(hook["name"]), events))
    objects = [Target("object", kind, ns, name, [])
               for kind, ns, name in _manifest_objects(release.get("manifest"), namespace) if kind in KINDS]
    objects.sort(key=lambda t: WORKLOADS.index(t.kind) if t.kind in WORKLOADS else len(WORKLOADS))
    return hooks[:max_hooks] + objects[:max_objects]


def record_evidence(release, now, min_age):
    """Evidence in the record alone: a hook Helm started less than ``min_age`` ago."""
    out = []
    for hook in release.get("hooks") or []:
        run = (hook or {}).get("last_run") or {}
        started = _time(run.get("started_at"))
        if started is not None and now - started < min_age:
            out.append("hook %s %s was started by helm %ds ago (phase %s)"
                       % (hook.get("kind"), hook.get("name"), int(now - started), run.get("phase") or "?"))
    return out


def _finished_job(obj):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return True
    return False


def judge(target, obj, now, min_age):
    """Evidence (a sentence) from the object ``target`` found, or None."""
    if target.role == "hook":
        if target.kind == "Job" and not _finished_job(obj):
            return "%s has not finished" % describe(target)
        phase = (obj.get("status") or {}).get("phase")
        if target.kind == "Pod" and phase not in ("Succeeded", "Failed"):
            return "%s has not finished (phase %s)" % (describe(target), phase or "none yet")
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        manager = entry.get("manager") or ""
        when = _time(entry.get("time"))
        if manager.startswith("helm") and when is not None and now - when < min_age:
            return "%s was written by helm (field manager %r, %s) %ds ago" % (
                describe(target), manager, entry.get("operation") or "?", max(0, int(now - when)))
    return None
