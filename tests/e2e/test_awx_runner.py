# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/remediate.yml and report.yml run the way AWX / AAP runs a job: ansible-runner
over a private data dir (project/, inventory/ from an inventory script, env/extravars from
the survey answers of awx/settings/config.yml, env/envvars with the credential), against a local
cluster with TLS and bearer tokens. The credential is only what AWX's built-in "OpenShift
or Kubernetes API Bearer Token" injects (K8S_AUTH_HOST, K8S_AUTH_API_KEY,
K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT as a file): no kubeconfig anywhere. Releases
are really stuck by real Helm; the job's status, rc, stdout and job events (set_stats
artifacts) are checked the way AWX reads them."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import jinja2
import pytest
import yaml

import awx_config
import helmfix
from localkube import LocalKube
from localkube import kubeconfig as kubeconfig_writer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(sys.executable).parent / "ansible-runner"
HELM_DIR = ROOT / "tests" / "support" / "bin"
ADMIN = "admin-t0ken-for-fixtures"
AWX_TOKEN = "awx-job-bearer-t0ken-do-not-leak"
PASSWORD = "awx-Pa55w0rd-do-not-leak"
VALUES = {"auth": {"password": PASSWORD}}
REPORT = "Helm stuck releases — report"
REMEDIATE = "Helm stuck releases — remediate"


# -- an AWX-like job ------------------------------------------------------------
class Job:
    """One ansible-runner run, read back the way AWX reads it."""

    def __init__(self, pdd, ident, proc):
        self.pdd, self.proc = pdd, proc
        self.artifacts = pdd / "artifacts" / ident
        self.status = (self.artifacts / "status").read_text().strip()
        self.rc = int((self.artifacts / "rc").read_text().strip())
        self.stdout = (self.artifacts / "stdout").read_text()
        self.events = [json.loads(p.read_text()) for p in (self.artifacts / "job_events").glob("*.json")]
        self.events.sort(key=lambda e: e["counter"])

    @property
    def one_line(self):
        return " ".join(self.stdout.split())

    def failed_events(self):
        """Events AWX marks failed: runner_on_failed / unreachable not ignored (AWX's JobEvent.failed)."""
        return [e for e in self.events if e["event"] in ("runner_on_failed", "runner_on_unreachable")
                and not e["event_data"].get("ignore_errors")]

    def ignored_events(self):
        return [e for e in self.events if e["event"] == "runner_on_failed" and e["event_data"].get("ignore_errors")]

    def artifact_data(self):
        """What AWX shows as the job's artifacts: set_stats data in the playbook_on_stats event."""
        [stats] = [e for e in self.events if e["event"] == "playbook_on_stats"]
        return stats["event_data"].get("artifact_data", {})

    def stats(self):
        [stats] = [e for e in self.events if e["event"] == "playbook_on_stats"]
        return stats["event_data"]


def bearer_token_credential(pdd, host, token, ca_pem):
    """AWX's injector for the built-in "OpenShift or Kubernetes API Bearer Token" credential
    (awx/main/models/credential/injectors.py kubernetes_bearer_token): env vars only, the CA
    written to a file under the private data dir's env/."""
    env = {"K8S_AUTH_HOST": host, "K8S_AUTH_API_KEY": token}
    if ca_pem:
        fd, path = tempfile.mkstemp(dir=str(pdd / "env"))
        with os.fdopen(fd, "w") as handle:
            handle.write(ca_pem)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        env.update(K8S_AUTH_VERIFY_SSL="True", K8S_AUTH_SSL_CA_CERT=path)
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


def inventory_script(pdd, hosts, data=None):
    """AWX hands ansible-runner the job's inventory as an executable script printing JSON."""
    data = data or {"all": {"children": ["helm_clusters"]}, "helm_clusters": {"hosts": list(hosts)},
                    "_meta": {"hostvars": hosts}}
    script = pdd / "inventory" / "hosts"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!%s\nimport json, sys\nprint(json.dumps(%r) if '--list' in sys.argv else '{}')\n"
                      % (sys.executable, data))
    script.chmod(0o700)


