# SPDX-License-Identifier: GPL-3.0-or-later
"""A small HTTP CONNECT proxy on 127.0.0.1 that logs every tunnel it opens (tests only).

Used to show that the scan (Python client) and the helm step (helm's client-go) both
reach the API server through the ``proxy`` option. ``ConnectProxy(credentials="u:p")``
asks for Basic proxy authentication (407 without it), as corporate proxies do; ``log``
holds the target of each tunnel opened, ``headers`` the CONNECT request headers of each."""

import base64
import select
import socket
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1").strip()
        headers = {}
        while True:
            header = self.rfile.readline().decode("latin-1").strip()
            if not header:
                break
            name, _sep, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.server.headers.append(headers)
        method, target, _ = (line.split(" ") + ["", ""])[:3]
        wanted = self.server.credentials
        if wanted and headers.get("proxy-authorization") != "Basic " + base64.b64encode(wanted.encode()).decode():
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
            return
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        if host not in ("127.0.0.1", "localhost"):   # loopback only, never anywhere else
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.log.append(target)
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 30)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


class ConnectProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, credentials=None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.credentials = credentials
        self.log = []
        self.headers = []

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
