# SPDX-License-Identifier: GPL-3.0-or-later
"""front: a TLS-terminating reverse proxy in front of a RealKube that can hold chosen requests, for the
races a real server cannot be told to stage (a write that must land between another client's read and
its write). Every request is forwarded to the real kube-apiserver over HTTPS (checked against its CA),
and every response is the real server's: status, headers (hop-by-hop ones aside) and body bytes, watch
streams relayed chunk by chunk as they arrive. Faults are localkube's ``FaultSet``
(tests/support/localkube/faults.py), applied where localkube's server applies them, before the request
goes anywhere:

    with RealKube() as kube, Front(kube) as front:
        kcfg = front.write_kubeconfig(tmp_path / "front")          # helm / the module talk to the front
        hold = front.faults.hang(method="PUT", path=r"/secrets/sh\\.helm\\.release\\.v1\\.web\\.v2$", count=1)
        ...; front.faults.wait_hanging(1); front.faults.release(hold.id)   # then it reaches the real server

``hang`` holds a request (released: forwarded; client gone: dropped), ``latency`` delays it, ``drop``
closes the connection unanswered. ``error`` is the one answer not from the real server: a Status whose
message says the front injected it. Client certificates end at the front (it re-encrypts, it cannot
present them): use tokens through it.
"""
from __future__ import annotations

import http.client
import http.server
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse

from localkube import kubeconfig as _kubeconfig
from localkube.faults import FaultSet
from localkube.server import read_body
from localkube.tls import make_certs

from . import ADMIN_TOKEN

__all__ = ["Front", "k8s_verb"]

# RFC 9110 7.6.1 hop-by-hop headers, plus Host and the framing (the front sets them per leg) and Expect
# (the front's own server has answered a 100-continue already)
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect"}


def k8s_verb(method: str, path: str) -> str:
    """The verb kube-apiserver's RequestInfo gives a request (get, list, watch, create, update, patch,
    delete, deletecollection), or "discovery" for non-resource paths; what FaultSet matches ``verb`` on."""
    url = urllib.parse.urlsplit(path)
    parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        rest = parts[3:]
    else:
        return "discovery"
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    named = len(rest) >= 2
    if method in ("GET", "HEAD"):
        query = urllib.parse.parse_qs(url.query)
        if query.get("watch", [""])[-1] in ("true", "1"):
            return "watch"
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # headers and body are separate writes (no 40 ms delayed-ACK stall)
    front = None                        # set per server

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.front._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.front._track(self.connection, False)

    def _read_body(self) -> bytes:
        return read_body(self.rfile, self.headers)

    def do_GET(self):
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _proxy(self):
        front = self.front
        body = self._read_body()
        verb = k8s_verb(self.command, self.path)
        entry = {"method": self.command, "path": self.path, "verb": verb, "code": None}
        front.requests.append(entry)
        # faults first, as localkube's server applies them: nothing of a held request has left yet
        delay, fault = front.faults.select(verb, self.command, self.path)
        if delay:
            time.sleep(delay)
        if fault is not None:
            if fault.kind == "drop" or (fault.kind == "hang" and not front.faults.block(fault, self.connection)):
                return self._drop()
            if fault.kind == "error":
                return self._injected(fault, entry)
        upstream = http.client.HTTPSConnection("127.0.0.1", front.kube.port, context=front._upstream_ctx)
        front._track(upstream, True)
        try:
            try:
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                upstream.putheader("Host", "127.0.0.1:%d" % front.kube.port)
                for key, value in self.headers.items():
                    if key.lower() not in _HOP:
                        upstream.putheader(key, value)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    upstream.putheader("Content-Length", str(len(body)))
                upstream.endheaders(body or None)
                resp = upstream.getresponse()
            except OSError:         # the real server is gone or refused: so is our answer
                return self._drop()
            entry["code"] = resp.status
            self._relay(resp)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True      # the client went away mid-answer
        finally:
            upstream.close()
            front._track(upstream, False)

    def _relay(self, resp):
        self.send_response_only(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in _HOP:
                self.send_header(key, value)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        if no_body:
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
            self.end_headers()
            return
        if resp.chunked:                      # a watch (or any stream): relay each piece as it comes
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        data = resp.read()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _injected(self, fault, entry):
        """An ``error`` fault: the one answer not from the real server, and its message says so."""
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": fault.message or "realkube front injected %d" % fault.code,
                  "reason": "InternalError", "code": fault.code}
        if fault.retry_after is not None:
            status["details"] = {"retryAfterSeconds": fault.retry_after}
        data = json.dumps(status).encode()
        entry["code"] = fault.code
        self.send_response_only(fault.code)
        self.send_header("Content-Type", "application/json")
        if fault.retry_after is not None:
            self.send_header("Retry-After", str(fault.retry_after))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # a client that went away or failed the handshake: nothing to report


class Front:
    """The proxy; see the module docstring. ``requests``: every request seen, with the real status."""

    def __init__(self, kube, host: str = "127.0.0.1"):
        self.kube = kube
        self.host = host
        self.port = None
        self.faults = FaultSet()
        self.requests = []
        self.dir = self.ca_file = None
        self._srv = None
        self._conns = set()
        self._lock = threading.Lock()

    def start(self) -> "Front":
        self.dir = tempfile.mkdtemp(prefix="realkube-front-")
        paths = make_certs(self.dir)
        self.ca_file = paths["ca.crt"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(paths["server.crt"], paths["server.key"])
        ctx.set_alpn_protocols(["http/1.1"])          # HTTP/1.1 only: one request per connection at a time
        self._upstream_ctx = ssl.create_default_context(cafile=self.kube.ca_file)
        self._upstream_ctx.set_alpn_protocols(["http/1.1"])
        handler = type("FrontHandler", (_Handler,), {"front": self})
        self._srv = _Server((self.host, 0), handler)
        # handshakes happen in the connection's thread, not in the accept loop
        self._srv.socket = ctx.wrap_socket(self._srv.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self._srv.server_address[1]
        threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.1},
                         name="realkube-front", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._srv is None:
            return
        self.faults.clear()
        self._srv.shutdown()
        self._srv.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:                   # keep-alive clients, streams still relayed
            sock = conn.sock if isinstance(conn, http.client.HTTPConnection) else conn
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
        self._srv = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _track(self, conn, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    @property
    def url(self) -> str:
        return "https://%s:%d" % (self.host, self.port)

    def write_kubeconfig(self, path, token: str = ADMIN_TOKEN, context: str = "front",
                         namespace: str | None = None, extra_contexts: dict | None = None) -> str:
        """A kubeconfig for the front (its own CA), with a bearer token the real server checks."""
        return _kubeconfig.write(path, self.url, ca_file=self.ca_file, token=token, context=context,
                                 namespace=namespace, extra_contexts=extra_contexts)
