# SPDX-License-Identifier: GPL-3.0-or-later
"""helmfix against a localkube running in another process (``python -m localkube``).

The stuck-release makers and ``age_record`` use two things of an in-process
``LocalKube``: ``server.faults`` (hang a request, wait until it hangs, lift the
fault) and ``server.store`` (read, list and rewrite release records), plus
``server.now()`` (the server's clock). ``RemoteKube`` offers the same surface
over HTTP(S): faults through localkube's admin API (``/_localkube/...``), the
store through the real Kubernetes REST API (bearer token and CA of the
kubeconfig), the clock from the server's ``Date`` header::

    proc, url = spawn(tmp / "kubeconfig", tls=True, token="t0ken")
    kube = RemoteKube(url, tmp / "kubeconfig")          # CA and token from the kubeconfig
    env = HelmEnv(kube.kubeconfig)
    env.install("web", "shop")
    rev = make_stuck_upgrade(env, kube, "web", "shop")  # real Helm, interrupted for real
    age_record(kube, "shop", "web", rev, 3600)
    stop(proc)

API:
  RemoteKube(url, kubeconfig, ca_file=None, token=None, context=None)
      .url .kubeconfig .now() .request(method, path, body=None) -> (status, headers, json)
      .faults: .add(kind, **kw) .hang(**kw) .error(code, **kw) .latency(s, **kw) .drop(**kw)
               -> RemoteFault (.id, .fired, .kind ...); .remove(id) .release(id=None) .clear()
               .list() .hanging .hung_total .wait_hanging(n=1, timeout=10.0)
      .store:  .get(resource, ns, name) -> dict or None   .list(resource, ns=None, label_selector=None)
               .put(obj, resource=None) -> the stored object (a replace, or a create if absent)
               .delete(resource, ns, name) -> bool   .clock() -> RFC3339 server time
  RemoteKube.from_kubeconfig(kubeconfig, context=None)
  spawn(kubeconfig, tls=False, token=None, log=None, detach=False, timeout=30, port=0,
        state_file=None, clock_offset=None, extra_args=()) -> (Popen, url)
  stop(proc_or_pid, timeout=10)
  free_port() -> a local TCP port nothing listens on (for an unreachable cluster)
"""

import base64
import email.utils
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

SUPPORT = str(Path(__file__).resolve().parents[1])

# resource -> (kind, namespaced): the core/v1 resources localkube serves
_KINDS = {"secrets": ("Secret", True), "configmaps": ("ConfigMap", True),
          "serviceaccounts": ("ServiceAccount", True), "namespaces": ("Namespace", False)}
_RESOURCES = {kind: res for res, (kind, _) in _KINDS.items()}


class RemoteError(Exception):
    """The server answered an unexpected status; ``.status`` and ``.body`` tell more."""

    def __init__(self, method, path, status, body):
        super().__init__("%s %s -> %s: %s" % (method, path, status, _message(body)))
        self.status, self.body = status, body


def _message(body):
    return body.get("message", body) if isinstance(body, dict) else body


def _kubeconfig_auth(path, context=None):
    """(server, CA PEM text or None, CA file or None, token or None) of a kubeconfig context."""
    with open(path) as handle:
        cfg = yaml.safe_load(handle) or {}
    name = context or cfg.get("current-context")
    ctx = next((c["context"] for c in cfg.get("contexts") or [] if c["name"] == name), None)
    if ctx is None:
        raise ValueError("no context %r in %s" % (name, path))
    cluster = next(c["cluster"] for c in cfg.get("clusters") or [] if c["name"] == ctx["cluster"])
    user = next((u.get("user") or {} for u in cfg.get("users") or [] if u["name"] == ctx.get("user")), {})
    ca_data = cluster.get("certificate-authority-data")
    return (cluster["server"], base64.b64decode(ca_data).decode() if ca_data else None,
            cluster.get("certificate-authority"), user.get("token"))


