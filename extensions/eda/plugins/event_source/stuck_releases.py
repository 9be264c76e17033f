# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Event-Driven Ansible event source: an event as soon as a Helm release is stuck.

One thread per cluster lists, then watches, the release records' metadata (blocking I/O on a cluster session,
cluster/session.py, as every module opens one); the asyncio side keeps each cluster's ReleaseTracker and one
timer per cluster, and puts the events on ansible-rulebook's queue.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import json
import logging
import os
import random
import sys
import threading
import time
from collections import namedtuple

DOCUMENTATION = r"""
---
short_description: Emit an event when a Helm release has been stuck pending for min_age
description:
  - Watches Helm's release records (Secrets or ConfigMaps labelled C(owner=helm)) on one or many clusters, metadata
    only (C(as=PartialObjectMetadata)); record bodies, which hold the release values, never cross the wire.
  - Keeps each release's newest revision and emits one event when it has stayed C(pending-install),
    C(pending-upgrade) or C(pending-rollback) for O(min_age), counted from the record's creation on the API
    server's clock. A newer revision, a settled status or a deleted record cancels the timer; a record rewritten
    while still pending is the same stuck revision (one event).
  - Watches as Kubernetes clients do - list, then watch from its resourceVersion with bookmarks, relist on
    410 Gone, reconnect with back-off - and a cluster that is down does not stop the others.
  - The event is one mapping, C(stuck_release), with C(cluster), C(server), C(namespace), C(release),
    C(revision), C(status), C(age), C(min_age), C(record), C(storage_driver) and C(created); C(age) and
    C(min_age) are seconds. Remediate it with
    C(helmops.unstick.remediate) (extensions/eda/rulebooks/remediate.yml), which checks the release again.
  - Connection options are helmops.unstick.helm_unstick's (kubernetes.core's names, K8S_AUTH_* variables),
    resolved into one connection per cluster. Needs the kubernetes Python client and kubernetes.core.
options:
  clusters:
    description:
      - The clusters to watch, each a mapping of connection options (kubeconfig, context, host, api_key,
        validate_certs, ca_cert, client_cert, client_key, proxy, ...) and an optional C(name).
      - Connection options at the top level of the source's arguments (the same names) apply to every cluster
        that does not set its own; with neither O(clusters) nor O(contexts) they are the one cluster.
      - C(name) (default the context, else the host) names the cluster in events; the remediation rulebooks
        use it as the inventory host, so make it the cluster's inventory hostname.
    type: list
    elements: dict
  contexts:
    description:
      - Instead of O(clusters), one cluster per context of the C(kubeconfig) connection option, named by the context.
    type: list
    elements: str
  name:
    description: The name of the single cluster when neither O(clusters) nor O(contexts) is given.
    type: str
  namespaces:
    description:
      - Watch only these namespaces (names), one watch each, for credentials that may read only some
        namespaces; default every namespace, one cluster-wide watch.
    type: list
    elements: str
  storage_driver:
    description: Where Helm keeps release records (C(secret) or C(configmap)); default C(HELM_DRIVER), else secret.
    type: str
    choices: [secret, configmap]
  min_age:
    description:
      - How long the newest revision must have been pending (since its record was created) before the event;
        seconds or a duration such as C(90s), C(15m). Longer than your longest C(helm --timeout).
    type: str
    default: 15m
  watch_timeout:
    description: Seconds a watch request lasts before it is renewed from its resourceVersion (server side).
    type: int
    default: 300
  max_backoff:
    description: Longest wait, in seconds, between attempts to reach a cluster that is down.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Remediate stuck Helm releases as soon as they go stale
  hosts: all
  sources:
    - helmops.unstick.stuck_releases:
        kubeconfig: /runner/.kube/config
        contexts: [prod-eu-1, prod-us-1]
        min_age: 15m
  rules:
    - name: Print each stuck release (extensions/eda/rulebooks/remediate.yml remediates it)
      condition: event.stuck_release is defined
      action:
        print_event:
"""


def _importable_collection():
    """ansible-rulebook runs this file by path: make the collection it came from importable."""
    root = os.path.abspath(__file__)
    for _level in range(7):   # event_source, plugins, eda, extensions, unstick, helmops, ansible_collections
        root = os.path.dirname(root)
    if os.path.basename(root) == "ansible_collections" and os.path.dirname(root) not in sys.path:
        sys.path.append(os.path.dirname(root))


_importable_collection()

# pylint: disable=wrong-import-position
from ansible_collections.helmops.unstick.plugins.module_utils.common.duration import parse_duration  # noqa: E402
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import (  # noqa: E402
    AUTH_ARG_SPEC, HAS_K8S_CORE,
)
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import session as cluster_session  # noqa: E402
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import (  # noqa: E402
    RESOURCES, resolve_driver,
)
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (  # noqa: E402
    format_time, parse_http_date,
)
from ansible_collections.helmops.unstick.plugins.module_utils.watch.tracker import ReleaseTracker  # noqa: E402

