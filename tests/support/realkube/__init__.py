# SPDX-License-Identifier: GPL-3.0-or-later
"""realkube: a real Kubernetes API server for the tests -- the upstream kube-apiserver and etcd that
scripts/bootstrap builds from their Go modules (tests/support/tools.py), run on 127.0.0.1 free ports
in a temporary directory. No controller-manager, no scheduler, no kubelet: objects are stored and
served exactly as on a cluster, but nothing reconciles them (a Deployment never becomes ready, so a
``helm upgrade --wait`` on one waits until it is killed: how tests/support/realkube/stuck.py makes
releases stuck for real).

    with RealKube() as kube:                       # about 3-6 s when built
        kube.kubeconfig                            # contexts: realkube (admin), reader, team-a
        kube.api()                                 # kubernetes CoreV1Api as admin
        kube.store.get("secrets", "shop", "sh.helm.release.v1.web.v2")   # REST reads, helmfix-compatible
        kube.metrics()                             # kube-apiserver's own /metrics, parsed
        kube.pause(); kube.resume()                # SIGSTOP / SIGCONT the kube-apiserver (a hung server)
        kube.restart_apiserver()                   # stop it and start it again on the same port and etcd

Authentication is a static token file (``TOKENS``): an admin in ``system:masters``, a read-only user
(``helmops:readers``, bound to a ClusterRole that may get/list/watch everything) and a user limited to
the namespace ``team-a`` (bound there to a ClusterRole that may do everything; the built-in ``admin``
role is aggregated by the controller-manager, which does not run here, so it is empty); client certificates signed
by ``kube.ca_file`` are accepted too (``client_cert``). Authorization is RBAC only. The service-account
signing key makes ``kubectl create token`` work (TokenRequest is served by kube-apiserver itself).

CLI: ``python -m realkube --kubeconfig out.yaml`` prints the URL and serves until SIGINT/SIGTERM.
"""
from __future__ import annotations

import email.utils
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import tools
from localkube import kubeconfig as _kubeconfig
from localkube.tls import _write_key, issue_client_cert, make_certs

__all__ = ["RealKube", "RealKubeError", "TOKENS", "free_port"]

#: token -> (user, groups) in kube-apiserver's --token-auth-file
TOKENS = {
    "admin-token": ("realkube-admin", ["system:masters"]),
    "reader-token": ("realkube-reader", ["helmops:readers"]),
    "team-a-token": ("realkube-team-a", ["helmops:team-a"]),
}
ADMIN_TOKEN, READER_TOKEN, TEAM_TOKEN = TOKENS
TEAM_NAMESPACE = "team-a"

# what the fixture's users may do, applied as admin once the server is ready
_RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "realkube-read-all"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "realkube-readers"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "realkube-read-all"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "helmops:readers"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "realkube-namespace-all"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TEAM_NAMESPACE}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": "realkube-team-a", "namespace": TEAM_NAMESPACE},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "realkube-namespace-all"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "helmops:team-a"}]},
]


class RealKubeError(Exception):
    """The real API server did not start (the message holds the end of its log)."""


def _die_with_parent():
    """In the child before exec: SIGKILL it when the test process that started it dies (a pytest worker
    killed by a timeout would otherwise leave a kube-apiserver and an etcd running)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def _death_signal():
    """``_die_with_parent`` when started from the main thread. The kernel sends the signal when the creating
    *thread* ends, so a server (re)started from a test's helper thread must not get it."""
    return _die_with_parent if threading.current_thread() is threading.main_thread() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path, lines=25):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""