class RemoteKube:
    """A localkube in another process, with the surface helmfix uses of a LocalKube."""

    def __init__(self, url, kubeconfig, ca_file=None, token=None, context=None):
        self.url = url.rstrip("/")
        self.kubeconfig = str(kubeconfig)
        _, ca_data, kc_ca_file, kc_token = _kubeconfig_auth(self.kubeconfig, context)
        self.ca_file = str(ca_file) if ca_file else kc_ca_file
        self.token = token if token is not None else kc_token
        self._ssl = None
        if self.url.startswith("https:"):
            self._ssl = ssl.create_default_context(cafile=self.ca_file,
                                                   cadata=None if self.ca_file else ca_data)
        self.faults = RemoteFaults(self)
        self.store = RemoteStore(self)

    @classmethod
    def from_kubeconfig(cls, kubeconfig, context=None):
        server = _kubeconfig_auth(str(kubeconfig), context)[0]
        return cls(server, kubeconfig, context=context)

    def __repr__(self):
        return "RemoteKube(%r)" % self.url

    # -- HTTP -------------------------------------------------------------
    def request(self, method, path, body=None, timeout=30, auth=True):
        """One request; returns (status, headers, decoded JSON body or None). Never raises on
        an HTTP error status (the caller decides); raises OSError if the server is gone."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", "helmfix-remote")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth and self.token:
            req.add_header("Authorization", "Bearer %s" % self.token)
        try:
            resp = urllib.request.urlopen(req, timeout=timeout, context=self._ssl)
        except urllib.error.HTTPError as err:
            resp = err
        with resp:
            payload = resp.read()
            headers = resp.headers
            status = resp.status if hasattr(resp, "status") else resp.code
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload
        return status, headers, decoded

    def _ok(self, method, path, body=None, expect=(200, 201), **kw):
        status, headers, decoded = self.request(method, path, body, **kw)
        if status not in expect:
            raise RemoteError(method, path, status, decoded)
        return decoded, headers

    def admin(self, method, path, body=None, timeout=40):
        """localkube's admin API (no auth, no faults, not counted in stats)."""
        return self._ok(method, "/_localkube/" + path.lstrip("/"), body, auth=False, timeout=timeout)[0]

    # -- clock ------------------------------------------------------------
    def now(self):
        """The server's time (epoch seconds, from its ``Date`` header: whole seconds)."""
        _, headers = self._ok("GET", "/_localkube/hanging", auth=False)
        return email.utils.parsedate_to_datetime(headers["Date"]).timestamp()

    def timestamp(self):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now()))

    def stats(self):
        return self.admin("GET", "stats")

    def reset_stats(self):
        self.admin("DELETE", "stats")


class RemoteFault:
    """A fault added through the admin API. ``fired`` asks the server: a fault
    with a ``count`` leaves the server's list once used up, so a fault that is
    gone and was not removed by us has fired."""

    def __init__(self, faults, spec):
        self._faults = faults
        self.__dict__.update(spec)
        self.removed = False

    @property
    def fired(self):
        entry = next((f for f in self._faults.list() if f["id"] == self.id), None)
        if entry is None:
            return 0 if self.removed else max(1, self.__dict__.get("_fired_seen", 0))
        self.__dict__["_fired_seen"] = entry["fired"]
        return entry["fired"]

    def __repr__(self):
        return "RemoteFault(id=%s, kind=%s, path=%s)" % (self.id, self.kind, self.path)


class RemoteFaults:
    """``LocalKube.faults`` over the admin HTTP API."""

    def __init__(self, kube):
        self._kube = kube
        self._mine = {}

    def add(self, kind, **kw):
        spec = self._kube.admin("POST", "faults", dict(kw, kind=kind))
        fault = RemoteFault(self, spec)
        self._mine[fault.id] = fault
        return fault

    def hang(self, **kw):
        return self.add("hang", **kw)

    def error(self, code=500, **kw):
        return self.add("error", code=code, **kw)

    def latency(self, seconds, **kw):
        return self.add("latency", seconds=seconds, **kw)

    def drop(self, **kw):
        return self.add("drop", **kw)

    def remove(self, fault_id):
        removed = self._kube.admin("DELETE", "faults/%d" % int(fault_id))["removed"]
        if fault_id in self._mine:
            self._mine.pop(fault_id).removed = True
        return removed

    def release(self, fault_id=None):
        self._kube.admin("POST", "release", {} if fault_id is None else {"id": fault_id})

    def clear(self):
        self._kube.admin("DELETE", "faults")

    def list(self):
        return self._kube.admin("GET", "faults")["faults"]

    def _hanging(self):
        return self._kube.admin("GET", "hanging")

    @property
    def hanging(self):
        """Requests blocked right now."""
        return self._hanging()["hanging"]

    @property
    def hung_total(self):
        """Requests that ever started hanging."""
        return self._hanging()["total"]

    def wait_hanging(self, n=1, timeout=10.0):
        """Poll until at least ``n`` requests hang right now (True) or ``timeout`` (False).
        (The admin API's blocking ``?wait=N`` has no timeout of its own: polling keeps
        short timeouts short.)"""
        deadline = time.monotonic() + timeout
        while True:
            if self.hanging >= n:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.02, left))


