# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import datetime
import gzip
import json

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.release import records
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import (
    RecordError, RevisionMeta, decode_payload, encode_payload, meta_from_object, safe_summary,
    mark_failed, failed_labels, parse_time, format_time, format_http_date, parse_http_date,
    parse_object_name, object_name,
)


def _b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------- decode


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_decode_real_record(make_release, make_object, driver):
    release = make_release(name="my.app-v2", version=10, status="pending-upgrade")
    obj = make_object(release, driver=driver)
    assert decode_payload(obj["data"]["release"], driver) == release


def test_secret_layers_are_exactly_two_base64_over_gzip(make_release, make_object):
    obj = make_object(make_release())
    inner = base64.b64decode(base64.b64decode(obj["data"]["release"]))
    assert inner[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(inner))["name"] == "web"


def test_decode_accepts_bytes(make_release, make_object):
    obj = make_object(make_release(), driver="configmap")
    assert decode_payload(obj["data"]["release"].encode("ascii"), "configmap")["version"] == 1


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_decode_plain_json_without_gzip(make_release, encode_like_helm, driver):
    release = make_release()
    data = encode_like_helm(release, gzipped=False)
    if driver == "secret":
        data = _b64(data)
    assert decode_payload(data, driver) == release


def _reason(data, driver):
    with pytest.raises(RecordError) as exc:
        decode_payload(data, driver)
    return exc.value.reason


@pytest.mark.parametrize("data", ["not base64!!", "abc", "é", None, 5])
@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_decode_bad_base64(data, driver):
    assert _reason(data, driver) == "not base64"


def test_decode_secret_inner_layer_not_base64():
    # outer layer fine, inner is not base64 text
    assert _reason(_b64(b"\x1f\x8b\x08garbage"), "secret") == "not base64"


def test_secret_value_given_to_configmap_driver_is_not_json(make_release, make_object):
    obj = make_object(make_release())
    assert _reason(obj["data"]["release"], "configmap") == "not JSON"


def test_decode_bad_gzip():
    corrupt = b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"this is not deflate"
    assert _reason(_b64(corrupt), "configmap") == "not gzip"
    assert _reason(_b64(_b64(corrupt)), "secret") == "not gzip"


