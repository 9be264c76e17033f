# SPDX-License-Identifier: GPL-3.0-or-later
"""Odd and corrupt release records: bad base64, bad gzip, bad JSON, missing
fields, unknown or missing statuses, duplicate and odd revision labels, a
~1 MB record, and release names with dots and dashes (shop/my.app-v2 is in
every fleet). The odd release is reported (or, if readable, remediated), the
others are remediated, planted records stay byte for byte as planted, and a
re-run writes nothing."""

import base64
import gzip
import json
import os

import pytest

import helmfix
from faultkit import PREFIX, STUCK, Ledger, unlocked

pytestmark = pytest.mark.slow

WEB = ("shop", "web")


def _inner(obj, raw_inner):
    """Set a Secret record's payload: the API's base64 over Helm's own base64 layer."""
    obj["data"]["release"] = base64.b64encode(raw_inner).decode()


def _with_release(obj, change):
    release = json.loads(helmfix.decode_record(obj))
    change(release)
    _inner(obj, base64.b64encode(gzip.compress(json.dumps(release).encode())))


def _drop(path):
    def change(release):
        node = release
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _set_info_status(value):
    def change(release):
        release["info"]["status"] = value
    return change


def _label(key, value):
    def mutate(obj):
        if value is None:
            obj["metadata"]["labels"].pop(key)
        else:
            obj["metadata"]["labels"][key] = value
    return mutate


# name -> (mutate the stuck record in place, expected: "error" with a reason fragment, or "fixed")
CASES = {
    "bad base64 (Helm's layer)": (lambda o: _inner(o, b"!!! not base64 !!!"), ("error", "not base64")),
    "bad gzip": (lambda o: _inner(o, base64.b64encode(b"\x1f\x8b\x08\x00garbage-not-a-gzip-stream")),
                 ("error", "not gzip")),
    "bad JSON": (lambda o: _inner(o, base64.b64encode(gzip.compress(b'{"name": "web", "info": {'))),
                 ("error", "not JSON")),
    "missing field info.status": (lambda o: _with_release(o, _drop(["info", "status"])),
                                  ("error", "missing field info.status")),
    "missing field version": (lambda o: _with_release(o, _drop(["version"])), ("error", "missing field version")),
    "unknown status label": (_label("status", "pending-frobnicate"), ("error", "unknown status 'pending-frobnicate'")),
    "missing status label": (_label("status", None), ("error", "missing status label")),
    "status label and payload disagree": (lambda o: _with_release(o, _set_info_status("deployed")),
                                          ("error", "left alone")),
    "odd revision label (version=v2)": (_label("version", "v2"), ("fixed", None)),
}


def _plant(kube, fleet, name):
    rev = fleet[WEB]
    obj = kube.store.get("secrets", "shop", PREFIX + "web.v%d" % rev)
    mutate, _ = CASES[name]
    mutate(obj)
    kube.store.put(obj, "secrets")
    return {("shop", obj["metadata"]["name"])}


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_record(kube, fleet, inproc, tally, case):
    planted = _plant(kube, fleet, case)
    expect, fragment = CASES[case][1]
    book = Ledger(kube, corrupt=planted if expect == "error" else ())
    first = inproc(strategy="unlock")
    others = sorted(k for k in STUCK if k != WEB)
    if expect == "error":
        [err] = first["errors"]
        assert (err["namespace"], err["name"]) == WEB and "shop/web" in err["reason"], err
        assert fragment in err["reason"], err["reason"]
        assert sorted((e["namespace"], e["name"]) for e in first["remediated"]) == others
        book.check(changed_releases=set(others))
    else:
        assert first["errors"] == [] and len(first["remediated"]) == len(STUCK)
        book.check(changed_releases=STUCK)
    kube.reset_stats()
    second = inproc(strategy="unlock")
    assert second["changed"] is False and second["stuck"] == []
    assert len(second["errors"]) == len(first["errors"])          # still reported, stable
    assert "update" not in kube.stats()["by_verb"]                # nothing written
    counts = book.check(changed_releases=set(others) if expect == "error" else STUCK)
    tally(case, "record", "module code in-process", 2, counts, True,
          "reported, left byte for byte" if expect == "error" else "revision from the object name")


