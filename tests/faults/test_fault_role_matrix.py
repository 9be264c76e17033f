# SPDX-License-Identifier: GPL-3.0-or-later
"""The stuck_releases role (playbooks/remediate.yml through ansible-playbook)
over four clusters at once, each with a different fault from the matrix:
an overloaded API (500s on the list, a dropped connection on a GET), a
corrupt record, a server clock three hours ahead, and an expired token. The
faults stay on their own cluster: the others are remediated in the same run,
the expired cluster is a warning and not a failed run, no record is lost, and
after the operator fixes the credential a re-run converges."""

import base64

import pytest

import helmfix
from faultkit import PREFIX, STUCK, Ledger, clusters, fleet_report, load_fleet, run_role, unlocked
from localkube import LocalKube

pytestmark = pytest.mark.slow

TOKENS = {"admin": None, "expired": {"expired": True}}
WEB = ("shop", "web")
OTHERS = {k for k in STUCK if k != WEB}


def pairs(entries):
    return sorted((e["namespace"], e["name"]) for e in entries)


def test_role_over_four_clusters_each_with_its_own_fault(tmp_path, seed, tally):
    with LocalKube() as overloaded, LocalKube() as corrupt, LocalKube(clock_offset_seconds=3 * 3600) as skewed, \
            LocalKube(tls=True, tokens=TOKENS) as expired:
        for server in (overloaded, corrupt, expired):
            load_fleet(server, seed)
        load_fleet(skewed, seed, age=60)             # young by the server's clock...
        helmfix.age_record(skewed, "shop", "web", helmfix.newest(skewed, *WEB)[0], 3600)   # ...but web
        rev = helmfix.newest(corrupt, *WEB)[0]
        bad = corrupt.store.get("secrets", "shop", PREFIX + "web.v%d" % rev)
        bad["data"]["release"] = base64.b64encode(base64.b64encode(b"\x1f\x8b\x08\x00not-a-gzip")).decode()
        corrupt.store.put(bad, "secrets")
        books = {"overloaded": Ledger(overloaded), "skewed": Ledger(skewed), "expired": Ledger(expired),
                 "corrupt": Ledger(corrupt, corrupt={("shop", bad["metadata"]["name"])})}
        overloaded.faults.error(500, verb="list", count=2)
        overloaded.faults.drop(verb="get", count=1)
        hosts = {name: {"stuck_releases_kubeconfig": str(server.write_kubeconfig(tmp_path / (name + ".kc")))}
                 for name, server in (("overloaded", overloaded), ("corrupt", corrupt), ("skewed", skewed))}
        hosts["expired"] = {"stuck_releases_host": expired.url, "stuck_releases_api_key": "expired",
                            "stuck_releases_ca_cert": expired.ca_file}
        extra = {"stuck_releases_strategy": "unlock", "stuck_releases_pending_install": "unlock"}

        first = run_role(tmp_path / "w", hosts, extra)
        assert first.rc == 0, first.text              # no cluster fails the run unless fail_on_stuck
        report = clusters(fleet_report(tmp_path / "w"))
        assert pairs(report["overloaded"]["remediated"]) == sorted(STUCK) and report["overloaded"]["errors"] == []
        assert pairs(report["corrupt"]["remediated"]) == sorted(OTHERS)
        [err] = report["corrupt"]["errors"]
        assert (err["namespace"], err["name"]) == WEB and "not gzip" in err["reason"], err
        assert pairs(report["skewed"]["remediated"]) == [WEB]
        assert pairs(report["skewed"]["in_progress"]) == sorted(OTHERS)
        assert report["expired"]["ok"] is False and "401" in report["expired"]["message"], report["expired"]
        assert "[WARNING]" in first.text and "expired" in first.text
        stats = overloaded.stats()
        assert stats["by_code"].get("500") == 2 and stats["dropped"] == 1, stats      # the faults did fire
        books["overloaded"].check(changed_releases=set(STUCK))
        books["corrupt"].check(changed_releases=OTHERS)
        books["skewed"].check(changed_releases={WEB})
        books["expired"].check(changed_releases=set())

        hosts["expired"]["stuck_releases_api_key"] = "admin"       # the operator fixes the credential
        second = run_role(tmp_path / "w", hosts, extra)
        assert second.rc == 0, second.text
        report = clusters(fleet_report(tmp_path / "w"))
        assert pairs(report["expired"]["remediated"]) == sorted(STUCK)
        for host in ("overloaded", "corrupt", "skewed"):
            assert report[host]["remediated"] == [], host
        assert len(report["corrupt"]["errors"]) == 1                # still reported, still left alone
        assert pairs(report["skewed"]["in_progress"]) == sorted(OTHERS)   # still young: untouched

        third = run_role(tmp_path / "w", hosts, extra)
        assert third.rc == 0 and "changed=1" not in third.stdout, third.text
        assert fleet_report(tmp_path / "w")["summary"]["remediated"] == 0
        assert unlocked(overloaded) and unlocked(expired) and unlocked(corrupt, OTHERS) and unlocked(skewed, [WEB])
        for counts, fault, phase, note in (
                (books["overloaded"].check(changed_releases=set(STUCK)),
                 "API 500 on list (x2) + dropped connection on get", "scan", ""),
                (books["corrupt"].check(changed_releases=OTHERS), "bad gzip", "record",
                 "reported, left byte for byte"),
                (books["skewed"].check(changed_releases={WEB}), "clock skew: server +3 h vs controller",
                 "scan", "young releases in progress, old one fixed, by server time"),
                (books["expired"].check(changed_releases=set(STUCK)), "RBAC: expired token (401)", "scan",
                 "cluster a warning; fixed after the credential was")):
            tally(fault, phase, "role (ansible-playbook)", 3, counts, True, note)
