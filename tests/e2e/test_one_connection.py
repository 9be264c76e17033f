# SPDX-License-Identifier: GPL-3.0-or-later
"""One connection for the scan and the helm step (issue 13), with real Helm stuck releases:
whatever the controller's environment says and however the cluster is named, the rollback
lands on the cluster that was scanned, and only "remediated" when that cluster shows it."""

import base64
import json
import os
import subprocess
import textwrap

import pytest
import yaml

import helmfix
from connect_proxy import ConnectProxy
from localkube import LocalKube
from playbook_run import HELM_BIN, run_module

pytestmark = pytest.mark.slow
TOKEN = "one-conn-t0ken"


def stuck_release(kube, kubeconfig, name="cart", ns="shop"):
    env = helmfix.HelmEnv(kubeconfig)
    env.install(name, ns)
    env.upgrade(name, ns)
    rev = helmfix.make_stuck_upgrade(env, kube, name, ns)
    helmfix.age_record(kube, ns, name, rev, 3600)
    return env, rev


def records(kube, ns="shop"):
    """Every release record of a namespace, byte for byte (data and labels)."""
    return sorted(json.dumps(o, sort_keys=True) for o in kube.store.list("secrets", ns))


def rolled_back(kube, name, rev, ns="shop"):
    assert helmfix.newest(kube, ns, name) == (rev + 1, "deployed")
    record = json.loads(helmfix.decode_record(kube.store.get("secrets", ns, helmfix.record_name(name, rev + 1))))
    assert record["info"]["description"] == "Rollback to %d" % (rev - 1)


@pytest.fixture
def tls_kube(tmp_path):
    with LocalKube(tls=True, tokens={TOKEN: None}) as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "tls-kubeconfig"))
        yield server


@pytest.fixture
def other_kube(tmp_path):
    with LocalKube() as server:
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "other-kubeconfig", context="eu-prod"))
        yield server


def args(**extra):
    out = {"helm_binary": str(HELM_BIN), "timeout": "60s", "strategy": "rollback"}
    out.update(extra)
    return out


def two_context_kubeconfig(path, auth, eu_prod):
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "auth",
           "clusters": [{"name": "auth", "cluster": {"server": auth.url}},
                        {"name": "eu-prod", "cluster": {"server": eu_prod.url}}],
           "users": [{"name": "u", "user": {"token": "x"}}],
           "contexts": [{"name": "auth", "context": {"cluster": "auth", "user": "u"}},
                        {"name": "eu-prod", "context": {"cluster": "eu-prod", "user": "u"}}]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_controller_environment_pointing_elsewhere_changes_nothing(tmp_path, kube, other_kube):
    _, rev = stuck_release(kube, kube.kubeconfig)
    stuck_release(other_kube, other_kube.kubeconfig)
    untouched = records(other_kube)
    both = two_context_kubeconfig(tmp_path / "both.yaml", kube, other_kube)
    env = {"HELM_KUBECONTEXT": "eu-prod", "HELM_KUBEAPISERVER": other_kube.url, "HELM_KUBETOKEN": "x",
           "HELM_NAMESPACE": "shop", "KUBECONFIG": other_kube.kubeconfig}
    run = run_module(tmp_path, args(kubeconfig=both), env=env)
    assert run.rc == 0, run.text
    assert run["cluster"] == "auth" and run["server"] == kube.url
    assert [(e["name"], e["state"]) for e in run["releases"]] == [("cart", "remediated")]
    rolled_back(kube, "cart", rev)
    assert records(other_kube) == untouched                 # the other cluster, byte for byte


def test_context_in_the_second_of_two_kubeconfig_files(tmp_path, kube, tls_kube):
    stuck_release(kube, kube.kubeconfig)
    untouched = records(kube)
    ca = base64.b64encode(open(tls_kube.ca_file, "rb").read()).decode()
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "second",
        "clusters": [{"name": "second-cluster", "cluster": {"server": tls_kube.url,
                                                            "certificate-authority-data": ca}}],
        "users": [{"name": "second-user", "user": {"token": TOKEN}}],
        "contexts": [{"name": "second", "context": {"cluster": "second-cluster", "user": "second-user"}}]}))
    _, rev = stuck_release(tls_kube, str(second))
    run = run_module(tmp_path, args(kubeconfig=os.pathsep.join([kube.kubeconfig, str(second)]), context="second"))
    assert run.rc == 0, run.text
    rolled_back(tls_kube, "cart", rev)
    assert records(kube) == untouched


