# SPDX-License-Identifier: GPL-3.0-or-later
"""localkube: a small, faithful local Kubernetes API server (core/v1 only).

Serves Namespaces, Secrets, ConfigMaps and ServiceAccounts over real HTTP(S)
to the ``kubernetes`` Python client, ``kubectl`` and Helm's Go client
(``helm_python``).  Pure Python: stdlib ``http.server`` + PyYAML + cryptography.

Quick start::

    from localkube import LocalKube

    with LocalKube(tls=True, tokens={"admin": None,
                                     "ro": {"verbs": ["get", "list"]}}) as kube:
        kcfg = kube.write_kubeconfig(tmp_path / "kubeconfig", token="admin")
        # kubectl --kubeconfig kcfg ... / helm_python.Config(kubeconfig_path=kcfg)
        # kubernetes.config.load_kube_config(str(kcfg))
        kube.store.list("secrets", "default")          # direct store access
        kube.faults.error(503, verb="list", count=2)    # fault injection
        kube.faults.hang(path=r"/secrets/sh\\.helm\\.release\\.v1\\.demo\\.v2$")
        kube.faults.wait_hanging(1); kube.faults.release()
        kube.stats(); kube.reset_stats()

``LocalKube(tls=False, tokens=None, clock_offset_seconds=0, port=0, host="127.0.0.1",
auto_create_namespaces=True, state_file=None, client_certs=None, anonymous_auth=True)``:

* ``tokens=None`` disables authentication (every request is admin); otherwise a
  dict token -> rule, see :mod:`localkube.auth` for the rule format.  A request
  without credentials is then ``system:anonymous`` (403 but for /version and
  /healthz-style paths), as kube-apiserver's default ``--anonymous-auth=true``;
  ``anonymous_auth=False`` answers it 401.
* Namespaces ``default``, ``kube-system``, ``kube-public`` and
  ``kube-node-lease`` exist at start.  Writing into a missing namespace creates
  it (``auto_create_namespaces=False`` -> 404 like a real cluster).
  Deleting a namespace deletes its contents immediately.
* ``clock_offset_seconds`` skews the server clock: the ``Date`` header,
  ``creationTimestamp`` and managedFields times use real time + offset.
  Settable at run time: ``kube.clock_offset_seconds = -3600``.
* Responses are always JSON (clients that send ``Accept:
  application/vnd.kubernetes.protobuf,application/json`` accept that).  Request
  bodies may be JSON, YAML or protobuf (Secret/ConfigMap/Namespace).
* Watch: chunked JSON events, initial events + bookmark, resourceVersion (410 when forgotten, or after
  ``store.compact()``), timeoutSeconds, metadata only with ``Accept: ...;as=PartialObjectMetadata``. Not implemented: server-side-apply field ownership conflicts
  (apply merges and records the manager), API groups other than core/v1.

Admin HTTP API (never hit by real clients; no auth, no faults, not counted):
``GET|DELETE /_localkube/stats`` (DELETE resets), ``GET|POST|DELETE
/_localkube/faults`` (POST body = ``FaultSet.add`` kwargs, e.g. ``{"kind":
"error", "code": 429, "retry_after": 2, "verb": "list", "count": 1}``; DELETE
clears and releases hangs), ``DELETE /_localkube/faults/<id>``, ``POST
/_localkube/release`` (body ``{"id": n}`` optional), ``GET
/_localkube/hanging?wait=N`` (blocks until N requests hang, 30 s max).

Test helpers: ``localkube.testing`` has ``make_api(kube, token=None)`` (a
``CoreV1Api`` bound to the server, CA set for TLS), ``raw(kube, method, path,
body=None, headers=None, token=None) -> (status, headers, json_or_bytes)`` and
``secret(name, ns="default", labels=None, data=None, **extra)``.
``kube.requests`` is a deque of the last 5000 answered requests (method, path,
code, content_type, accept, user_agent) for wire-level assertions.

CLI: ``python -m localkube --port 0 --tls --token admin-token --kubeconfig
out.yaml [--state-file s.json] [--clock-offset S]`` prints the URL and serves
until SIGINT/SIGTERM.
"""
from __future__ import annotations

import collections
import os
import shutil
import ssl
import tempfile
import threading
import time

from . import kubeconfig as _kubeconfig
from .auth import Authorizer
from .faults import Fault, FaultSet
from .server import make_server, serve_thread
from .store import Store