LOG = logging.getLogger("helmops.unstick.stuck_releases")
SELECTOR = "owner=helm"
#: how the API server's audit log (and the benchmark) tells this source's requests from the modules'
USER_AGENT = "helmops.unstick-stuck_releases"
LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
SOURCE_OPTIONS = ("clusters", "contexts", "name", "namespaces", "storage_driver", "min_age", "watch_timeout", "max_backoff")
CLUSTER_OPTIONS = ("name",)
#: one full list at a time: a list holds a whole cluster's records until the tracker has them; ten at once
#: would raise the source's memory for good (freed memory stays with the process)
LISTING = threading.Semaphore(1)


class Expired(Exception):
    """410 Gone: the watch's resourceVersion is no longer remembered; relist."""


#: a cluster to watch: its name in events, and the connection its sessions are opened on (cluster/session.py)
ClusterSpec = namedtuple("ClusterSpec", ["name", "connection"])
#: the source's arguments, checked
Settings = namedtuple("Settings", ["clusters", "min_age", "driver", "watch_timeout", "max_backoff", "namespaces"])


def _bad(option, value, why):
    return ValueError("helmops.unstick.stuck_releases: %s=%r: %s" % (option, value, why))


def _connection_options(mapping):
    return dict((key, value) for key, value in mapping.items() if key in AUTH_ARG_SPEC and value is not None)


