# SPDX-License-Identifier: GPL-3.0-or-later
"""RBAC (read-only token, forbidden namespace, expired token) and clock skew
between this controller and the API server. Refusals are clean and per
release, nothing changes, and a re-run with proper credentials converges;
ages are measured on the server's clock."""

import pytest

import helmfix
from faultkit import STUCK, Ledger, load_fleet, unlocked
from localkube import LocalKube
from playbook_run import HELM_BIN, run_module

pytestmark = pytest.mark.slow

TOKENS = {"admin": None,
          "readonly": {"user": "system:serviceaccount:ops:auditor", "verbs": ["get", "list"]},
          "no-apps": {"user": "system:serviceaccount:ops:unstick", "namespaces_deny": ["apps"]},
          "expired": {"expired": True}}


@pytest.fixture
def secured(tmp_path, seed):
    with LocalKube(tls=True, tokens=TOKENS) as server:
        load_fleet(server, seed)
        server.configs = {t: str(server.write_kubeconfig(tmp_path / ("kc-" + t), token=t)) for t in TOKENS}
        yield server


def run(tmp_path, server, token, **args):
    full = {"kubeconfig": server.configs[token], "helm_binary": str(HELM_BIN), "timeout": "60s"}
    full.update(args)
    return run_module(tmp_path, full)


def converge(tmp_path, server, expect_fixed, **args):
    fixed = run(tmp_path, server, "admin", **args)
    assert fixed.rc == 0 and fixed["errors"] == [], fixed.text
    assert sorted((e["namespace"], e["name"]) for e in fixed["remediated"]) == sorted(expect_fixed)
    last = run(tmp_path, server, "admin", **args)
    assert last["changed"] is False and last["stuck"] == [] and last["errors"] == []
    assert unlocked(server)


def test_read_only_token_refused_per_release_nothing_changed(secured, tmp_path, tally):
    book = Ledger(secured)
    first = run(tmp_path, secured, "readonly", backup_dir=str(tmp_path / "b"), fail_on_error=False)
    assert first.rc == 0 and first["remediated"] == [] and first["changed"] is False, first.text
    assert sorted((e["namespace"], e["name"]) for e in first["errors"]) == sorted(STUCK)
    for err in first["errors"]:
        assert "API error 403" in err["reason"] and "cannot update" in err["reason"], err["reason"]
        assert "%s/%s" % (err["namespace"], err["name"]) in err["reason"] and "nothing written" in err["reason"]
    book.check(changed_releases=set())                       # nothing changed, helm never ran (no new revision)
    book.check_backups([e["backup"] for e in first["errors"]])
    converge(tmp_path, secured, STUCK, strategy="rollback")
    counts = book.check(changed_releases=STUCK, added=2)
    tally("RBAC: read-only token (403 on write)", "remediation", "module (ansible-playbook)", 3, counts, True,
          "+2 records: helm rollback in the admin re-run")


def test_forbidden_namespace_reported_others_fixed(secured, tmp_path, tally):
    book = Ledger(secured)
    everywhere = run(tmp_path, secured, "no-apps", strategy="unlock")
    assert everywhere["failed"] and "name the namespaces" in everywhere["msg"], everywhere.text
    first = run(tmp_path, secured, "no-apps", strategy="unlock", namespaces=["shop", "apps"], fail_on_error=False)
    assert first.rc == 0, first.text
    assert sorted(e["name"] for e in first["remediated"]) == ["my.app-v2", "web"]
    [err] = first["errors"]
    assert err["namespace"] == "apps" and "forbidden" in err["reason"]
    book.check(changed_releases={("shop", "web"), ("shop", "my.app-v2")})
    converge(tmp_path, secured, [("apps", "fresh")], strategy="unlock")
    counts = book.check(changed_releases=STUCK)
    tally("RBAC: forbidden namespace (403 on list)", "scan", "module (ansible-playbook)", 4, counts, True)


def test_expired_token_fails_cleanly(secured, tmp_path, tally):
    book = Ledger(secured)
    first = run(tmp_path, secured, "expired", strategy="unlock")
    assert first["failed"] and "401" in first["msg"] and "Unauthorized" in first["msg"], first.text
    assert "name the namespaces" not in first["msg"]          # a 401 is not an RBAC scope problem
    named = run(tmp_path, secured, "expired", strategy="unlock", namespaces=["shop"])
    assert named["failed"] and "401" in named["msg"], named.text
    book.check(changed_releases=set())
    converge(tmp_path, secured, STUCK, strategy="unlock")
    counts = book.check(changed_releases=STUCK)
    tally("RBAC: expired token (401)", "scan", "module (ansible-playbook)", 4, counts, True)


HOURS = 3 * 3600


@pytest.mark.parametrize("offset", [HOURS, -HOURS], ids=["server-3h-ahead", "server-3h-behind"])
def test_clock_skew_ages_by_server_time(tmp_path, seed, tally, offset):
    """The server's clock is hours off this host's. A pending revision 60 s old
    by the server's clock is in progress (by this host's clock it would look
    3 h old when the server is behind); one 1 h old is stuck (by this host's
    clock it would be in the future when the server is ahead)."""
    with LocalKube(clock_offset_seconds=offset) as server:
        kubeconfig = str(server.write_kubeconfig(tmp_path / "kc"))
        load_fleet(server, seed, age=60)
        old = ("shop", "web")
        helmfix.age_record(server, "shop", "web", helmfix.newest(server, "shop", "web")[0], 3600)
        book = Ledger(server)
        args = {"kubeconfig": kubeconfig, "strategy": "unlock", "min_age": "15m"}
        first = run_module(tmp_path, args)
        assert first.rc == 0 and first["errors"] == [], first.text
        assert sorted((e["namespace"], e["name"]) for e in first["in_progress"]) == sorted(k for k in STUCK if k != old)
        for entry in first["in_progress"]:
            assert 55 <= entry["age_seconds"] <= 300, entry
        [fixed] = first["remediated"]
        assert (fixed["namespace"], fixed["name"]) == old and 3595 <= fixed["age_seconds"] <= 3900, fixed
        record = server.store.get("secrets", "shop", helmfix.record_name("web", fixed["revision"]))
        assert abs(int(record["metadata"]["labels"]["modifiedAt"]) - server.now()) < 120   # stamped in server time
        again = run_module(tmp_path, args)
        assert again["changed"] is False and len(again["in_progress"]) == 2 and again["stuck"] == []
        counts = book.check(changed_releases={old})
        tally("clock skew: server %+d h vs controller" % (offset // 3600), "scan", "module (ansible-playbook)", 2,
              counts, True, "young release in progress, old one fixed, by server time")