def test_exec_credential_plugin(tmp_path, tls_kube):
    _, rev = stuck_release(tls_kube, tls_kube.kubeconfig)
    plugin = tmp_path / "get-token"
    calls = tmp_path / "calls"
    plugin.write_text(textwrap.dedent("""\
        #!/bin/sh
        echo called >> %s
        echo '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": "%s"}}'
        """ % (calls, TOKEN)))
    plugin.chmod(0o755)
    doc = yaml.safe_load(open(tls_kube.kubeconfig))
    doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                        "interactiveMode": "Never"}}
    path = tmp_path / "exec.yaml"
    path.write_text(yaml.safe_dump(doc))
    run = run_module(tmp_path, args(kubeconfig=str(path)))
    assert run.rc == 0, run.text
    rolled_back(tls_kube, "cart", rev)
    assert len(calls.read_text().split()) >= 2          # the scan and helm each ran the plugin


def test_in_memory_kubeconfig_and_its_cluster_name(tmp_path, tls_kube):
    _, rev = stuck_release(tls_kube, tls_kube.kubeconfig)
    doc = yaml.safe_load(open(tls_kube.kubeconfig))
    ca = base64.b64encode(open(tls_kube.ca_file, "rb").read()).decode()
    doc["clusters"][0]["cluster"] = {"server": tls_kube.url, "certificate-authority-data": ca}
    run = run_module(tmp_path, args(kubeconfig=doc))
    assert run.rc == 0, run.text
    assert run["cluster"] == doc["current-context"]           # not VALUE_SPECIFIED_IN_NO_LOG_PARAMETER
    assert run["releases"][0]["cluster"] == doc["current-context"]
    rolled_back(tls_kube, "cart", rev)


def test_client_certificate_auth(tmp_path):
    """client_cert/client_key: the scan's client and helm both present the certificate (localkube verifies
    it against its CA, like kube-apiserver's --client-ca-file); without it the server refuses."""
    with LocalKube(tls=True, tokens={TOKEN: None}, client_certs={"helm-unstick": None}) as kube:
        admin = kube.write_kubeconfig(tmp_path / "admin", token=TOKEN)
        _, rev = stuck_release(kube, admin)
        bare = kube.write_kubeconfig(tmp_path / "no-credentials", token="")
        cert, key = kube.client_cert("helm-unstick", ["ops"])
        denied = run_module(tmp_path, args(kubeconfig=bare))
        # the certificate matters: without it the request is system:anonymous, whom RBAC refuses (403)
        assert denied["failed"] and '"system:anonymous"' in denied["msg"], denied.text
        kube.requests.clear()
        run = run_module(tmp_path, args(kubeconfig=bare, client_cert=cert, client_key=key))
        assert run.rc == 0, run.text
        rolled_back(kube, "cart", rev)
        agents = {r["user_agent"].split("/")[0] for r in kube.requests if r["code"] < 400}
        assert "Helm" in agents and len(agents) >= 2, agents                      # helm and the scan got in


def test_k8s_auth_environment_only(tmp_path, tls_kube):
    _, rev = stuck_release(tls_kube, tls_kube.kubeconfig)
    env = {"HOME": str(tmp_path / "home"), "KUBECONFIG": "", "K8S_AUTH_HOST": tls_kube.url,
           "K8S_AUTH_API_KEY": TOKEN, "K8S_AUTH_SSL_CA_CERT": tls_kube.ca_file, "K8S_AUTH_VERIFY_SSL": "true"}
    run = run_module(tmp_path, args(), env=env)
    assert run.rc == 0, run.text
    rolled_back(tls_kube, "cart", rev)