def test_duplicate_revision_records(kube, fleet, inproc, tally):
    rev = fleet[WEB]
    dup = kube.store.get("secrets", "shop", PREFIX + "web.v%d" % rev)
    dup["metadata"]["name"] = PREFIX + "web.v%04d" % rev        # a second record claiming the same revision
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        dup["metadata"].pop(key, None)
    kube.store.put(dup, "secrets")
    web_records = {k for k in Ledger(kube).before if k[0] == "shop" and ".web." in k[1]}
    book = Ledger(kube, corrupt=web_records)
    first = inproc(strategy="unlock")
    [err] = first["errors"]
    assert "more than one record for revision %d" % rev in err["reason"]
    second = inproc(strategy="unlock")
    assert second["changed"] is False and len(second["errors"]) == 1
    counts = book.check(changed_releases={k for k in STUCK if k != WEB})
    tally("duplicate revision (two records, one revision)", "record", "module code in-process", 2, counts, True,
          "reported, both left byte for byte")


def _big_release(kube, fleet, size=900 * 1024):
    rev = fleet[WEB]
    obj = kube.store.get("secrets", "shop", PREFIX + "web.v%d" % rev)
    noise = base64.b64encode(os.urandom(size * 3 // 4)).decode()    # hardly compressible
    _with_release(obj, lambda r: r.update(manifest=r.get("manifest", "") + "\n# " + noise))
    kube.store.put(obj, "secrets")
    assert len(base64.b64decode(obj["data"]["release"])) > 800 * 1024
    return obj


def test_one_megabyte_record_runner(kube, fleet, inproc, tally):
    big = _big_release(kube, fleet)
    book = Ledger(kube)
    first = inproc(strategy="unlock")
    assert first["errors"] == [] and len(first["remediated"]) == len(STUCK)
    after = kube.store.get("secrets", "shop", big["metadata"]["name"])
    was, now = json.loads(helmfix.decode_record(big)), json.loads(helmfix.decode_record(after))
    assert now["info"].pop("status") == "failed" and was["info"].pop("status") == "pending-upgrade"
    now["info"].pop("description"), was["info"].pop("description")
    assert now == was                                          # everything else, 900 KB of it, intact
    assert inproc(strategy="unlock")["changed"] is False
    counts = book.check(changed_releases=STUCK)
    tally("~1 MB record (unlock)", "record", "module code in-process", 2, counts, True)


def test_one_megabyte_record_module_rollback(kube, fleet, module, tally, tmp_path):
    big = _big_release(kube, fleet)
    book = Ledger(kube)
    first = module(backup_dir=str(tmp_path / "b"))
    assert first.rc == 0 and first["errors"] == [], first.text
    assert ("web", "rollback") in [(e["name"], e["action"]) for e in first["remediated"]]
    assert module()["changed"] is False
    counts = book.check(changed_releases=STUCK, added=2)
    backup = [e["backup"] for e in first["remediated"] if e["name"] == "web"][0]
    book.check_backups([backup])
    assert json.load(open(backup))["data"] == big["data"]
    assert unlocked(kube)
    tally("~1 MB record (rollback, backup)", "record", "module (ansible-playbook)", 2, counts, True,
          "+2 records: the revisions helm rollback wrote")


def test_names_with_dots_and_dashes(kube, fleet, module, tally, tmp_path):
    """shop/my.app-v2 (a real Helm release) among the others, through the module, with backups."""
    book = Ledger(kube)
    first = module(strategy="unlock", backup_dir=str(tmp_path / "b"), releases=["my.app-v2", "fresh"])
    assert [(e["namespace"], e["name"]) for e in first["remediated"]] == [("apps", "fresh"), ("shop", "my.app-v2")]
    backup = [e["backup"] for e in first["remediated"] if e["name"] == "my.app-v2"][0]
    assert os.path.basename(backup).startswith("my.app-v2.v")
    book.check_backups([e["backup"] for e in first["remediated"]])
    second = module(strategy="unlock")
    assert [e["name"] for e in second["remediated"]] == ["web"]
    assert module(strategy="unlock")["changed"] is False
    counts = book.check(changed_releases=STUCK)
    tally("release names with dots and dashes", "record", "module (ansible-playbook)", 3, counts, True)