def test_decode_truncated_gzip(make_release):
    full = gzip.compress(json.dumps(make_release()).encode())
    assert _reason(_b64(full[:len(full) // 2]), "configmap") == "not gzip"


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"null"])
def test_decode_bad_json(payload):
    assert _reason(_b64(gzip.compress(payload)), "configmap") == "not JSON"


@pytest.mark.parametrize("mutate, reason", [
    (lambda r: r.pop("info"), "missing field info.status"),
    (lambda r: r["info"].pop("status"), "missing field info.status"),
    (lambda r: r["info"].update(status=""), "missing field info.status"),
    (lambda r: r["info"].update(status=3), "missing field info.status"),
    (lambda r: r.update(info="deployed"), "missing field info.status"),
    (lambda r: r.pop("version"), "missing field version"),
    (lambda r: r.update(version="3"), "missing field version"),
    (lambda r: r.update(version=True), "missing field version"),
])
def test_decode_missing_fields(make_release, encode_like_helm, mutate, reason):
    release = make_release()
    mutate(release)
    assert _reason(encode_like_helm(release), "configmap") == reason


def test_decode_unknown_driver(make_release, make_object):
    with pytest.raises(RecordError) as exc:
        decode_payload(make_object(make_release())["data"]["release"], "memory")
    assert exc.value.reason == "unknown driver"


def test_sql_body_is_encoded_as_configmap_data(make_release):
    """Helm's SQL driver stores base64(gzip(JSON)) in ``body``, as the ConfigMap driver in data.release."""
    release = make_release()
    body = encode_payload(release, "sql")
    assert body == encode_payload(release, "configmap")
    assert decode_payload(body, "sql") == release


def test_record_error_message_has_detail():
    err = RecordError("not JSON", "line 1")
    assert err.reason == "not JSON"
    assert str(err) == "not JSON: line 1"
    assert str(RecordError("not gzip")) == "not gzip"


# ---------------------------------------------------------------- encode


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_encode_round_trip(make_release, driver):
    release = make_release(name="my.app-v2", status="failed", version=12)
    encoded = encode_payload(release, driver)
    assert isinstance(encoded, str)
    assert decode_payload(encoded, driver) == release


def test_encode_layers_and_determinism(make_release):
    release = make_release()
    secret = encode_payload(release, "secret")
    configmap = encode_payload(release, "configmap")
    assert base64.b64decode(secret).decode("ascii") == configmap
    assert base64.b64decode(configmap)[:2] == b"\x1f\x8b"
    assert encode_payload(release, "secret") == secret


def test_encode_unknown_driver(make_release):
    with pytest.raises(RecordError):
        encode_payload(make_release(), "memory")


# ---------------------------------------------------------------- object names


@pytest.mark.parametrize("name, expected", [
    ("sh.helm.release.v1.web.v1", ("web", 1)),
    ("sh.helm.release.v1.my.app-v2.v10", ("my.app-v2", 10)),
    ("sh.helm.release.v1.a.v1.v3", ("a.v1", 3)),
    ("sh.helm.release.v1.web.vx", None),
    ("sh.helm.release.v1..v1", None),
    ("sh.helm.release.v2.web.v1", None),
    ("web.v1", None),
    (None, None),
])
def test_parse_object_name(name, expected):
    assert parse_object_name(name) == expected


def test_object_name_inverse():
    assert object_name("my.app-v2", 10) == "sh.helm.release.v1.my.app-v2.v10"
    assert parse_object_name(object_name("my.app-v2", 10)) == ("my.app-v2", 10)


# ---------------------------------------------------------------- metadata


def test_meta_from_full_secret(make_release, make_object):
    obj = make_object(make_release(name="my.app-v2", version=10, status="pending-upgrade"),
                      labels_extra={"modifiedAt": "1795000000"})
    meta = meta_from_object(obj)
    assert isinstance(meta, RevisionMeta)
    assert meta == RevisionMeta(
        release="my.app-v2", namespace="apps", revision=10, status="pending-upgrade",
        object_name="sh.helm.release.v1.my.app-v2.v10", resource_version="12345",
        created_at=parse_time("2026-11-24T10:52:33Z"), modified_at=1795000000.0)


def test_meta_from_partial_object_metadata(make_release, make_object):
    obj = make_object(make_release(version=3), driver="configmap", with_data=False)
    partial = {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
               "metadata": obj["metadata"]}
    meta = meta_from_object(partial)
    assert (meta.release, meta.revision, meta.status, meta.modified_at) == ("web", 3, "deployed", None)


@pytest.mark.parametrize("label", [None, "", "abc", "1.5", "-3", "0", " 4", 7])
def test_meta_version_falls_back_to_name_suffix(make_release, make_object, label):
    obj = make_object(make_release(version=10))
    if label is None:
        del obj["metadata"]["labels"]["version"]
    else:
        obj["metadata"]["labels"]["version"] = label
    assert meta_from_object(obj).revision == 10


def test_meta_version_label_wins_over_name(make_release, make_object):
    obj = make_object(make_release(version=10))
    obj["metadata"]["labels"]["version"] = "11"
    assert meta_from_object(obj).revision == 11


def test_meta_no_revision_anywhere(make_release, make_object):
    obj = make_object(make_release(), drop_labels=("version",))
    obj["metadata"]["name"] = "something-else"
    with pytest.raises(RecordError) as exc:
        meta_from_object(obj)
    assert exc.value.reason == "cannot determine revision"


def test_meta_release_name_from_object_name(make_release, make_object):
    obj = make_object(make_release(name="my.app-v2", version=2), drop_labels=("name",))
    assert meta_from_object(obj).release == "my.app-v2"


def test_meta_no_release_name(make_release, make_object):
    obj = make_object(make_release(), drop_labels=("name",))
    obj["metadata"]["name"] = "odd"
    with pytest.raises(RecordError) as exc:
        meta_from_object(obj)
    assert exc.value.reason == "cannot determine release name"


def test_meta_not_a_dict():
    with pytest.raises(RecordError):
        meta_from_object(None)


def test_meta_missing_status_label(make_release, make_object):
    assert meta_from_object(make_object(make_release(), drop_labels=("status",))).status is None


@pytest.mark.parametrize("bad", ["soon", "1.5", "-1", ""])
def test_meta_bad_modified_at(make_release, make_object, bad):
    with pytest.raises(RecordError) as exc:
        meta_from_object(make_object(make_release(), labels_extra={"modifiedAt": bad}))
    assert exc.value.reason == "bad modifiedAt label"


def test_meta_created_at_falls_back_to_created_at_label(make_release, make_object):
    obj = make_object(make_release(), labels_extra={"createdAt": "1700000000"})
    del obj["metadata"]["creationTimestamp"]
    assert meta_from_object(obj).created_at == 1700000000.0
    obj["metadata"]["creationTimestamp"] = "garbage"
    assert meta_from_object(obj).created_at == 1700000000.0
    del obj["metadata"]["labels"]["createdAt"]
    assert meta_from_object(obj).created_at is None


def test_meta_snake_case_client_dict(make_release, make_object):
    obj = make_object(make_release())
    md = obj["metadata"]
    md["resource_version"] = md.pop("resourceVersion")
    md["creation_timestamp"] = datetime.datetime(2026, 11, 24, 10, 52, 33, tzinfo=datetime.timezone.utc)
    meta = meta_from_object(obj)
    assert meta.resource_version == "12345"
    assert meta.created_at == parse_time("2026-11-24T10:52:33Z")
    md["creation_timestamp"] = datetime.datetime(2026, 11, 24, 10, 52, 33)  # naive = UTC
    assert meta_from_object(obj).created_at == parse_time("2026-11-24T10:52:33Z")


# ---------------------------------------------------------------- safe summary


def test_safe_summary_fields(make_release):
    summary = safe_summary(make_release(name="my.app-v2", version=7, status="pending-upgrade",
                                        description="Preparing upgrade"))
    assert summary == {
        "name": "my.app-v2", "namespace": "apps", "revision": 7, "status": "pending-upgrade",
        "chart": "nginx", "chart_version": "15.4.2", "app_version": "1.25.3",
        "description": "Preparing upgrade", "last_deployed": "2026-11-24T10:52:33.123456789Z",
    }


def test_safe_summary_never_leaks_secrets(make_release, make_object, secret_password):
    release = decode_payload(make_object(make_release())["data"]["release"], "secret")
    assert secret_password in json.dumps(release)  # the seed really is there
    dumped = json.dumps(safe_summary(release))
    assert secret_password not in dumped
    for forbidden in ("config", "manifest", "values", "hooks", "notes", "templates"):
        assert forbidden not in safe_summary(release)


def test_safe_summary_non_scalar_fields_are_dropped(make_release, secret_password):
    release = make_release()
    release["chart"]["metadata"]["appVersion"] = {"password": secret_password}
    release["info"]["description"] = [secret_password]
    summary = safe_summary(release)
    assert summary["app_version"] is None and summary["description"] is None
    assert secret_password not in json.dumps(summary)


@pytest.mark.parametrize("release", [{}, None, {"info": None, "chart": "x"}, {"chart": {"metadata": []}}])
def test_safe_summary_tolerates_missing(release):
    summary = safe_summary(release)
    assert set(summary.values()) == {None}


# ---------------------------------------------------------------- mark failed


def test_mark_failed_returns_new_dict(make_release):
    release = make_release(status="pending-upgrade", version=4)
    original = copy.deepcopy(release)
    new = mark_failed(release, "unstuck by helmops.unstick", "2026-11-25T00:00:00Z")
    assert release == original  # input untouched
    assert new["info"]["status"] == "failed"
    assert new["info"]["description"] == "unstuck by helmops.unstick"
    assert new["info"]["last_deployed"] == original["info"]["last_deployed"]
    new["info"]["status"] = original["info"]["status"]
    new["info"]["description"] = original["info"]["description"]
    assert new == original
    new["config"]["password"] = "changed"
    assert release["config"] == original["config"]  # deep copy


def test_mark_failed_round_trips_through_storage(make_release):
    new = mark_failed(make_release(status="pending-install"), "x")
    assert decode_payload(encode_payload(new, "secret"), "secret")["info"]["status"] == "failed"


def test_mark_failed_validation(make_release):
    with pytest.raises(ValueError):
        mark_failed(make_release(), "x", "yesterday")
    with pytest.raises(ValueError):
        mark_failed(None, "x")
    assert mark_failed({"version": 1}, "x")["info"] == {"status": "failed", "description": "x"}


def test_failed_labels():
    labels = {"name": "web", "owner": "helm", "status": "pending-upgrade", "version": "3"}
    new = failed_labels(labels, 1795000000.7)
    assert new == {"name": "web", "owner": "helm", "status": "failed", "version": "3",
                   "modifiedAt": "1795000000"}
    assert labels["status"] == "pending-upgrade"
    assert failed_labels(None, 5) == {"status": "failed", "modifiedAt": "5"}


# ---------------------------------------------------------------- time


@pytest.mark.parametrize("text, expected", [
    ("1970-01-01T00:00:00Z", 0.0),
    ("2026-11-24T10:52:33Z", 1795517553.0),
    ("2026-11-24T10:52:33+00:00", 1795517553.0),
    ("2026-11-24T12:52:33+02:00", 1795517553.0),
    ("2026-11-24T05:22:33-0530", 1795517553.0),
    ("2026-11-24t10:52:33z", 1795517553.0),
    ("2026-11-24T10:52:33.5Z", 1795517553.5),
    ("0001-01-01T00:00:00Z", -62135596800.0),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_parse_time_nanoseconds():
    value = parse_time("2026-11-24T10:52:33.123456789Z")
    assert abs(value - 1795517553.123456789) < 1e-6
    assert parse_time("2026-11-24T10:52:33.123456789+00:00") == value


@pytest.mark.parametrize("bad", ["", "2026-11-24", "2026-11-24T10:52:33", "2026-13-01T00:00:00Z",
                                 "2026-11-24T25:00:00Z", "2026-11-24T10:52:33+25:00", "now", None, 5])
def test_parse_time_invalid(bad):
    with pytest.raises(ValueError):
        parse_time(bad)


@pytest.mark.parametrize("epoch, text", [
    (0, "1970-01-01T00:00:00Z"),
    (1795517553, "2026-11-24T10:52:33Z"),
    (1795517553.5, "2026-11-24T10:52:33.500000000Z"),
])
def test_format_time(epoch, text):
    assert format_time(epoch) == text
    assert parse_time(text) == float(epoch)


def test_http_date_round_trip():
    assert format_http_date(1795517553) == "Tue, 24 Nov 2026 10:52:33 GMT"
    assert parse_http_date("Tue, 24 Nov 2026 10:52:33 GMT") == 1795517553.0
    assert parse_http_date("Tue, 24 Nov 2026 11:52:33 +0100") == 1795517553.0
    assert parse_http_date("Tue, 24 Nov 2026 10:52:33") == 1795517553.0


@pytest.mark.parametrize("bad", ["", "   ", "yesterday", "Tue, 99 Foo 2026", None, 12])
def test_parse_http_date_invalid(bad):
    with pytest.raises(ValueError):
        parse_http_date(bad)


def test_module_constants():
    assert records.DRIVERS == ("secret", "configmap", "sql")