class RemoteStore:
    """``LocalKube.store`` over the Kubernetes REST API (validated, like any client)."""

    def __init__(self, kube):
        self._kube = kube

    @staticmethod
    def _path(resource, namespace, name=None):
        if resource not in _KINDS:
            raise ValueError("unknown resource %r (one of %s)" % (resource, ", ".join(_KINDS)))
        quote = urllib.parse.quote
        base = "/api/v1/namespaces/%s/%s" % (quote(namespace), resource) if namespace and _KINDS[resource][1] \
            else "/api/v1/%s" % resource
        return base + ("/" + quote(name) if name else "")

    def get(self, resource, namespace, name):
        status, _, body = self._kube.request("GET", self._path(resource, namespace, name))
        if status == 404:
            return None
        if status != 200:
            raise RemoteError("GET", self._path(resource, namespace, name), status, body)
        return body

    def list(self, resource, namespace=None, label_selector=None):
        path = self._path(resource, namespace)
        if label_selector:
            path += "?" + urllib.parse.urlencode({"labelSelector": label_selector})
        body, _ = self._kube._ok("GET", path)
        kind = _KINDS[resource][0]
        items = body.get("items") or []
        for item in items:      # a real API server leaves kind/apiVersion out of list items
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", "v1")
        return items

    def put(self, obj, resource=None):
        """Replace (PUT) ``obj`` unconditionally: its resourceVersion is dropped, so a
        stale copy still wins. Creates it (POST) if it does not exist."""
        resource = resource or _RESOURCES[obj["kind"]]
        obj = json.loads(json.dumps(obj))
        obj.setdefault("kind", _KINDS[resource][0])
        obj.setdefault("apiVersion", "v1")
        meta = obj["metadata"]
        meta.pop("resourceVersion", None)
        ns, name = meta.get("namespace"), meta["name"]
        status, _, body = self._kube.request("PUT", self._path(resource, ns, name), obj)
        if status == 404:
            status, _, body = self._kube.request("POST", self._path(resource, ns), obj)
        if status not in (200, 201):
            raise RemoteError("PUT", self._path(resource, ns, name), status, body)
        return body

    def delete(self, resource, namespace, name):
        status, _, body = self._kube.request("DELETE", self._path(resource, namespace, name))
        if status == 404:
            return False
        if status not in (200, 202):
            raise RemoteError("DELETE", self._path(resource, namespace, name), status, body)
        return True

    def clock(self):
        return self._kube.timestamp()

    def set_creation(self, resource, namespace, name, stamp):
        """Backdate an object's ``creationTimestamp`` (localkube's test hook: no API request can)."""
        return self._kube.admin("POST", "creation", {"resource": resource, "namespace": namespace, "name": name,
                                                     "creationTimestamp": stamp})


# -- running localkube as a process -----------------------------------------
def free_port():
    """A loopback TCP port nothing listens on (right now): for an unreachable cluster."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(kubeconfig, tls=False, token=None, log=None, detach=False, timeout=30, port=0, state_file=None,
          clock_offset=None, extra_args=()):
    """Start ``python -m localkube`` writing ``kubeconfig``; return (Popen, url) once it serves.

    ``port``: 0 picks a free one. ``state_file``: the server loads its objects from it
    (if it exists) and saves them there when stopped, so a server can be restarted
    (on the same ``port``) with its releases. ``clock_offset``: seconds added to the
    server's clock (negative: records written now look that much older to a server
    restarted later without the offset; a real API server cannot be told to backdate
    ``creationTimestamp``, a clock can be wrong).

    ``log``: file for the server's output (default: a temporary file). ``detach=True``
    starts it in its own session with no inherited descriptors, so it outlives the
    caller (and an Ansible task that started it): stop it later with ``stop(pid)``."""
    kubeconfig = str(kubeconfig)
    if os.path.exists(kubeconfig):
        os.unlink(kubeconfig)
    cmd = [sys.executable, "-m", "localkube", "--port", str(int(port)), "--kubeconfig", kubeconfig]
    if state_file:
        cmd += ["--state-file", str(state_file)]
    if clock_offset:
        cmd += ["--clock-offset", str(clock_offset)]
    if tls:
        cmd.append("--tls")
    if token:
        cmd += ["--token", token]
    cmd += list(extra_args)
    env = dict(os.environ)
    env["PYTHONPATH"] = SUPPORT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if log is None:
        fd, log = tempfile.mkstemp(prefix="localkube-", suffix=".log")
        os.close(fd)
    out = open(str(log), "w")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=detach, close_fds=True)
    finally:
        out.close()
    deadline = time.monotonic() + timeout
    while True:
        with open(str(log)) as handle:
            first = handle.readline()
        if first.endswith("\n") and os.path.exists(kubeconfig):
            return proc, first.strip()
        if proc.poll() is not None:
            with open(str(log)) as handle:
                raise RuntimeError("localkube exited (rc=%s): %s" % (proc.returncode, handle.read()))
        if time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError("localkube did not start in %ss" % timeout)
        time.sleep(0.02)


def _alive(pid):
    """Running (a zombie waiting for its parent to reap it is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop(proc_or_pid, timeout=10):
    """SIGTERM a localkube (a Popen or a pid), SIGKILL it if it lingers. True if it was running."""
    pid = proc_or_pid.pid if hasattr(proc_or_pid, "pid") else int(proc_or_pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hasattr(proc_or_pid, "poll"):
            if proc_or_pid.poll() is not None:
                return True
        else:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)   # our child: reap it
            except ChildProcessError:                     # not our child: is it still there?
                done = 0 if _alive(pid) else pid
            if done:
                return True
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if hasattr(proc_or_pid, "wait"):
        proc_or_pid.wait(5)
    return True