def run_job(tmp_path, playbook, template, answers, credential_env, hosts, ident="1", mode="token", inventory=None):
    pdd = tmp_path / ("job-" + ident)
    (pdd / "env").mkdir(parents=True)
    shutil.copytree(ROOT / "playbooks", pdd / "project" / "playbooks")  # the project checkout
    inventory_script(pdd, hosts, inventory)
    cred = credential_env(pdd)
    cred_env, cred_extra = cred if isinstance(cred, tuple) else (cred, {})
    extravars = awx_config.job_extra_vars(template, answers, mode=mode)
    extravars.update(cred_extra)  # a credential's extra_vars injector: above everything
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    envvars = dict(cred_env, PATH="%s:%s" % (HELM_DIR, os.environ["PATH"]))  # helm in the EE's PATH
    (pdd / "env" / "envvars").write_text(json.dumps(envvars))
    (pdd / "env" / "settings").write_text(json.dumps({"idle_timeout": 0, "job_timeout": 240}))
    home = tmp_path / "home"  # no ~/.kube/config, no KUBECONFIG: the credential is all there is
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "K8S_AUTH_"))}
    env.update(HOME=str(home), ANSIBLE_HOST_KEY_CHECKING="False")
    proc = subprocess.run([str(RUNNER), "run", str(pdd), "-p", playbook, "--ident", ident],
                          capture_output=True, text=True, env=env, timeout=280, cwd=str(pdd))
    assert (pdd / "artifacts" / ident / "status").exists(), proc.stdout + proc.stderr
    return Job(pdd, ident, proc)


def stuck_upgrade(env, kube, name, ns):
    env.install(name, ns, values=VALUES)
    rev = helmfix.make_stuck_upgrade(env, kube, name, ns, values=VALUES)
    helmfix.age_record(kube, ns, name, rev, 3600)
    assert helmfix.LOCKED in helmfix.assert_locked(env, name, ns)
    return rev


def stuck_install(env, kube, name, ns):
    rev = helmfix.make_stuck_install(env, kube, name, ns, values=VALUES)
    helmfix.age_record(kube, ns, name, rev, 3600)
    return rev