@pytest.mark.parametrize("credentials", [None, "ops:pr0xy pass"], ids=["open-proxy", "authenticating-proxy"])
def test_proxy_carries_the_scan_and_helm(tmp_path, tls_kube, credentials):
    _, rev = stuck_release(tls_kube, tls_kube.kubeconfig)
    extra = {"proxy_headers": {"proxy_basic_auth": credentials}} if credentials else {}
    with ConnectProxy(credentials) as proxy:
        run = run_module(tmp_path, args(kubeconfig=tls_kube.kubeconfig, proxy=proxy.url, **extra))
        tunnels = list(zip(proxy.log, proxy.headers))
    assert run.rc == 0, run.text
    rolled_back(tls_kube, "cart", rev)
    target = tls_kube.url.split("://")[1]
    # every tunnel went to the scanned cluster; the module's Python client and helm (Go's client, its own
    # process) both opened some; with credentials, every CONNECT carried them (a 407 opens no tunnel)
    assert tunnels and {t for t, _ in tunnels} == {target}, tunnels
    agents = [h.get("user-agent", "") for _, h in tunnels]
    assert any(a.startswith("Go-http-client/") for a in agents), agents             # helm
    assert any(not a.startswith("Go-http-client/") for a in agents), agents         # the scan
    if credentials:
        assert "pr0xy pass" not in run.text                                          # masked everywhere
        assert len(proxy.headers) == len(tunnels)                                    # never refused


def test_a_connection_helm_cannot_take_refuses_helm_actions_before_writing(tmp_path, tls_kube):
    """proxy_headers.user_agent reaches the scan but not helm: the rollback is refused before any write or
    backup, naming the option; a release that needs no helm (pending-install: unlock) is still fixed."""
    env, rev = stuck_release(tls_kube, tls_kube.kubeconfig)
    first = helmfix.make_stuck_install(env, tls_kube, "fresh", "shop")
    helmfix.age_record(tls_kube, "shop", "fresh", first, 3600)
    before = {o["metadata"]["name"]: o for o in tls_kube.store.list("secrets", "shop")}
    with ConnectProxy() as proxy:
        run = run_module(tmp_path, args(kubeconfig=tls_kube.kubeconfig, proxy=proxy.url, pending_install="unlock",
                                        proxy_headers={"user_agent": "corp-agent/1"}, fail_on_error=False,
                                        backup_dir=str(tmp_path / "backups")))
        agents = {h.get("user-agent") for h in proxy.headers}
    assert run.rc == 0, run.text
    assert agents == {"corp-agent/1"}                                   # only the scan: helm never ran
    [err] = run["errors"]
    assert err["name"] == "cart" and err["action"] == "rollback", err
    assert ("rollback needs the helm CLI: the connection cannot be given to helm: proxy_headers.user_agent "
            "cannot be given to helm; nothing written") in err["reason"]
    assert [(e["name"], e["action"]) for e in run["remediated"]] == [("fresh", "unlock")]
    after = {o["metadata"]["name"]: o for o in tls_kube.store.list("secrets", "shop")}
    cart = helmfix.record_name("cart", rev)
    assert after[cart] == before[cart] and helmfix.newest(tls_kube, "shop", "cart") == (rev, "pending-upgrade")
    backups = sorted(p.name.split(".v")[0] for p in (tmp_path / "backups").rglob("*.json"))
    assert backups == ["fresh"]                                          # none of cart