class RealKube:
    """etcd + kube-apiserver (real binaries) in a temp dir; see the module docstring."""

    def __init__(self, workdir: str | None = None, ready_timeout: float = 60.0):
        self.ready_timeout = ready_timeout
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="realkube-")
        self.etcd = self.apiserver = None
        self.port = self.etcd_port = None
        self.ca_file = self.kubeconfig = None
        self.start_seconds = None
        self.store = RestStore(self)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "RealKube":
        began = time.monotonic()
        paths = make_certs(self.dir)
        self.ca_file = paths["ca.crt"]
        self._paths = paths
        sa_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(os.path.join(self.dir, "sa.key"), sa_key)
        with open(os.path.join(self.dir, "sa.pub"), "wb") as handle:
            handle.write(sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
        with open(os.path.join(self.dir, "tokens.csv"), "w") as handle:
            for token, (user, groups) in TOKENS.items():
                handle.write('%s,%s,%s,"%s"\n' % (token, user, user, ",".join(groups)))
        try:
            self._start_etcd()
            self.port = free_port()
            self._start_apiserver()
            self._wait_ready()
            for obj in _RBAC:
                self.apply(obj)
        except BaseException:
            self.stop()
            raise
        self.kubeconfig = self.write_kubeconfig(os.path.join(self.dir, "kubeconfig"))
        self.start_seconds = time.monotonic() - began
        return self

    def _start_etcd(self):
        for _attempt in range(3):       # a free port can be taken between probe and bind: try again
            self.etcd_port, peer = free_port(), free_port()
            client, peer_url = "http://127.0.0.1:%d" % self.etcd_port, "http://127.0.0.1:%d" % peer
            log = open(os.path.join(self.dir, "etcd.log"), "ab")
            self.etcd = subprocess.Popen(
                [str(tools.ETCD), "--name", "realkube", "--data-dir", os.path.join(self.dir, "etcd"),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", "realkube=" + peer_url, "--log-level", "warn",
                 # a throwaway test store: no fsync, as in Kubernetes' own integration tests
                 "--unsafe-no-fsync"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_death_signal())
            log.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.etcd.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(client + "/health", timeout=1) as resp:
                        if json.loads(resp.read()).get("health") == "true":
                            return
                except (OSError, ValueError):
                    time.sleep(0.05)
            self._kill(self.etcd)
            self.etcd = None
        raise RealKubeError("etcd did not start:\n" + _tail(os.path.join(self.dir, "etcd.log")))

    def _apiserver_argv(self):
        d = self.dir
        return [str(tools.KUBE_APISERVER),
                "--etcd-servers", "http://127.0.0.1:%d" % self.etcd_port,
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", str(self.port), "--cert-dir", os.path.join(d, "certs"),
                "--tls-cert-file", self._paths["server.crt"], "--tls-private-key-file", self._paths["server.key"],
                "--client-ca-file", self.ca_file,
                "--token-auth-file", os.path.join(d, "tokens.csv"),
                "--authorization-mode", "RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file", os.path.join(d, "sa.pub"),
                "--service-account-signing-key-file", os.path.join(d, "sa.key"),
                "--service-cluster-ip-range", "10.96.0.0/24",
                "--profiling=false", "--v", "1"]

    def _start_apiserver(self):
        log = open(os.path.join(self.dir, "kube-apiserver.log"), "ab")
        self.apiserver = subprocess.Popen(self._apiserver_argv(), stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=_death_signal())
        log.close()

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        last = None
        while time.monotonic() < deadline:
            if self.apiserver.poll() is not None:
                raise RealKubeError("kube-apiserver exited (%s):\n%s" % (
                    self.apiserver.returncode, _tail(os.path.join(self.dir, "kube-apiserver.log"))))
            try:
                code, _, body = self.request("GET", "/readyz", timeout=2)
                if code == 200:
                    return
                last = body
            except OSError as err:
                last = err
            time.sleep(0.1)
        raise RealKubeError("kube-apiserver not ready in %ss (%s):\n%s" % (
            self.ready_timeout, last, _tail(os.path.join(self.dir, "kube-apiserver.log"))))

    @staticmethod
    def _kill(proc, timeout=15):
        if proc is None or proc.poll() is not None:
            return
        try:
            os.kill(proc.pid, signal.SIGCONT)      # a paused process cannot act on SIGTERM
            proc.terminate()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_apiserver(self):
        self._kill(self.apiserver)

    def restart_apiserver(self):
        """Stop kube-apiserver and start it again on the same port and etcd; wait until ready."""
        self.stop_apiserver()
        self._start_apiserver()
        self._wait_ready()

    def pause(self):
        """SIGSTOP kube-apiserver: connections are accepted by the kernel and never answered."""
        os.kill(self.apiserver.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.apiserver.pid, signal.SIGCONT)

    def stop(self):
        self._kill(self.apiserver)
        self._kill(self.etcd)
        self.apiserver = self.etcd = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start() if self.apiserver is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return "https://127.0.0.1:%d" % self.port

    def now(self) -> float:
        return time.time()

    # --- clients ---------------------------------------------------------------------------------
    def write_kubeconfig(self, path, token: str = ADMIN_TOKEN, context: str = "realkube",
                         namespace: str | None = None, extra_contexts: dict | None = None) -> str:
        """A kubeconfig for kubectl, helm, the Python client and the module. Default contexts:
        ``realkube`` (admin), ``reader`` (read-only) and ``team-a`` (namespace-limited)."""
        if extra_contexts is None:
            extra_contexts = {"reader": {"token": READER_TOKEN},
                              "team-a": {"token": TEAM_TOKEN, "namespace": TEAM_NAMESPACE}}
        return _kubeconfig.write(path, self.url, ca_file=self.ca_file, token=token, context=context,
                                 namespace=namespace, extra_contexts=extra_contexts)

    def client_cert(self, user: str, groups=()) -> tuple:
        """(cert path, key path) of a client certificate kube-apiserver accepts as ``user`` in ``groups``."""
        return issue_client_cert(self.dir, "client-" + user.replace(":", "-"), user, groups)

    def api(self, token: str = ADMIN_TOKEN):
        from kubernetes import client
        cfg = client.Configuration()
        cfg.host = self.url
        cfg.ssl_ca_cert = self.ca_file
        cfg.retries = False
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        return client.CoreV1Api(client.ApiClient(cfg))

    def request(self, method, path, body=None, token=ADMIN_TOKEN, headers=None, timeout=30):
        """One HTTPS request; returns (status, headers, decoded JSON / text)."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None and not req.has_header("Content-type"):
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        ctx = ssl.create_default_context(cafile=self.ca_file)
        try:
            resp = urllib.request.urlopen(req, timeout=timeout, context=ctx)
        except urllib.error.HTTPError as err:
            resp = err
        with resp:
            payload = resp.read()
            ctype = resp.headers.get("Content-Type", "")
            return resp.status, resp.headers, json.loads(payload) if "json" in ctype else payload.decode(
                "utf-8", "replace")

    def apply(self, obj):
        """Create ``obj`` (admin), or replace it if it exists."""
        path = _collection_path(obj)
        code, _, body = self.request("POST", path, obj)
        if code == 409:
            name = obj["metadata"]["name"]
            code, _, current = self.request("GET", path + "/" + name)
            obj = dict(obj, metadata=dict(obj["metadata"], resourceVersion=current["metadata"]["resourceVersion"]))
            code, _, body = self.request("PUT", path + "/" + name, obj)
        if code >= 300:
            raise RealKubeError("applying %s %s: %s %s" % (obj["kind"], obj["metadata"]["name"], code, body))
        return body

    def create_namespace(self, name):
        return self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def metrics(self) -> dict:
        """kube-apiserver's /metrics as {(name, ((label, value), ...)): float}."""
        from prometheus_client.parser import text_string_to_metric_families
        code, _, text = self.request("GET", "/metrics")
        assert code == 200, (code, text)
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out


def _collection_path(obj):
    group_version = obj["apiVersion"]
    base = "/api/v1" if group_version == "v1" else "/apis/" + group_version
    plural = {"Namespace": "namespaces", "Secret": "secrets", "ConfigMap": "configmaps",
              "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
              "Role": "roles", "RoleBinding": "rolebindings", "ServiceAccount": "serviceaccounts",
              "Deployment": "deployments"}[obj["kind"]]
    ns = obj["metadata"].get("namespace")
    return "%s%s/%s" % (base, "/namespaces/" + ns if ns else "", plural)


class RestStore:
    """The part of localkube's ``Store`` the tests and helmfix read (``get``, ``list``, ``put``, ``clock``),
    over the real server's REST API as admin: so a test asserts on what the cluster really holds."""

    def __init__(self, kube: RealKube):
        self.kube = kube

    @staticmethod
    def _path(resource, namespace, name=None):
        base = "/api/v1/namespaces" if resource == "namespaces" else "/api/v1%s/%s" % (
            "/namespaces/" + namespace if namespace else "", resource)
        return base + ("/" + name if name else "")

    def get(self, resource, namespace, name):
        code, _, body = self.kube.request("GET", self._path(resource, namespace, name))
        if code == 404:
            return None
        assert code == 200, (code, body)
        return body

    def list(self, resource, namespace=None, label_selector=None):
        path = self._path(resource, namespace)
        query = "?limit=500" + ("&labelSelector=" + urllib.request.quote(label_selector) if label_selector else "")
        items, token = [], None
        while True:
            code, _, body = self.kube.request("GET", path + query + ("&continue=" + token if token else ""))
            assert code == 200, (code, body)
            items += body["items"]
            token = body["metadata"].get("continue")
            if not token:
                return items

    def put(self, obj, resource):
        """Replace (PUT, on the object's resourceVersion) or create it."""
        meta = obj["metadata"]
        code, _, body = self.kube.request("PUT", self._path(resource, meta.get("namespace"), meta["name"]), obj)
        if code == 404:
            code, _, body = self.kube.request("POST", self._path(resource, meta.get("namespace")), obj)
        assert code < 300, (code, body)
        return body

    def clock(self) -> str:
        _, headers, _ = self.kube.request("GET", "/version")
        stamp = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