__all__ = ["LocalKube", "Fault", "FaultSet", "Store"]

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class LocalKube:
    def __init__(self, tls: bool = False, tokens: dict | None = None,
                 clock_offset_seconds: float = 0, port: int = 0, host: str = "127.0.0.1",
                 auto_create_namespaces: bool = True, state_file: str | None = None,
                 client_certs: dict | None = None, anonymous_auth: bool = True):
        self.tls, self.host, self.port = tls, host, port
        self.clock_offset_seconds = clock_offset_seconds
        self.auto_create_namespaces = auto_create_namespaces
        self.auth = Authorizer(tokens, client_certs, anonymous=anonymous_auth)
        self.client_certs = client_certs
        self.tokens = tokens
        self.faults = FaultSet()
        self.store = Store(self.timestamp)
        self.state_file = state_file
        self.ca_file: str | None = None
        self._tmpdir: str | None = None
        self._srv = self._thread = None
        self._stats_lock = threading.Lock()
        self._conns: set = set()
        #: the last 5000 answered requests: dicts with method, path (with query),
        #: code, content_type, accept, user_agent -- for wire-level assertions
        self.requests: collections.deque = collections.deque(maxlen=5000)
        self.reset_stats()
        if state_file and os.path.exists(state_file):
            self.store.load(state_file)
        for ns in SYSTEM_NAMESPACES:
            if self.store.rec("namespaces", None, ns) is None:
                self.store.write("namespaces", {   # as kube-apiserver creates them, its own manager
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns},
                                 "managedFields": [{
                                     "manager": "kube-apiserver", "operation": "Update", "apiVersion": "v1",
                                     "time": self.timestamp(), "fieldsType": "FieldsV1",
                                     "fieldsV1": {"f:metadata": {"f:labels": {
                                         ".": {}, "f:kubernetes.io/metadata.name": {}}}}}]},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    # --- clock ------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset_seconds

    def timestamp(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now()))

    # --- lifecycle --------------------------------------------------------
    def start(self) -> "LocalKube":
        ctx = None
        if self.tls:
            from .tls import make_certs
            self._tmpdir = tempfile.mkdtemp(prefix="localkube-")
            paths = make_certs(self._tmpdir)
            self.ca_file = paths["ca.crt"]
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(paths["server.crt"], paths["server.key"])
            if self.client_certs is not None:   # kube-apiserver's --client-ca-file: certificates optional
                ctx.verify_mode = ssl.CERT_OPTIONAL
                ctx.load_verify_locations(self.ca_file)
            ctx.set_alpn_protocols(["http/1.1"])
        self._srv = make_server(self, self.host, self.port, ctx)
        self.port = self._srv.server_address[1]
        self._thread = serve_thread(self._srv)
        return self

    def stop(self) -> None:
        if self._srv is None:
            return
        self.faults.clear()
        self._srv.shutdown()
        self._srv.server_close()
        for conn in list(self._conns):
            try:
                conn.shutdown(2)
            except OSError:
                pass
        self._srv = None
        if self.state_file:
            self.store.dump(self.state_file)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "LocalKube":
        return self.start() if self._srv is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _track(self, conn, add: bool) -> None:
        (self._conns.add if add else self._conns.discard)(conn)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # --- kubeconfig ---------------------------------------------------------
    def client_cert(self, user: str, groups=()) -> tuple:
        """(cert path, key path) of a client certificate for ``user``, signed by this server's CA."""
        from .tls import issue_client_cert
        return issue_client_cert(self._tmpdir, "client-" + user.replace(":", "-"), user, groups)

    def write_kubeconfig(self, path, token: str | None = None, context: str = "localkube",
                         namespace: str | None = None, extra_contexts: dict | None = None) -> str:
        """Write a kubeconfig. ``token=None`` picks the first full-access token
        (if auth is on).  ``extra_contexts={"ro": {"token": "ro", "namespace": "x"}}``."""
        if token is None and self.tokens:
            token = next((t for t, r in self.tokens.items() if r is None), None)
        return _kubeconfig.write(path, self.url, ca_file=self.ca_file, token=token,
                                 context=context, namespace=namespace,
                                 extra_contexts=extra_contexts)

    # --- stats ----------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = {"requests": 0, "bytes": 0, "dropped": 0, "faults_fired": 0,
                           "by_verb": collections.defaultdict(lambda: {"requests": 0, "bytes": 0}),
                           "by_code": collections.Counter()}

    def _count(self, verb: str, nbytes: int, code: int) -> None:
        with self._stats_lock:
            s = self._stats
            s["requests"] += 1
            s["bytes"] += nbytes
            v = s["by_verb"][verb]
            v["requests"] += 1
            v["bytes"] += nbytes
            if code:
                s["by_code"][code] += 1
            else:
                s["dropped"] += 1

    def _count_bytes(self, verb: str, nbytes: int) -> None:
        """Bytes sent on a stream (a watch's events) after its request was counted."""
        with self._stats_lock:
            self._stats["bytes"] += nbytes
            self._stats["by_verb"][verb]["bytes"] += nbytes

    def _fault_fired(self, fault) -> None:
        with self._stats_lock:
            self._stats["faults_fired"] += 1

    def stats(self) -> dict:
        """``{"requests", "bytes", "dropped", "faults_fired", "by_verb": {verb:
        {"requests", "bytes"}}, "by_code": {code: n}}``; bytes = response bodies.
        Non-resource requests (discovery, openapi, version) count as verb "discovery"."""
        with self._stats_lock:
            s = self._stats
            return {"requests": s["requests"], "bytes": s["bytes"], "dropped": s["dropped"],
                    "faults_fired": s["faults_fired"],
                    "by_verb": {k: dict(v) for k, v in s["by_verb"].items()},
                    "by_code": {str(k): v for k, v in s["by_code"].items()}}
