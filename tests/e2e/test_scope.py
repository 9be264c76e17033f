# SPDX-License-Identifier: GPL-3.0-or-later
"""Scope options end to end: namespaces (names and globs), exclude_namespaces,
releases and exclude_releases (names and globs) select what is scanned and
what is remediated; everything outside the scope is neither reported nor
touched."""

import pytest

import helmfix

pytestmark = pytest.mark.slow

#: namespace, release -- each left stuck by interrupting real Helm
RELEASES = [("team-a", "web"), ("team-a", "db"), ("team-b", "web"), ("infra", "web-proxy")]


@pytest.fixture
def fleet(kube, helm_env):
    for ns, name in RELEASES:
        if (ns, name) == ("team-a", "web"):
            helm_env.install(name, ns)
            rev = helmfix.make_stuck_upgrade(helm_env, kube, name, ns)
        else:
            rev = helmfix.make_stuck_install(helm_env, kube, name, ns)
        helmfix.age_record(kube, ns, name, rev, 3600)
    return kube


def found(run):
    assert run.rc == 0, run.text
    return sorted((e["namespace"], e["name"]) for e in run["stuck"])


def versions(kube):
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for o in kube.store.list("secrets")}


def test_scope_selects_what_is_reported_and_what_is_remediated(fleet, helm_env, unstick, module_args):
    report = dict(remediate=False)
    before = versions(fleet)
    assert found(unstick(module_args(**report))) == sorted(RELEASES)
    # namespace globs and exclude_namespaces
    assert found(unstick(module_args(namespaces=["team-*", "infra"], exclude_namespaces=["team-b"],
                                     **report))) == [("infra", "web-proxy"), ("team-a", "db"), ("team-a", "web")]
    # release globs and exclude_releases
    assert found(unstick(module_args(releases=["web*"], exclude_releases=["*-proxy"], **report))) == [
        ("team-a", "web"), ("team-b", "web")]
    assert versions(fleet) == before            # report only: nothing written

    # remediation: only the one release in scope is written
    run = unstick(module_args(strategy="unlock", pending_install="unlock", namespaces=["team-a"],
                              exclude_releases=["web"]))
    assert run.rc == 0, run.text
    assert [(e["namespace"], e["name"], e["action"]) for e in run["remediated"]] == [("team-a", "db", "unlock")]
    after = versions(fleet)
    changed = sorted(key for key in before if after.get(key) != before[key])
    assert changed == [("team-a", "sh.helm.release.v1.db.v1")]
    for ns, name in RELEASES:
        if (ns, name) != ("team-a", "db"):
            assert helm_env.history(name, ns)[-1]["status"].startswith("pending-"), (ns, name)
    # the rest of the fleet is still found stuck by a run without the scope
    assert found(unstick(module_args(remediate=False))) == sorted(set(RELEASES) - {("team-a", "db")})


def test_a_namespace_or_release_typo_is_a_warning_not_a_silent_nothing(kube, helm_env, unstick, module_args):
    """namespaces: [shpo] (no such namespace) and releases: [wbe] (no such release) would read as
    "nothing stuck": the result and the output say what matched nothing; globs that match nothing are fine."""
    helm_env.install("web", "shop")
    run = unstick(module_args(remediate=False, namespaces=["shop", "shpo"], releases=["wbe", "api-*"]))
    assert run.rc == 0, run.text
    assert run["scan_warnings"] == ["cluster localkube: namespace 'shpo' (namespaces) does not exist",
                                    "cluster localkube: release 'wbe' (releases) has no Helm record in the "
                                    "namespaces scanned"]
    assert "namespace 'shpo' (namespaces) does not exist" in " ".join(run.stderr.split())   # a [WARNING]
    clean = unstick(module_args(remediate=False, namespaces=["shop"], releases=["web"]))
    assert clean["scan_warnings"] == []
