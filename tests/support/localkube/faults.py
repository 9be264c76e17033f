# SPDX-License-Identifier: GPL-3.0-or-later
"""Run-time fault injection.

A fault matches a request by k8s ``verb`` (get, list, create, update, patch,
delete, deletecollection, watch), HTTP ``method`` and/or ``path`` (a regex
searched in the request path *including* the query string); unset = any.
``count`` = fire that many times, then the fault removes itself.

Kinds:
  latency  sleep ``seconds`` before handling (all matching latency faults add up)
  error    answer ``code`` (500/503/429/...) with a Status; ``retry_after`` sets
           the Retry-After header (and details.retryAfterSeconds)
  hang     block the request until :meth:`FaultSet.release` or the client
           disconnects; then (if released) it is served normally
  drop     close the connection without sending any response
"""
from __future__ import annotations

import itertools
import re
import select
import threading
import time
from dataclasses import dataclass, field

KINDS = ("latency", "error", "hang", "drop")


@dataclass
class Fault:
    kind: str
    verb: str | None = None
    method: str | None = None
    path: str | None = None
    count: int | None = None
    code: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    message: str | None = None
    id: int = 0
    fired: int = 0
    _re: re.Pattern | None = field(default=None, repr=False)
    _released: threading.Event = field(default_factory=threading.Event, repr=False)

    def matches(self, verb: str, method: str, path: str) -> bool:
        if self.verb and self.verb != verb:
            return False
        if self.method and self.method.upper() != method:
            return False
        return not self._re or bool(self._re.search(path))

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("id", "kind", "verb", "method", "path", "count", "code", "retry_after",
                 "seconds", "message", "fired")}


class FaultSet:
    def __init__(self):
        self._lock = threading.Condition()
        self._faults: list[Fault] = []
        self._hangs: list[Fault] = []   # hang faults not yet released (even if used up)
        self._ids = itertools.count(1)
        self.hanging = 0          # requests blocked right now
        self.hung_total = 0       # requests that ever started hanging

    # --- configuration --------------------------------------------------
    def add(self, kind: str, **kw) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        fault = Fault(kind=kind, **kw)
        if fault.path:
            fault._re = re.compile(fault.path)
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
            if kind == "hang":
                self._hangs.append(fault)
        return fault

    def latency(self, seconds: float, **kw) -> Fault:
        return self.add("latency", seconds=seconds, **kw)

    def error(self, code: int = 500, **kw) -> Fault:
        return self.add("error", code=code, **kw)

    def hang(self, **kw) -> Fault:
        return self.add("hang", **kw)

    def drop(self, **kw) -> Fault:
        return self.add("drop", **kw)

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            for f in self._faults:
                if f.id == fault_id:
                    self._faults.remove(f)
                    self._release(f)
                    return True
        return False

    def _release(self, f: Fault) -> None:
        f._released.set()
        if f in self._hangs:
            self._hangs.remove(f)

    def clear(self) -> None:
        """Remove every fault and release every hanging request."""
        with self._lock:
            for f in self._faults + self._hangs:
                self._release(f)
            self._faults.clear()

    def release(self, fault_id: int | None = None) -> None:
        """Release requests hanging on ``fault_id`` (all hang faults if None) and
        remove those faults, so later requests pass."""
        with self._lock:
            for f in list(self._hangs):
                if fault_id in (None, f.id):
                    self._release(f)
                    if f in self._faults:
                        self._faults.remove(f)

    def list(self) -> list[dict]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def wait_hanging(self, n: int = 1, timeout: float = 10.0) -> bool:
        """Block until at least ``n`` requests are hanging right now."""
        with self._lock:
            return self._lock.wait_for(lambda: self.hanging >= n, timeout)

    # --- request side ---------------------------------------------------
    def select(self, verb: str, method: str, path: str) -> tuple[float, Fault | None]:
        """Return (total latency, first terminal fault) and consume counts."""
        delay, terminal = 0.0, None
        with self._lock:
            if not self._faults:
                return 0.0, None
            for f in list(self._faults):
                if not f.matches(verb, method, path):
                    continue
                if f.kind == "latency":
                    delay += f.seconds
                elif terminal is None:
                    terminal = f
                else:
                    continue
                f.fired += 1
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        self._faults.remove(f)
        return delay, terminal

    def block(self, fault: Fault, sock) -> bool:
        """Hang until released (True) or the peer goes away (False)."""
        with self._lock:
            self.hanging += 1
            self.hung_total += 1
            self._lock.notify_all()
        try:
            while not fault._released.wait(0.05):
                # an HTTP/1.1 client sends nothing while awaiting a response:
                # readability means EOF / reset / TLS close_notify
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                except (OSError, ValueError):
                    return False
                if readable:
                    return False
            return True
        finally:
            with self._lock:
                self.hanging -= 1
                self._lock.notify_all()


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