def dead_host():
    """host vars of a cluster whose API refuses connections (a bound port, never listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # it gives up at its cluster_timeout, after three refused attempts (else 7.5 s of back-offs per run)
    return sock, {"ansible_connection": "local", "stuck_releases_host": "https://127.0.0.1:%d" % sock.getsockname()[1],
                  "stuck_releases_cluster_timeout": "3s"}


def assert_no_leak(job):
    """Neither the token nor release values in the job's output, events or artifacts. (ansible-runner's
    own `command` file records the environment it was given; AWX keeps its own, redacted, job_env.)"""
    for path in job.artifacts.rglob("*"):
        if path.is_file() and path.name != "command":
            text = path.read_text(errors="replace")
            assert AWX_TOKEN not in text and PASSWORD not in text, path


CLUSTER = {"ansible_connection": "local"}  # awx/configure.yml's token inventory host: no connection vars


# -- tests ----------------------------------------------------------------------
def test_scheduled_remediation_with_bearer_token_credential(tmp_path):
    with LocalKube(tls=True, tokens={ADMIN: None, AWX_TOKEN: None}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin.kubeconfig", token=ADMIN))
        web_rev = stuck_upgrade(env, kube, "web", "shop")
        stuck_install(env, kube, "fresh", "apps")
        ca_pem = Path(kube.ca_file).read_text()
        sock, dead = dead_host()

        # the schedule's launch: every survey default (remediate yes, rollback, all namespaces)
        job = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE, {},
                      lambda pdd: bearer_token_credential(pdd, kube.url, AWX_TOKEN, ca_pem),
                      {"cluster": CLUSTER, "dead": dead})
        sock.close()

        # the job succeeds (fail_on_stuck "no"): the dead cluster is a warning and an ignored failure
        assert (job.status, job.rc) == ("successful", 0), job.stdout
        assert job.failed_events() == [], [e["event_data"].get("task") for e in job.failed_events()]
        assert [(e["event_data"]["host"], e["event_data"]["task"]) for e in job.ignored_events()] == [
            ("dead", "Find stuck Helm releases (and remediate them if stuck_releases_remediate)")]
        assert "[WARNING]: cluster dead could not be checked" in job.one_line, job.stdout
        stats = job.stats()
        assert stats["failures"] == {} and stats["ignored"] == {"dead": 1} and stats["changed"].get("cluster", 0) >= 1
        # the templates back records up in the cluster (stuck_releases_backup: [cluster]), values never leave it
        backups = [o for o in kube.store.list("secrets", "shop") if o.get("type") == "helmops.unstick/backup"]
        assert [o["metadata"]["labels"]["helmops.unstick/backup-of"] for o in backups][:1] == ["web"], backups

        # AWX job artifacts: the fleet summary from set_stats
        summary = job.artifact_data()["helm_stuck_releases"]
        assert {k: summary[k] for k in ("clusters", "clusters_ok", "failed_clusters", "stuck", "remediated",
                                        "remaining", "errors")} == {
            "clusters": 2, "clusters_ok": 1, "failed_clusters": ["dead"], "stuck": 2, "remediated": 2,
            "remaining": 0, "errors": 0}
        assert set(summary["report_files"]) == {"json", "markdown", "html", "prom"}

        # really fixed: real Helm upgrades both releases again
        env.upgrade("web", "shop", values=VALUES)
        assert env.history("web", "shop")[-1]["status"] == "deployed"
        assert env.history("web", "shop")[-1]["revision"] == web_rev + 2  # rollback, then this upgrade
        env.upgrade("fresh", "apps", values=VALUES, install=True)
        assert env.history("fresh", "apps")[-1]["status"] == "deployed"
        assert_no_leak(job)


#: the role's one task per cluster, which fails the cluster with stuck_releases_fail_on_stuck
CHECK_TASK = "Find stuck Helm releases (and remediate them if stuck_releases_remediate)"


def test_fail_on_stuck_makes_the_job_fail_when_a_cluster_cannot_be_checked(tmp_path):
    with LocalKube(tls=True, tokens={ADMIN: None, AWX_TOKEN: None}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin.kubeconfig", token=ADMIN))
        stuck_upgrade(env, kube, "api", "payments")
        ca_pem = Path(kube.ca_file).read_text()
        sock, dead = dead_host()
        creds = lambda pdd: bearer_token_credential(pdd, kube.url, AWX_TOKEN, ca_pem)  # noqa: E731
        job = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE,
                      {"stuck_releases_fail_on_stuck": "yes", "stuck_releases_strategy": "unlock",
                       "stuck_releases_min_age": "30m"}, creds, {"cluster": CLUSTER, "dead": dead})
        sock.close()
        assert (job.status, job.rc) == ("failed", 2), job.stdout
        assert [(e["event_data"]["host"], e["event_data"]["task"]) for e in job.failed_events()] == [
            ("dead", CHECK_TASK)]
        summary = job.artifact_data()["helm_stuck_releases"]  # published though the gate failed a cluster
        assert summary["failed_clusters"] == ["dead"] and summary["remediated"] == 1
        assert env.history("api", "payments")[-1]["status"] == "failed"  # unlocked by the live cluster's run

        # report template, something stuck that a report cannot fix, fail_on_stuck yes: failed
        stuck_upgrade(env, kube, "web", "shop")
        report = run_job(tmp_path, "playbooks/report.yml", REPORT, {"stuck_releases_fail_on_stuck": "yes"},
                         creds, {"cluster": CLUSTER}, ident="2")
        assert (report.status, report.rc) == ("failed", 2), report.stdout
        assert [(e["event_data"]["host"], e["event_data"]["task"]) for e in report.failed_events()] == [
            ("cluster", CHECK_TASK)]
        assert "cluster cluster: 1 release(s) still stuck" in report.stdout, report.stdout
        assert report.artifact_data()["helm_stuck_releases"]["remaining"] == 1
        # the same, fail_on_stuck no (the default): successful, the stuck release in the artifacts
        quiet = run_job(tmp_path, "playbooks/report.yml", REPORT, {}, creds, {"cluster": CLUSTER}, ident="3")
        assert (quiet.status, quiet.rc, quiet.failed_events()) == ("successful", 0, []), quiet.stdout
        assert quiet.artifact_data()["helm_stuck_releases"]["remaining"] == 1
        assert helmfix.LOCKED in helmfix.assert_locked(env, "web", "shop")
        for j in (job, report, quiet):
            assert_no_leak(j)


def test_token_that_may_not_read_one_namespace(tmp_path):
    limited = {"user": "system:serviceaccount:helm-ops:unstick", "namespaces_deny": ["vault"]}
    with LocalKube(tls=True, tokens={ADMIN: None, AWX_TOKEN: limited}) as kube:
        env = helmfix.HelmEnv(kube.write_kubeconfig(tmp_path / "admin.kubeconfig", token=ADMIN))
        stuck_upgrade(env, kube, "web", "shop")
        stuck_upgrade(env, kube, "keys", "vault")
        ca_pem = Path(kube.ca_file).read_text()
        creds = lambda pdd: bearer_token_credential(pdd, kube.url, AWX_TOKEN, ca_pem)  # noqa: E731
        # a namespace-scoped token cannot list cluster-wide: the survey names the namespaces
        answers = {"stuck_releases_namespaces": "shop, vault"}
        job = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE, answers, creds, {"cluster": CLUSTER})
        assert (job.status, job.rc, job.failed_events()) == ("successful", 0, []), job.stdout
        assert "vault" in job.one_line and "forbidden" in job.one_line.lower()
        summary = job.artifact_data()["helm_stuck_releases"]
        assert (summary["remediated"], summary["errors"], summary["failed_clusters"]) == (1, 1, []), summary
        env.upgrade("web", "shop", values=VALUES)  # shop really fixed
        assert env.history("web", "shop")[-1]["status"] == "deployed"
        assert helmfix.LOCKED in helmfix.assert_locked(env, "keys", "vault")  # vault untouched

        # with fail_on_stuck yes the forbidden namespace fails the job
        gate = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE,
                       dict(answers, stuck_releases_fail_on_stuck="yes"), creds, {"cluster": CLUSTER}, ident="2")
        assert (gate.status, gate.rc) == ("failed", 2), gate.stdout
        assert [e["event_data"]["host"] for e in gate.failed_events()] == ["cluster"]
        assert "vault" in json.dumps(gate.failed_events()[0]["event_data"]["res"]["msg"])
        assert_no_leak(job)
        assert_no_leak(gate)


# -- the fleet setup: kubeconfig credential + inventory from the kubeconfig plugin -----------
def fleet_kubeconfig(clusters):
    """One kubeconfig with a context per (kube, context, token)."""
    merged = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [],
              "contexts": [], "current-context": clusters[0][1]}
    for kube, context, token in clusters:
        one = kubeconfig_writer.build(kube.url, ca_file=kube.ca_file, token=token, context=context)
        one["clusters"][0]["name"] = one["contexts"][0]["context"]["cluster"] = context + "-cluster"
        for key in ("clusters", "users", "contexts"):
            merged[key] += one[key]
    return yaml.safe_dump(merged)


def kubeconfig_credential(workdir, content):
    """AWX's injection of the custom "Kubeconfig (helmops.unstick)" credential, from its injectors in
    awx/settings/config.yml: the file written under env/, then env and extra_vars templated with it."""
    injectors = awx_config.config()["helmops_awx_kubeconfig_credential_type"]["injectors"]
    fd, path = tempfile.mkstemp(dir=str(workdir))
    with os.fdopen(fd, "w") as handle:
        handle.write(jinja2.Template(injectors["file"]["template.kubeconfig"]).render(kubeconfig=content))
    tower = {"filename": {"kubeconfig": path}}
    render = lambda section: {k: jinja2.Template(v).render(tower=tower)  # noqa: E731
                              for k, v in injectors.get(section, {}).items()}
    return render("env"), render("extra_vars")


def unwrap(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def inventory_update(tmp_path, content):
    """AWX's inventory update of the "kubeconfig contexts" source: ansible-inventory over the project's
    awx/inventory/clusters.kubeconfig.yml with the credential injected, in a private dir deleted after."""
    update = tmp_path / "inventory-update"
    (update / "env").mkdir(parents=True)
    source = update / "project" / "awx" / "inventory" / "clusters.kubeconfig.yml"
    source.parent.mkdir(parents=True)
    shutil.copy(ROOT / awx_config.config()["helmops_awx_kubeconfig_inventory_source_path"], source)
    env_vars, _ = kubeconfig_credential(update / "env", content)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "K8S_AUTH_"))}
    env.update(env_vars, HOME=str(tmp_path / "home"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=str(update))
    assert proc.returncode == 0, proc.stderr
    data = unwrap(json.loads(proc.stdout))
    shutil.rmtree(update)  # AWX removes the update's private data dir, credential file included
    return data


def test_fleet_from_kubeconfig_credential_and_kubeconfig_inventory_source(tmp_path):
    (tmp_path / "home").mkdir()
    with LocalKube(tls=True, tokens={ADMIN: None, AWX_TOKEN: None}) as prod, \
            LocalKube(tls=True, tokens={ADMIN: None, AWX_TOKEN: None}) as staging:
        env_prod = helmfix.HelmEnv(prod.write_kubeconfig(tmp_path / "prod.admin", token=ADMIN))
        env_staging = helmfix.HelmEnv(staging.write_kubeconfig(tmp_path / "staging.admin", token=ADMIN))
        stuck_upgrade(env_prod, prod, "web", "shop")
        stuck_install(env_staging, staging, "fresh", "apps")
        content = fleet_kubeconfig([(prod, "prod-eu-1", AWX_TOKEN), (staging, "staging-eu-1", AWX_TOKEN)])

        inventory = inventory_update(tmp_path, content)
        hostvars = inventory["_meta"]["hostvars"]
        assert sorted(inventory["helm_clusters"]["hosts"]) == ["prod-eu-1", "staging-eu-1"]
        assert inventory["prod"]["hosts"] == ["prod-eu-1"] and inventory["staging"]["hosts"] == ["staging-eu-1"]
        assert "ansible_python_interpreter" not in hostvars["prod-eu-1"]  # controller_python: false
        stale = hostvars["prod-eu-1"]["stuck_releases_kubeconfig"]
        assert not Path(stale).exists()  # the inventory update's copy is gone by job time

        job = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE, {},
                      lambda pdd: kubeconfig_credential(pdd / "env", content), {}, mode="kubeconfig",
                      inventory=inventory)
        assert (job.status, job.rc, job.failed_events(), job.ignored_events()) == ("successful", 0, [], []), job.stdout
        summary = job.artifact_data()["helm_stuck_releases"]
        assert (summary["clusters_ok"], summary["remediated"], summary["remaining"]) == (2, 2, 0), summary
        env_prod.upgrade("web", "shop", values=VALUES)
        assert env_prod.history("web", "shop")[-1]["status"] == "deployed"
        env_staging.upgrade("fresh", "apps", values=VALUES, install=True)
        assert env_staging.history("fresh", "apps")[-1]["status"] == "deployed"
        assert_no_leak(job)

        # the credential's extra variable is what makes this work: without it, the stale path is used
        stuck_upgrade(env_prod, prod, "api", "payments")
        without = run_job(tmp_path, "playbooks/remediate.yml", REMEDIATE, {},
                          lambda pdd: (kubeconfig_credential(pdd / "env", content)[0], {}), {}, ident="2",
                          mode="kubeconfig", inventory=inventory)
        assert (without.status, without.rc) == ("successful", 0), without.stdout
        summary = without.artifact_data()["helm_stuck_releases"]
        assert sorted(summary["failed_clusters"]) == ["prod-eu-1", "staging-eu-1"] and summary["remediated"] == 0
        assert "is missing or not readable" in without.one_line
