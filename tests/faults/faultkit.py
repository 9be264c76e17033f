# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault-matrix fixtures: a small fleet of release records made stuck by real
Helm (once per worker, then copied into each test's own localkube), a ledger
that proves no record was lost or corrupted, and a tally of every fault tried.

The tally is one JSON line per matrix case, appended to ``$HELMOPS_FAULTS_TALLY``
(default: ``faults-tally.jsonl`` in the pytest session's base temp dir, shared
by the xdist workers). ``scripts/faults-table`` turns it into the table of docs/reliability.md.
"""

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helmfix
from localkube import LocalKube
from playbook_run import HELM_BIN, module_command, run_module
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import HelmGate
from ansible_collections.helmops.unstick.plugins.module_utils.remediation import runner
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.helm_cli import HelmCli
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import KubeApi
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import (
    AUTH_ARG_SPEC,
    client_retries,
    resolve,
)
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage
from ansible_collections.helmops.unstick.plugins.module_utils.ansible_module.argspec import UNSTICK_ARG_SPEC

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")
PASSWORD = "faults-Pa55w0rd-n0t-f0r-l0gs-93817"
VALUES = {"auth": {"password": PASSWORD}, "message": "hello"}
NAMESPACES = ("shop", "apps")
#: the seeded fleet: (namespace, release) -> what real Helm left behind
STUCK = {("shop", "web"): "pending-upgrade", ("shop", "my.app-v2"): "pending-upgrade",
         ("apps", "fresh"): "pending-install"}
HEALTHY = {("apps", "calm"): "deployed"}
PREFIX = "sh.helm.release.v1."


# -- the fleet --------------------------------------------------------------
@pytest.fixture(scope="session")
def seed():
    """Records and chart objects left by real Helm: two releases stuck in
    pending-upgrade (one named with dots and dashes), one in pending-install,
    one healthy. Made once per worker; tests get copies."""
    with LocalKube() as kube, _tmpdir() as tmp:
        env = helmfix.HelmEnv(kube.write_kubeconfig(Path(tmp) / "kubeconfig"))
        for ns, name in (("shop", "web"), ("shop", "my.app-v2")):
            env.install(name, ns, values=VALUES)
            helmfix.make_stuck_upgrade(env, kube, name, ns, values=VALUES)
        helmfix.make_stuck_install(env, kube, "fresh", "apps", values=VALUES)
        env.install("calm", "apps", values=VALUES)
        objs = []
        for resource in ("secrets", "configmaps"):
            for ns in NAMESPACES:
                for obj in kube.store.list(resource, ns):
                    if resource == "configmaps" and obj["metadata"]["name"] == "kube-root-ca.crt":
                        continue
                    objs.append((resource, obj))
        return objs


class _tmpdir:
    def __enter__(self):
        import tempfile
        self.path = tempfile.mkdtemp(prefix="faults-seed-")
        return self.path

    def __exit__(self, *exc):
        import shutil
        shutil.rmtree(self.path, ignore_errors=True)


def load_fleet(kube, seed, age=3600):
    """Copy the seeded objects into ``kube`` and make the stuck revisions look
    ``age`` seconds old on that server's clock. Returns {(ns, release): revision}."""
    for resource, obj in seed:
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("resourceVersion", None)
        obj["metadata"].pop("creationTimestamp", None)
        kube.store.put(obj, resource)
    revisions = {}
    for ns, name in STUCK:
        rev, status = helmfix.newest(kube, ns, name)
        assert status == STUCK[(ns, name)]
        helmfix.age_record(kube, ns, name, rev, age)
        revisions[(ns, name)] = rev
    return revisions


@pytest.fixture
def fleet(kube, seed):
    return load_fleet(kube, seed)


# -- the ledger: no record lost or corrupted ---------------------------------
def helm_records(kube, resource="secrets"):
    out = {}
    for obj in kube.store.list(resource):
        if obj["metadata"]["name"].startswith(PREFIX):
            out[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
    return out


def decodes(obj):
    release = json.loads(helmfix.decode_record(obj))
    assert isinstance(release["info"]["status"], str) and isinstance(release["version"], int)
    assert release["info"]["status"] == obj["metadata"]["labels"]["status"], obj["metadata"]["name"]
    return release


class Ledger:
    """Every Helm record before a fault; ``check`` proves none was lost,
    every one still decodes (or, if planted corrupt, is byte for byte as
    planted), and only remediated releases' records changed."""

    def __init__(self, kube, corrupt=()):
        self.kube = kube
        self.corrupt = set(corrupt)
        self.before = helm_records(kube)

    @staticmethod
    def _same(a, b):
        return a.get("data") == b.get("data") and a["metadata"].get("labels") == b["metadata"].get("labels")

    def check(self, changed_releases=None, added=0):
        after = helm_records(self.kube)
        lost = sorted(k for k in self.before if k not in after)
        assert not lost, "records lost: %s" % lost
        new = sorted(k for k in after if k not in self.before)
        assert len(new) == added, "unexplained new records: %s" % new
        for key, obj in after.items():
            if key in self.corrupt:
                assert self._same(obj, self.before[key]), "planted corrupt record %s was rewritten" % (key,)
                continue
            decodes(obj)
            release = obj["metadata"]["labels"]["name"]
            if changed_releases is not None and (key[0], release) not in changed_releases and key in self.before:
                assert self._same(obj, self.before[key]), "record %s of an untouched release changed" % (key,)
        self.after = after
        return {"records_before": len(self.before), "records_after": len(after), "records_lost": len(lost),
                "records_added": len(new)}

    def check_backups(self, paths):
        """Each backup is the record as it was before the run, byte for byte
        (data and labels), private, and decodes to the same release."""
        for path in paths:
            assert oct(os.stat(path).st_mode & 0o777) == oct(0o600), path
            assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == oct(0o700), path
            saved = json.loads(Path(path).read_text())
            key = (saved["metadata"]["namespace"], saved["metadata"]["name"])
            assert self._same(saved, self.before[key]), path
            assert helmfix.decode_record(saved) == helmfix.decode_record(self.before[key])
        return len(paths)


@pytest.fixture
def ledger(kube):
    return lambda corrupt=(): Ledger(kube, corrupt)


def unlocked(kube, releases=None):
    """True when no release's newest record is pending (Helm would accept an upgrade)."""
    for ns, name in (releases or STUCK):
        rev, status = helmfix.newest(kube, ns, name)
        if status.startswith("pending-"):
            return False
    return True


# -- the tally ---------------------------------------------------------------
def tally_path(base):
    env = os.environ.get("HELMOPS_FAULTS_TALLY")
    if env:
        return Path(env)
    base = Path(base)
    if base.name.startswith("popen-gw"):     # xdist: one file for all workers
        base = base.parent
    return base / "faults-tally.jsonl"


@pytest.fixture(scope="session")
def tally_file(tmp_path_factory):
    return tally_path(tmp_path_factory.getbasetemp())


@pytest.fixture
def tally(tally_file, request):
    """``tally(fault=..., phase=..., via=..., runs=n, counts=ledger.check(...), converged=True)``"""
    def _write(fault, phase, via, runs, counts, converged, note=""):
        line = dict(fault=fault, phase=phase, via=via, runs=runs, converged=bool(converged), note=note,
                    test=request.node.nodeid, **counts)
        with open(tally_file, "a") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
    return _write


def pytest_terminal_summary(terminalreporter, config):
    path = tally_path(config._tmp_path_factory.getbasetemp()) if hasattr(config, "_tmp_path_factory") else None
    if path and path.exists():
        terminalreporter.write_line("fault tally: %s (scripts/faults-table %s)" % (path, path))


# -- drivers -----------------------------------------------------------------
class _Module:
    def __init__(self, params):
        self.params = dict((k, None) for k in AUTH_ARG_SPEC)
        self.params.update(params)


def _run_command(cmd, environ_update=None):
    env = dict(os.environ)
    env.update(environ_update or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def inproc(kube):
    """The module's runner in this process (same client set-up, same code
    path as the module after argument parsing), with a short request timeout
    and short backoff so a fault matrix fits in minutes. Returns the result
    dict; the scan's ApiError propagates (the module turns it into fail_json)."""
    def _run(timeout=1.5, retries=3, max_backoff=0.5, kubeconfig=None, **params):
        full = dict((k, v.get("default")) for k, v in UNSTICK_ARG_SPEC.items())
        full.update(kubeconfig=kubeconfig or kube.kubeconfig, helm_binary=str(HELM_BIN), timeout="60s")
        full.update(params)
        conn = resolve(_Module(full).params)
        api = KubeApi(conn.api_client(retries=client_retries()), retries=retries, max_backoff=max_backoff,
                      timeout=timeout)
        gate = HelmGate(HelmCli(str(HELM_BIN), conn, "secret"))
        storage = ReleaseStorage(api, "secret")
        out = runner.run(full, storage, "localkube", "faults@test", helm_gate=gate)
        out["requests"] = api.requests
        return out
    return _run


@pytest.fixture
def module(tmp_path, kube):
    """helm_unstick through ansible-playbook (tests/support/playbook_run)."""
    def _run(_env=None, **args):
        full = {"kubeconfig": kube.kubeconfig, "helm_binary": str(HELM_BIN), "timeout": "60s"}
        full.update(args)
        return run_module(tmp_path, full, env=_env)
    return _run


def module_playbook(work, args):
    """playbook_run's one-task playbook, for a run we start (and kill) ourselves."""
    return module_command(work, args)


def start_group(cmd, cwd, env=None):
    """Start a command in its own process group (so it can be killed whole, like a CI job)."""
    full_env = dict(os.environ, PWD=str(cwd))
    full_env.update(env or {})
    return subprocess.Popen(cmd, cwd=str(cwd), env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_group(proc):
    """SIGKILL the run and everything under it, as when a CI job's container dies:
    ansible-playbook, its worker (which setsid()s into its own process group),
    the module and the helm it runs."""
    for sig in (signal.SIGSTOP, signal.SIGSTOP, signal.SIGKILL):    # freeze (no new children), then kill
        for pid in [proc.pid] + _descendants(proc.pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    proc.communicate(timeout=30)


class PlaybookRun:
    def __init__(self, proc, work):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.work = work

    @property
    def text(self):
        return self.stdout + self.stderr


def run_role(work, inventory_hosts, extra=None, env=None, playbook="remediate.yml", verbosity=0):
    """playbooks/remediate.yml (the stuck_releases role) over ``inventory_hosts``."""
    import yaml
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    inventory = work / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": inventory_hosts}}, sort_keys=False))
    cmd = [PLAYBOOK_BIN, "-i", str(inventory), str(ROOT / "playbooks" / playbook),
           "-e", json.dumps(dict({"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s",
                                  "stuck_releases_report_dir": str(work / "report")}, **(extra or {})))]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    full_env = dict(os.environ, PWD=str(work))
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(work), env=full_env, timeout=300)
    return PlaybookRun(proc, work)


def fleet_report(work):
    return json.loads((Path(work) / "report" / "stuck-releases.json").read_text())


def clusters(report):
    """A fleet report's clusters by inventory host."""
    return {c["host"]: c for c in report["clusters"]}


def wait_for(predicate, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


