# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input gets a clear message naming the cluster/namespace/release, and
the run goes on for the rest."""

import base64

import pytest

import helmfix
from localkube import LocalKube

pytestmark = pytest.mark.slow


def stuck(env, kube, name, ns):
    env.install(name, ns)
    rev = helmfix.make_stuck_upgrade(env, kube, name, ns)
    helmfix.age_record(kube, ns, name, rev, 3600)
    return rev


def good_and_broken(env, kube, payload):
    """apps/good and apps/broken stuck; broken's newest record's payload replaced by ``payload``."""
    stuck(env, kube, "good", "apps")
    rev = stuck(env, kube, "broken", "apps")
    obj = kube.store.get("secrets", "apps", "sh.helm.release.v1.broken.v%d" % rev)
    obj["data"]["release"] = base64.b64encode(payload).decode()
    kube.store.put(obj, "secrets")


def test_corrupt_record_reported_others_remediated(kube, helm_env, unstick, module_args):
    good_and_broken(helm_env, kube, b"H4sIthis-is-not-gzip")
    run = unstick(module_args(strategy="unlock", fail_on_error=False))
    assert run.rc == 0, run.text
    assert [e["name"] for e in run["remediated"]] == ["good"]
    [err] = run["errors"]
    assert "apps/broken" in err["reason"] and "corrupt record" in err["reason"] and "localkube" in err["reason"]
    assert "cluster localkube" in run.stdout + run.stderr   # shown as a warning too


def test_unknown_status_reported_not_touched(kube, helm_env, unstick, module_args):
    helm_env.install("odd", "apps")
    obj = kube.store.get("secrets", "apps", "sh.helm.release.v1.odd.v1")
    obj["metadata"]["labels"]["status"] = "pending-frobnicate"
    kube.store.put(obj, "secrets")
    before = kube.store.get("secrets", "apps", "sh.helm.release.v1.odd.v1")["metadata"]["resourceVersion"]
    run = unstick(module_args())
    assert run["failed"] is True            # fail_on_error defaults to true
    assert "unknown status 'pending-frobnicate'" in run["errors"][0]["reason"]
    assert "apps/odd" in run["msg"]
    assert kube.store.get("secrets", "apps", "sh.helm.release.v1.odd.v1")["metadata"]["resourceVersion"] == before


def test_forbidden_namespace_reported_rest_remediated(tmp_path, unstick):
    tokens = {"admin": None, "limited": {"user": "system:serviceaccount:ops:unstick",
                                         "namespaces_deny": ["vault"]}}
    with LocalKube(tls=True, tokens=tokens) as kube:
        admin = str(kube.write_kubeconfig(tmp_path / "admin", token="admin"))
        limited = str(kube.write_kubeconfig(tmp_path / "limited", token="limited"))
        env = helmfix.HelmEnv(admin)
        stuck(env, kube, "a", "team-a")
        stuck(env, kube, "v", "vault")
        run = unstick({"kubeconfig": limited, "strategy": "unlock", "namespaces": ["team-a", "vault"],
                       "fail_on_error": False})
        assert run.rc == 0, run.text
        assert [(e["namespace"], e["name"]) for e in run["remediated"]] == [("team-a", "a")]
        [err] = run["errors"]
        assert err["namespace"] == "vault" and "forbidden" in err["reason"].lower()
        assert env.history("v", "vault")[-1]["status"] == "pending-upgrade"


def test_unreachable_api_fails_clearly(tmp_path, unstick):
    with LocalKube() as kube:
        kubeconfig = str(kube.write_kubeconfig(tmp_path / "dead", context="dead-cluster"))
    run = unstick({"kubeconfig": kubeconfig, "remediate": False})     # server gone
    assert run["failed"] and "dead-cluster" in run["msg"] and "cannot scan" in run["msg"]


def test_bad_kubeconfig_and_unknown_context(tmp_path, kube, unstick):
    missing = unstick({"kubeconfig": str(tmp_path / "nope.yaml")})
    assert missing["failed"] and "nope.yaml" in missing["msg"] and "not readable" in missing["msg"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("this: [is not: a kubeconfig")
    garbage = unstick({"kubeconfig": str(bad)})
    assert garbage["failed"] and "'bad.yaml' in %s is not valid YAML" % tmp_path in garbage["msg"]
    ctx = unstick({"kubeconfig": kube.kubeconfig, "context": "no-such-context"})
    assert ctx["failed"] and "context 'no-such-context' does not exist" in ctx["msg"]
    assert "(contexts: localkube)" in ctx["msg"]


def test_missing_helm_binary_for_rollback(kube, helm_env, unstick, module_args):
    stuck(helm_env, kube, "r", "apps")
    run = unstick(module_args(strategy="rollback", helm_binary="/nonexistent/helm"))
    assert run["failed"] and "/nonexistent/helm" in run["msg"] and "apps/r" in run["msg"]
    assert helm_env.history("r", "apps")[-1]["status"] == "pending-upgrade"   # nothing half-done


def test_request_timeout_bounds_each_answer(kube, helm_env, unstick, module_args):
    """A slow API server: with request_timeout 1s, a list answered after 3 s is given up and tried
    again (the default, 60s, would have waited); a server that stays slow fails the run clearly."""
    stuck(helm_env, kube, "r", "apps")
    # a server that stays slow: every list takes 3 s. The default (60s) would wait and succeed;
    # with 1s every try is given up, and the run fails clearly after its retries
    slow_fault = kube.faults.latency(3, verb="list", count=50)
    slow = unstick(module_args(remediate=False, request_timeout="1s"))
    assert slow["failed"] and "cluster localkube" in slow["msg"] and "cannot scan" in slow["msg"]
    assert "timed out" in slow["msg"].lower() or "timeout" in slow["msg"].lower(), slow["msg"]
    assert slow_fault.fired == 5                    # the first try and 4 more, then it gave up
    kube.faults.clear()

    # two slow answers, then a healthy server: given up, tried again, remediated
    blip = kube.faults.latency(3, verb="list", count=2)
    run = unstick(module_args(strategy="unlock", request_timeout="1s"))
    assert run.rc == 0, run.text
    assert blip.fired == 2 and [e["name"] for e in run["remediated"]] == ["r"]

    bad = unstick(module_args(request_timeout="soon"))
    assert bad["failed"] and "request_timeout" in bad["msg"] and "'soon'" in bad["msg"]


def test_cluster_timeout_bounds_a_hung_server_including_retries(kube, helm_env, unstick, module_args):
    """A server that accepts requests and never answers: request_timeout 2s alone costs five tries and their
    back-off (about 18 s); cluster_timeout 5s ends the whole run on that cluster by 5 s, saying so."""
    stuck(helm_env, kube, "r", "apps")
    hung = kube.faults.hang(verb="list")
    run = unstick(module_args(remediate=False, request_timeout="2s", cluster_timeout="5s"))
    tries = hung.fired
    kube.faults.clear()
    assert run["failed"] and "cluster localkube" in run["msg"] and "cannot scan" in run["msg"], run.text
    assert "no retry: cluster_timeout (5s) reached after 2 attempt(s)" in run["msg"], run["msg"]
    assert "cannot reach %s: no answer in time (request_timeout)" % kube.url in run["msg"], run["msg"]
    assert tries == 2                               # 2 s, back-off 0.5 s, 2 s: no time left for a third
    bad = unstick(module_args(cluster_timeout="0s"))
    assert bad["failed"] and "cluster_timeout" in bad["msg"] and "'0s'" in bad["msg"], bad["msg"]


def test_corrupt_record_fails_the_task_after_the_rest_was_fixed(kube, helm_env, unstick, module_args):
    """fail_on_error defaults to true: the task fails, but only after the good release was remediated."""
    good_and_broken(helm_env, kube, b"not base64 of gzip at all")
    run = unstick(module_args(strategy="unlock"))
    assert run["failed"] is True      # (run_module ignores the failure so the result can be read)
    assert "apps/broken" in run["msg"] and "corrupt record" in run["msg"]
    assert [e["name"] for e in run["remediated"]] == ["good"]
    assert run["changed"] is True
    assert helm_env.history("good", "apps")[-1]["status"] == "failed"     # unlocked
    helm_env.upgrade("good", "apps")                                       # and Helm works again
    assert helm_env.history("good", "apps")[-1]["status"] == "deployed"


UNUSABLE_HELMS = {
    # id: (how to make it, what the error says besides the path)
    "not-executable": (lambda path: path.write_text("#!/bin/sh\necho v4.2.4\n"), "is not an executable file"),
    "not-helm": (lambda path: _script(path, "echo hello"), "does not look like helm: 'version' printed 'hello'"),
    "helm-2": (lambda path: _script(path, "echo v2.17.0"), "is helm v2.17.0; helm 3.x or 4.x is needed"),
    "fails": (lambda path: _script(path, "echo 'cannot load plugins' >&2; exit 3"),
              "does not answer 'version' like helm: cannot load plugins"),
}


def _script(path, body):
    path.write_text("#!/bin/sh\n%s\n" % body)
    path.chmod(0o755)


@pytest.mark.parametrize("case", sorted(UNUSABLE_HELMS))
def test_unusable_helm_named_with_what_it_is_and_releases_without_helm_still_fixed(
        tmp_path, kube, helm_env, unstick, module_args, case):
    make, message = UNUSABLE_HELMS[case]
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    make(helm)
    rev = stuck(helm_env, kube, "web", "shop")                            # needs helm (rollback)
    first = helmfix.make_stuck_install(helm_env, kube, "fresh", "shop")  # needs none (unlock)
    helmfix.age_record(kube, "shop", "fresh", first, 3600)
    run = unstick(module_args(strategy="rollback", pending_install="unlock", helm_binary=str(helm),
                              fail_on_error=False))
    assert run.rc == 0, run.text
    assert [(e["name"], e["action"]) for e in run["remediated"]] == [("fresh", "unlock")]
    [err] = run["errors"]
    assert err["name"] == "web" and "helm_binary: %s %s" % (helm, message) in err["reason"], err
    assert helmfix.newest(kube, "shop", "web") == (rev, "pending-upgrade")   # nothing written for it


def test_unreachable_server_and_unknown_context_say_what_is_wrong(tmp_path, unstick):
    """A refused connection names the URL and says "connection refused"; an unknown context lists the
    available ones (names only) and names the kubeconfig file, which is no secret."""
    import socket
    from localkube import kubeconfig as writer
    held = socket.socket()
    held.bind(("127.0.0.1", 0))                      # bound, never listening: connections are refused
    url = "https://127.0.0.1:%d" % held.getsockname()[1]
    config = tmp_path / "clusters.yaml"
    writer.write(config, url, ca_file=None, token="s3cret-token", context="prod-eu-1",
                 extra_contexts={"prod-us-1": {"token": "s3cret-token"}})
    try:
        dead = unstick({"kubeconfig": str(config), "request_timeout": "3s"})
        assert dead["failed"] and "cannot reach %s: connection refused" % url in dead["msg"], dead["msg"]
        typo = unstick({"kubeconfig": str(config), "context": "prod-eu-2"})
        assert typo["failed"]
        assert "context 'prod-eu-2' does not exist" in typo["msg"] and "(contexts: prod-eu-1, prod-us-1)" in typo["msg"]
        assert str(config) in typo.text.replace("kubeconfig 'clusters.yaml' in %s" % tmp_path, str(config))
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" not in typo["msg"] and "s3cret-token" not in typo.text
    finally:
        held.close()