def settings_from(args, environ=None):
    """Every argument checked, and every cluster's connection resolved, before any request."""
    environ = os.environ if environ is None else environ
    if not HAS_K8S_CORE:
        raise ValueError("helmops.unstick.stuck_releases needs the kubernetes.core collection (its connection options)")
    args = dict((k, v) for k, v in (args or {}).items() if k != "eda_feedback_queue")
    unknown = sorted(set(args) - set(SOURCE_OPTIONS) - set(AUTH_ARG_SPEC))
    if unknown:
        raise _bad(unknown[0], "(set)", "unknown option (options: %s)"
                   % ", ".join(sorted(SOURCE_OPTIONS + tuple(AUTH_ARG_SPEC))))
    try:
        min_age = parse_duration(args.get("min_age", "15m"))
    except ValueError as err:
        raise _bad("min_age", args.get("min_age"), err)
    try:
        driver = resolve_driver(args.get("storage_driver"), environ.get("HELM_DRIVER"))
    except ValueError as err:
        raise _bad("storage_driver", args.get("storage_driver"), err)
    if driver not in RESOURCES:
        raise _bad("storage_driver", driver, "the event source watches secret or configmap records")
    numbers = {}
    for option, default, low in (("watch_timeout", 300, 1), ("max_backoff", 30, 1)):
        value = args.get(option, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise _bad(option, value, "expected a whole number of seconds >= %d" % low)
        numbers[option] = value
    namespaces = args.get("namespaces")
    if namespaces is not None and (not isinstance(namespaces, list) or not namespaces
                                   or not all(isinstance(n, str) and n and "*" not in n for n in namespaces)):
        raise _bad("namespaces", namespaces, "expected a non-empty list of namespace names")
    common = _connection_options(args)
    entries = _cluster_entries(args)
    clusters, names = [], set()
    for where, entry in entries:
        options = dict(common, **_connection_options(entry))
        try:
            connection = cluster_session.resolve(options, environ)
        except Exception as err:  # ConnectionFailure: bad kubeconfig, unknown context
            raise ValueError("helmops.unstick.stuck_releases: %s: %s" % (where, err))
        name = str(entry.get("name") or options.get("context") or connection.label)
        if name in names:
            raise _bad(where + ".name", name, "two clusters have this name (events name clusters by it)")
        names.add(name)
        clusters.append(ClusterSpec(name, connection))
    return Settings(clusters, min_age, driver, numbers["watch_timeout"], numbers["max_backoff"],
                    sorted(set(namespaces)) if namespaces else None)


def _cluster_entries(args):
    clusters, contexts = args.get("clusters"), args.get("contexts")
    if clusters is not None and contexts is not None:
        raise _bad("contexts", contexts, "give clusters or contexts, not both")
    if clusters is not None:
        if not isinstance(clusters, list) or not clusters or not all(isinstance(c, dict) for c in clusters):
            raise _bad("clusters", clusters, "expected a non-empty list of mappings of connection options")
        out = []
        for index, entry in enumerate(clusters):
            unknown = sorted(set(entry) - set(CLUSTER_OPTIONS) - set(AUTH_ARG_SPEC))
            if unknown:
                raise _bad("clusters[%d].%s" % (index, unknown[0]), "(set)", "unknown option")
            out.append(("clusters[%d]" % index, entry))
        return out
    if contexts is not None:
        if not isinstance(contexts, list) or not contexts or not all(isinstance(c, str) and c for c in contexts):
            raise _bad("contexts", contexts, "expected a non-empty list of context names")
        return [("contexts[%d]" % i, {"context": c}) for i, c in enumerate(contexts)]
    return [("cluster", {"name": args.get("name")})]


class ClusterWatch(threading.Thread):
    """List, then watch, one cluster's release records (of one namespace, or all); hands what it reads to ``hub``
    (thread-safe) under ``key``."""

    def __init__(self, spec, settings, hub, namespace=None):
        self.key = (spec.name, namespace)
        super(ClusterWatch, self).__init__(name="stuck_releases:%s:%s" % (spec.name, namespace or "*"), daemon=True)
        self.spec, self.settings, self.hub = spec, settings, hub
        self.where = "cluster %s%s" % (spec.name, " namespace %s" % namespace if namespace else "")
        self.path = ("/api/v1/namespaces/%s/%s" % (namespace, RESOURCES[settings.driver]) if namespace
                     else "/api/v1/%s" % RESOURCES[settings.driver])
        self.stopping = threading.Event()
        self.bytes_received = 0
        self.client = None
        self.down = None   # why the cluster could not be reached, while it cannot
        self.backoff = 1.0

    def run(self):
        resource_version = None
        while not self.stopping.is_set():
            try:
                if self.client is None:
                    self.client = self._connect()
                if resource_version is None:
                    with LISTING:
                        resource_version = self._list()
                resource_version = self._watch(resource_version)
            except Expired:
                LOG.info("%s: resourceVersion %s expired (410 Gone): relisting", self.where, resource_version)
                resource_version = None
            except Exception as err:  # down, refused, forbidden, a cut stream: the others go on
                if self.stopping.is_set():
                    break
                message = self.spec.connection.mask(str(err))
                if message != self.down:
                    LOG.warning("%s: %s; retrying in up to %d s", self.where, message, self.settings.max_backoff)
                    self.down = message
                self.stopping.wait(self.backoff * (0.5 + random.random() / 2))
                self.backoff = min(self.backoff * 2, float(self.settings.max_backoff))

    def _connect(self):
        """This watch's API client, from a cluster session of its own (a watch holds its client's connection for
        as long as it streams); built here, in the watch's thread, so a cluster whose credentials cannot be
        loaded yet is retried like one that is down. The session's Events and liveness checks are not wanted."""
        session = cluster_session.open_session(None, self.settings.driver, self.settings.watch_timeout, USER_AGENT,
                                               events=False, liveness=False, conn=self.spec.connection)
        session.api.client.user_agent = USER_AGENT
        return session.api.client

    def _request(self, query, accept, timeout):
        request = self.client.param_serialize("GET", self.path, query_params=query,
                                              header_params={"Accept": accept}, auth_settings=["BearerToken"])
        resp = self.client.call_api(*request, _request_timeout=timeout)
        if not 200 <= resp.status <= 299:
            body = resp.read() or b""
            self.bytes_received += len(body)
            if resp.status == 410:
                raise Expired()
            raise IOError("%s %s: HTTP %s: %s" % ("GET", self.path, resp.status, body[:300].decode("utf-8", "replace")))
        self.backoff = 1.0
        if self.down:
            LOG.warning("%s: reachable again", self.where)
            self.down = None
        self.hub.post(self.key, "clock", resp.headers.get("Date"))
        return resp

    def _list(self):
        items, token, resource_version = [], None, None
        while True:
            query = [("labelSelector", SELECTOR), ("limit", "500")] + ([("continue", token)] if token else [])
            resp = self._request(query, LIST_ACCEPT, (10, 60))
            raw = resp.read()
            self.bytes_received += len(raw)
            page = json.loads(raw)
            items.extend(_slim(item) for item in page.get("items") or [])
            del raw
            meta = page.get("metadata") or {}
            resource_version = resource_version or meta.get("resourceVersion")
            token = meta.get("continue")
            if not token:
                break
        done = threading.Event()
        self.hub.post(self.key, "replace", (items, resource_version), done)
        del items
        done.wait(120)   # the tracker has it (and the list can go) before the next cluster lists
        return resource_version

    def _watch(self, resource_version):
        query = [("labelSelector", SELECTOR), ("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("resourceVersion", resource_version), ("timeoutSeconds", str(self.settings.watch_timeout))]
        resp = self._request(query, WATCH_ACCEPT, (10, self.settings.watch_timeout + 30))
        try:
            for line in _lines(resp.response, self):
                if self.stopping.is_set():
                    break
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired()
                    raise IOError("watch error: %s" % obj.get("message"))
                resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                self.hub.post(self.key, "event", (kind, obj))
        finally:
            # a stream left early (410, stopping) still has bytes on its connection: never reuse it
            resp.response.close()
            resp.response.release_conn()
        return resource_version


#: what the tracker reads of a record's metadata; a list keeps only this (managedFields and annotations are
#: most of a record's metadata, and a list holds every record of the cluster at once)
_KEPT_LABELS = ("name", "owner", "status", "version", "createdAt", "modifiedAt")


def _slim(item):
    meta = item.get("metadata") or {}
    labels = meta.get("labels") or {}
    return {"metadata": {
        "name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"), "creationTimestamp": meta.get("creationTimestamp"),
        "labels": dict((key, labels[key]) for key in _KEPT_LABELS if key in labels)}}


def _lines(response, counter):
    """The JSON lines of a watch stream, as they arrive."""
    buffered = b""
    for chunk in response.stream(amt=65536, decode_content=True):
        counter.bytes_received += len(chunk)
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            if line.strip():
                yield line
    if buffered.strip():
        yield buffered


class Hub:
    """The asyncio side: one tracker, server clock offset and timer per watch; emits onto the queue."""

    def __init__(self, settings, queue, loop, clock=time.time):
        self.settings, self.queue, self.loop, self.clock = settings, queue, loop, clock
        self.specs = dict((spec.name, spec) for spec in settings.clusters)
        #: per watch (cluster name, namespace or None): its tracker and the server clock's offset from ours
        self.keys = [(spec.name, ns) for spec in settings.clusters for ns in (settings.namespaces or [None])]
        self.trackers = dict((key, ReleaseTracker(settings.min_age)) for key in self.keys)
        self.offsets = dict((key, 0.0) for key in self.keys)
        self.timers = {}
        self.emitted = 0

    def post(self, key, what, data, done=None):
        """From a watch thread: run ``what`` on the loop (then set ``done``, when given)."""
        self.loop.call_soon_threadsafe(self.receive, key, what, data, done)

    def receive(self, key, what, data, done=None):
        try:
            self._receive(key, what, data)
        finally:
            if done is not None:
                done.set()

    def _receive(self, key, what, data):
        if what == "clock":
            self._clock(key, data)
            return
        if what == "replace":
            self.trackers[key].replace(*data)
        else:
            self.trackers[key].apply(*data)
        self._arm(key)

    def _clock(self, key, date):
        """Ages are on the API server's clock: the offset from its Date header (this host's clock without one)."""
        try:
            self.offsets[key] = parse_http_date(date) - self.clock() if date else 0.0
        except ValueError:
            self.offsets[key] = 0.0

    def server_now(self, key):
        return self.clock() + self.offsets[key]

    def _arm(self, key):
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        deadline = self.trackers[key].next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self.server_now(key)) + 0.05
        self.timers[key] = self.loop.call_later(delay, self.fire, key)

    def fire(self, key):
        self.timers.pop(key, None)
        cluster = key[0]
        spec = self.specs[cluster]
        for stuck in self.trackers[key].due(self.server_now(key)):
            self.emitted += 1
            LOG.info("cluster %s: %s/%s revision %d %s for %d s", cluster, stuck.namespace, stuck.release,
                     stuck.revision, stuck.status, stuck.age)
            self.queue.put_nowait({"stuck_release": {
                "cluster": cluster, "server": spec.connection.server, "namespace": stuck.namespace,
                "release": stuck.release, "revision": stuck.revision, "status": stuck.status,
                "age": stuck.age, "min_age": self.settings.min_age, "record": stuck.record,
                "storage_driver": self.settings.driver, "created": format_time(stuck.created_at)}})
        self._arm(key)


async def watch(queue, settings, started=None):
    """Watch every cluster of ``settings`` until cancelled; ``started(hub, watches)`` is told what runs."""
    hub = Hub(settings, queue, asyncio.get_running_loop())
    watches = [ClusterWatch(hub.specs[name], settings, hub, namespace) for name, namespace in hub.keys]
    for cluster_watch in watches:
        cluster_watch.start()
    if started is not None:
        started(hub, watches)
    try:
        while True:
            await asyncio.sleep(3600)
    finally:
        for cluster_watch in watches:
            cluster_watch.stopping.set()
        for timer in hub.timers.values():
            timer.cancel()


async def main(queue, args):
    """ansible-rulebook's entry point: bad arguments fail here, before any request; then watch until cancelled."""
    await watch(queue, settings_from(args))


if __name__ == "__main__":
    # python stuck_releases.py ARGS_JSON: the events on stdout, one JSON a line (a quick look without a rulebook)
    class _PrintQueue:
        @staticmethod
        def put_nowait(event):
            print(json.dumps(event), flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
