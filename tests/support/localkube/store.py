# SPDX-License-Identifier: GPL-3.0-or-later
"""In-memory object store: one global resourceVersion counter, objects kept as
dicts plus their pre-serialized JSON, listed in (namespace, name) order like etcd.

Tests may use the public methods directly (no HTTP, no validation):

    store.get("secrets", "default", "x")        -> dict copy or None
    store.list("secrets", namespace=None)       -> [dict copies]
    store.put(obj)                              -> stored dict copy (rv bumped;
                                                   uid/creationTimestamp filled)
    store.delete("secrets", "default", "x")     -> bool
    store.resource_version                      -> current global counter
"""
from __future__ import annotations

import bisect
import collections
import copy
import json
import threading
import uuid

from .discovery import KIND_TO_RESOURCE, RESOURCES

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj) -> bytes:
    return _dumps(obj).encode()


class Rec:
    """An immutable stored version: never mutate ``obj``; replace the Rec."""
    __slots__ = ("obj", "raw", "_meta", "_item")

    def __init__(self, obj: dict):
        self.obj = obj
        self.raw = dumps(obj)
        self._meta = self._item = None

    @property
    def item_raw(self) -> bytes:
        """The object as an item of a typed list: kube-apiserver leaves out its kind and apiVersion."""
        if self._item is None:
            self._item = dumps({k: v for k, v in self.obj.items() if k not in ("kind", "apiVersion")})
        return self._item

    @property
    def meta_raw(self) -> bytes:
        if self._meta is None:
            self._meta = (b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",'
                          b'"metadata":' + dumps(self.obj["metadata"]) + b"}")
        return self._meta

    def copy(self) -> dict:
        return json.loads(self.raw)


#: how many changes the store remembers for watches that start at a resourceVersion (older: 410 Gone,
#: as etcd's compaction does to kube-apiserver's watch cache)
EVENT_WINDOW = 10000


class Store:
    def __init__(self, clock):
        self.clock = clock            # callable -> RFC3339 timestamp string
        self.lock = threading.RLock()
        #: notified on every change; watches wait on it
        self.changed = threading.Condition(self.lock)
        #: (resourceVersion, resource, "ADDED"|"MODIFIED"|"DELETED", Rec), oldest first
        self.events: collections.deque = collections.deque(maxlen=EVENT_WINDOW)
        self._rv = 1
        #: changes up to this resourceVersion are forgotten (compact): a watch from before it gets 410 Gone
        self.compacted = 0
        self._data: dict[str, dict[tuple, Rec]] = {r: {} for r in RESOURCES}
        self._keys: dict[str, list | None] = {r: [] for r in RESOURCES}

    # --- internal, callers hold self.lock for read-modify-write -----------
    @property
    def resource_version(self) -> int:
        return self._rv

    def rec(self, resource: str, namespace: str | None, name: str) -> Rec | None:
        return self._data[resource].get((namespace or "", name))

    def write(self, resource: str, obj: dict, *, bump: bool = True) -> Rec:
        """Store ``obj`` (owned by the store from now on), assigning metadata."""
        with self.lock:
            meta = obj.setdefault("metadata", {})
            key = (meta.get("namespace", "") if RESOURCES[resource]["namespaced"] else "",
                   meta["name"])
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", self.clock())
            if bump:
                self._rv += 1
                meta["resourceVersion"] = str(self._rv)
            table = self._data[resource]
            added = key not in table
            if added:
                self._keys[resource] = None
            rec = table[key] = Rec(obj)
            if bump:   # an unbumped write (loading state, planting raw records) is no change a watch sees
                self._event(resource, "ADDED" if added else "MODIFIED", rec)
            return rec

    def remove(self, resource: str, namespace: str | None, name: str) -> Rec | None:
        with self.lock:
            rec = self._data[resource].pop((namespace or "", name), None)
            if rec is not None:
                self._rv += 1
                self._keys[resource] = None
                # the DELETED event carries the last state at the deletion's resourceVersion, as in Kubernetes
                gone = rec.copy()
                gone["metadata"]["resourceVersion"] = str(self._rv)
                self._event(resource, "DELETED", Rec(gone))
            return rec

    def _event(self, resource: str, kind: str, rec: Rec) -> None:
        self.events.append((self._rv, resource, kind, rec))
        self.changed.notify_all()

    def events_after(self, rv: int):
        """The remembered changes after ``rv``; None when some of them are no longer remembered."""
        with self.lock:
            if rv < self.compacted:
                return None
            if self.events and self.events[0][0] > rv + 1 and len(self.events) == self.events.maxlen:
                return None
            return [e for e in self.events if e[0] > rv]

    def sorted_keys(self, resource: str) -> list:
        keys = self._keys[resource]
        if keys is None:
            with self.lock:
                keys = self._keys[resource] = sorted(self._data[resource])
        return keys

    def scan(self, resource: str, namespace: str | None = None, after: tuple | None = None):
        """Yield Recs in key order, optionally within a namespace / after a key."""
        with self.lock:
            keys, table = self.sorted_keys(resource), self._data[resource]
        lo = 0
        if namespace is not None:
            lo = bisect.bisect_left(keys, (namespace, ""))
        if after is not None:
            lo = max(lo, bisect.bisect_right(keys, tuple(after)))
        for i in range(lo, len(keys)):
            key = keys[i]
            if namespace is not None and key[0] != namespace:
                break
            rec = table.get(key)
            if rec is not None:
                yield key, rec

    def compact(self) -> int:
        """Forget every change so far, as etcd's compaction does: a watch that starts from (or still has to send)
        an older resourceVersion gets 410 Gone. Returns the resourceVersion compacted to."""
        with self.lock:
            self.compacted = self._rv
            self.events.clear()
            self.changed.notify_all()
            return self._rv

    # --- public helpers for tests ------------------------------------------
    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        rec = self.rec(resource, namespace, name)
        return None if rec is None else rec.copy()

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        return [rec.copy() for _, rec in self.scan(resource, namespace)]

    def put(self, obj: dict, resource: str | None = None, *, bump: bool = True) -> dict:
        """Insert or replace raw ``obj`` with no validation (for corrupting records)."""
        resource = resource or KIND_TO_RESOURCE[obj["kind"]]
        return self.write(resource, copy.deepcopy(obj), bump=bump).copy()

    def delete(self, resource: str, namespace: str | None, name: str) -> bool:
        return self.remove(resource, namespace, name) is not None

    def count(self, resource: str) -> int:
        return len(self._data[resource])

    # --- persistence (optional) --------------------------------------------
    def dump(self, path: str) -> None:
        with self.lock:
            state = {"resourceVersion": self._rv,
                     "objects": {r: [rec.obj for rec in t.values()]
                                 for r, t in self._data.items()}}
            data = dumps(state)
        with open(path, "wb") as f:
            f.write(data)

    def load(self, path: str) -> None:
        with open(path, "rb") as f:
            state = json.load(f)
        with self.lock:
            for resource, objs in state["objects"].items():
                for obj in objs:
                    self.write(resource, obj, bump=False)
            self._rv = max(self._rv, int(state["resourceVersion"]))