def fake_helm(tmp_path, name, body):
    """A helm that answers 'version' like helm 4 and then fails or does nothing on purpose
    (a real binary cannot be made to)."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\nif [ \"$1\" = version ]; then echo v4.2.4; exit 0; fi\n%s\n" % body)
    path.chmod(0o755)
    return str(path)


def test_helm_failing_after_the_claim_then_a_working_helm_resumes(tmp_path, kube):
    _, rev = stuck_release(kube, kube.kubeconfig)
    failing = fake_helm(tmp_path, "helm-fails", "echo 'Error: the server is currently unable' >&2; exit 1")
    first = run_module(tmp_path, args(kubeconfig=kube.kubeconfig, helm_binary=failing))
    assert first["failed"]
    [entry] = first["releases"]
    assert entry["state"] == "failed" and "the next run resumes it" in entry["reason"]
    assert helmfix.newest(kube, "shop", "cart") == (rev, "failed")        # claimed, unlocked
    report = run_module(tmp_path, {"kubeconfig": kube.kubeconfig, "remediate": False})
    assert [(e["name"], e["state"]) for e in report["releases"]] == [("cart", "unfinished")]
    second = run_module(tmp_path, args(kubeconfig=kube.kubeconfig))
    assert second.rc == 0, second.text
    [done] = second["releases"]
    assert (done["state"], done["action"]) == ("remediated", "resume")
    assert "resumed the rollback" in done["message"]
    rolled_back(kube, "cart", rev)
    assert run_module(tmp_path, args(kubeconfig=kube.kubeconfig))["releases"] == []


def test_helm_that_exits_0_without_doing_anything_is_an_error(tmp_path, kube):
    _, rev = stuck_release(kube, kube.kubeconfig)
    noop = fake_helm(tmp_path, "helm-noop", "echo 'Rollback was a success! Happy Helming!'; exit 0")
    run = run_module(tmp_path, args(kubeconfig=kube.kubeconfig, helm_binary=noop))
    assert run["failed"]
    [entry] = run["releases"]
    assert entry["state"] == "failed" and run["remediated"] == []
    assert "reported success" in entry["reason"] and "revision %d failed" % rev in entry["reason"]


def test_two_runs_at_once_roll_each_release_back_exactly_once(tmp_path, kube):
    env = helmfix.HelmEnv(kube.kubeconfig)
    revs = {}
    for name in ("a", "b", "c"):
        env.install(name, "shop")
        env.upgrade(name, "shop")
        revs[name] = helmfix.make_stuck_upgrade(env, kube, name, "shop")
        helmfix.age_record(kube, "shop", name, revs[name], 3600)
    from playbook_run import module_command
    procs = []
    for i in range(2):
        cmd = module_command(tmp_path / ("p%d" % i), args(kubeconfig=kube.kubeconfig, fail_on_error=False),
                             result=tmp_path / ("p%d.json" % i))
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path)))
    for proc in procs:
        proc.communicate(timeout=600)
    results = [json.loads((tmp_path / ("p%d.json" % i)).read_text()) for i in range(2)]
    done = sorted(e["name"] for r in results for e in r["releases"] if e["state"] == "remediated")
    assert done == ["a", "b", "c"], results
    for name, rev in revs.items():
        history = [json.loads(helmfix.decode_record(o)) for o in kube.store.list("secrets", "shop")
                   if o["metadata"]["labels"]["name"] == name]
        rollbacks = [r for r in history if r["info"]["description"].startswith("Rollback to")]
        assert len(rollbacks) == 1, (name, [r["info"]["description"] for r in history])
        assert len(history) == rev + 1                                  # nothing lost


@pytest.mark.parametrize("option,value", [
    ("min_age", "abc"), ("timeout", "abc"), ("request_timeout", "0"), ("max_remediations", -2),
    ("namespaces", ["Shop!"]), ("exclude_namespaces", ["UPPER"]), ("releases", [" "]),
    ("storage_driver_env", "memory"), ("client_cert", "/etc/ssl/client.pem"), ("username", "admin"),
    ("impersonate_groups", ["ops"]), ("backup_dir", "under-a-file")])
def test_every_invalid_option_fails_before_any_request(tmp_path, kube, option, value):
    stuck_release(kube, kube.kubeconfig)
    before = records(kube)
    kube.reset_stats()
    backups = tmp_path / "backups"
    env, named = {}, option
    if option == "storage_driver_env":          # Helm's own variable, read as Helm reads it
        option, named, env = None, "HELM_DRIVER", {"HELM_DRIVER": value}
    elif option == "backup_dir":                # a path below a regular file can never be created
        (tmp_path / "a-file").write_text("x")
        backups = tmp_path / "a-file" / "backups"
        option = None
    extra = {option: value} if option else {}
    run = run_module(tmp_path, args(kubeconfig=kube.kubeconfig, strategy="unlock", backup_dir=str(backups),
                                    **extra), env=env)
    assert run["failed"]
    assert run["msg"].startswith(named + ": ") and run.get("option") == named, run["msg"]
    assert kube.stats()["requests"] == 0
    assert records(kube) == before and not backups.exists()
