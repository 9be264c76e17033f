# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helm release records: decoding, encoding, metadata, safe summaries, time.

Pure helpers, no I/O. Helm stores one Kubernetes object per revision named
``sh.helm.release.v1.<release>.v<revision>``:

* Secret driver: ``data.release`` as returned by the API is
  base64(base64(gzip(release JSON))) -- the API adds one base64 layer
  because Secret data is binary.
* ConfigMap driver: ``data.release`` is base64(gzip(release JSON)).
* SQL driver: the ``body`` column, base64(gzip(release JSON)) as for ConfigMaps
  (``sql/rows.py`` shows a row as such an object).

Like Helm's own decoder, the innermost payload may also be plain JSON when
the gzip magic bytes are absent.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import calendar
import copy
import datetime
import email.utils
import gzip
import json
import re
import zlib
from collections import namedtuple

from ansible_collections.helmops.unstick.plugins.module_utils.release.claims import read_claim
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import UnstickError

DRIVERS = ("secret", "configmap", "sql")

OBJECT_NAME_PREFIX = "sh.helm.release.v1."
_OBJECT_NAME_RE = re.compile(r"^sh\.helm\.release\.v1\.(.+)\.v([0-9]+)$")
_DIGITS_RE = re.compile(r"^[0-9]+$")
_GZIP_MAGIC = b"\x1f\x8b"

# Stable reasons carried by RecordError.reason.
REASON_BASE64 = "not base64"
REASON_GZIP = "not gzip"
REASON_JSON = "not JSON"
REASON_MISSING_STATUS = "missing field info.status"
REASON_MISSING_VERSION = "missing field version"
REASON_BAD_DRIVER = "unknown driver"
REASON_NO_REVISION = "cannot determine revision"
REASON_NO_RELEASE = "cannot determine release name"
REASON_BAD_MODIFIED_AT = "bad modifiedAt label"


class RecordError(UnstickError):
    """A Helm release record could not be read.

    ``reason`` is one of the short ``REASON_*`` strings of this module;
    ``str(err)`` adds detail.
    """

    def __init__(self, reason, detail=None):
        self.reason = reason
        self.detail = detail
        message = reason if not detail else "%s: %s" % (reason, detail)
        super(RecordError, self).__init__(message)


RevisionMeta = namedtuple("RevisionMeta", [
    "release",           # release name (str)
    "namespace",         # namespace of the storage object (str or None)
    "revision",          # revision number (int >= 1)
    "status",            # value of the ``status`` label (str or None)
    "object_name",       # storage object name (str or None)
    "resource_version",  # metadata.resourceVersion (str or None)
    "created_at",        # epoch seconds the record was created (server's creationTimestamp; see meta_from_object)
    "modified_at",       # epoch seconds from the ``modifiedAt`` label, or None (never an age: Helm copies it)
    "claim",             # a ``claims.Claim`` when this record carries our claim, else None
], defaults=(None,))


def _check_driver(driver):
    if driver not in DRIVERS:
        raise RecordError(REASON_BAD_DRIVER, "%r (expected one of %s)" % (driver, ", ".join(DRIVERS)))


def _b64decode(data, layer):
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError:
            raise RecordError(REASON_BASE64, "%s layer contains non-ASCII characters" % layer)
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordError(REASON_BASE64, "%s layer: %s" % (layer, exc))


def decode_payload(data_release, driver):
    """Decode ``data.release`` of a storage object into the release dict.

    ``data_release`` is the value exactly as returned by the Kubernetes API
    (``str``; ``bytes`` accepted). ``driver`` is ``"secret"``,
    ``"configmap"`` or ``"sql"`` (the ``body`` column). Raises ``RecordError`` with reason ``not base64``,
    ``not gzip`` (gzip magic present but stream corrupt), ``not JSON`` (also
    when the JSON is not an object), ``missing field info.status`` or
    ``missing field version`` (absent, or of the wrong type).
    """
    _check_driver(driver)
    if not isinstance(data_release, (str, bytes)):
        raise RecordError(REASON_BASE64, "expected a string, got %s" % type(data_release).__name__)
    payload = _b64decode(data_release, "outer")
    if driver == "secret":
        payload = _b64decode(payload, "inner")
    if payload[:2] == _GZIP_MAGIC:
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error) as exc:
            raise RecordError(REASON_GZIP, str(exc))
    try:
        release = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError(REASON_JSON, str(exc))
    if not isinstance(release, dict):
        raise RecordError(REASON_JSON, "top level is %s, not an object" % type(release).__name__)
    info = release.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("status"), str) or not info.get("status"):
        raise RecordError(REASON_MISSING_STATUS)
    version = release.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise RecordError(REASON_MISSING_VERSION)
    return release


def encode_payload(release, driver):
    """Encode a release dict into ``data.release`` as the API returns it.

    Inverse of ``decode_payload``: compact JSON, gzip (mtime 0, so output is
    deterministic), base64, and for the secret driver one more base64 layer.
    Returns ``str``.
    """
    _check_driver(driver)
    raw = json.dumps(release, separators=(",", ":"), sort_keys=True).encode("utf-8")
    payload = base64.b64encode(gzip.compress(raw, mtime=0))
    if driver == "secret":
        payload = base64.b64encode(payload)
    return payload.decode("ascii")


def parse_object_name(object_name):
    """Split ``sh.helm.release.v1.<release>.v<rev>`` into ``(release, rev)``.

    Returns ``None`` when the name does not follow Helm's pattern. Release
    names may themselves contain dots (``my.app-v2``); the revision is the
    final ``.v<digits>`` suffix.
    """
    if not isinstance(object_name, str):
        return None
    match = _OBJECT_NAME_RE.match(object_name)
    if not match:
        return None
    return match.group(1), int(match.group(2))


def object_name(release, revision):
    """Return Helm's storage object name for ``release`` at ``revision``."""
    return "%s%s.v%d" % (OBJECT_NAME_PREFIX, release, int(revision))


def _get(obj, *keys):
    """First present key of ``obj`` (camelCase API form or snake_case client form)."""
    for key in keys:
        if isinstance(obj, dict) and obj.get(key) is not None:
            return obj[key]
    return None


def _timestamp_value(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return parse_time(value)


def meta_from_object(obj):
    """Build a ``RevisionMeta`` from a storage object's metadata only.

    Works on full Secrets/ConfigMaps and on ``PartialObjectMetadata`` items
    (no ``data`` needed); both camelCase (raw API) and snake_case
    (``kubernetes`` client ``to_dict()``) metadata keys are accepted.

    * revision: the ``version`` label when it is a plain positive integer,
      otherwise the ``.v<rev>`` suffix of the object name; neither ->
      ``RecordError("cannot determine revision")``.
    * release: the ``name`` label, otherwise parsed from the object name;
      neither -> ``RecordError("cannot determine release name")``.
    * status: the ``status`` label (``None`` when absent; classification
      reports that as an error).
    * created_at: when the record was created, on the server's clock:
      ``creationTimestamp`` (the SQL driver's ``createdat`` column, see
      ``sql/rows.py``). Helm creates every pending revision's record, so
      this is when the pending operation started: what its age is measured
      from. Only an object without a creation time (never one the API
      returns) falls back to Helm's ``createdAt`` label.
    * modified_at: the ``modifiedAt`` label (epoch seconds). Never an age:
      Helm copies it from the previous revision onto a new record, so a
      live upgrade's record carries the previous revision's time. A
      non-numeric value raises ``RecordError`` (a corrupt record).
    """
    if not isinstance(obj, dict):
        raise RecordError(REASON_NO_RELEASE, "object is not a mapping")
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = meta.get("name")
    parsed = parse_object_name(name)

    revision = None
    label_version = labels.get("version")
    if isinstance(label_version, str) and _DIGITS_RE.match(label_version) and int(label_version) >= 1:
        revision = int(label_version)
    elif parsed is not None and parsed[1] >= 1:
        revision = parsed[1]
    if revision is None:
        raise RecordError(REASON_NO_REVISION, "object %r, version label %r" % (name, label_version))

    release = labels.get("name")
    if not isinstance(release, str) or not release:
        release = parsed[0] if parsed is not None else None
    if not release:
        raise RecordError(REASON_NO_RELEASE, "object %r" % (name,))

    modified_at = None
    raw_modified = labels.get("modifiedAt")
    if raw_modified is not None:
        if not isinstance(raw_modified, str) or not _DIGITS_RE.match(raw_modified):
            raise RecordError(REASON_BAD_MODIFIED_AT, "object %r: %r" % (name, raw_modified))
        modified_at = float(int(raw_modified))

    created_at = None
    raw_created = _get(meta, "creationTimestamp", "creation_timestamp")
    if raw_created is not None:
        try:
            created_at = _timestamp_value(raw_created)
        except ValueError:
            created_at = None
    if created_at is None:
        raw_label = labels.get("createdAt")
        if isinstance(raw_label, str) and _DIGITS_RE.match(raw_label):
            created_at = float(int(raw_label))

    status = labels.get("status")
    if not isinstance(status, str) or not status:
        status = None

    return RevisionMeta(
        release=release,
        namespace=meta.get("namespace"),
        revision=revision,
        status=status,
        object_name=name,
        resource_version=_get(meta, "resourceVersion", "resource_version"),
        created_at=created_at,
        modified_at=modified_at,
        claim=read_claim(meta),
    )


def safe_summary(release):
    """Return only the non-secret facts of a decoded release.

    Keys: ``name``, ``namespace``, ``revision``, ``status``, ``chart``,
    ``chart_version``, ``app_version``, ``description``, ``last_deployed``
    (``None`` when unknown). Never copies ``config`` (user values),
    ``manifest``, chart ``values``/``templates``/``files``, ``hooks`` or
    ``notes``.
    """
    release = release if isinstance(release, dict) else {}
    info = release.get("info") if isinstance(release.get("info"), dict) else {}
    chart = release.get("chart") if isinstance(release.get("chart"), dict) else {}
    metadata = chart.get("metadata") if isinstance(chart.get("metadata"), dict) else {}

    def scalar(value):
        return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None

    return {
        "name": scalar(release.get("name")),
        "namespace": scalar(release.get("namespace")),
        "revision": scalar(release.get("version")),
        "status": scalar(info.get("status")),
        "chart": scalar(metadata.get("name")),
        "chart_version": scalar(metadata.get("version")),
        "app_version": scalar(metadata.get("appVersion")),
        "description": scalar(info.get("description")),
        "last_deployed": scalar(info.get("last_deployed")),
    }


def mark_failed(release, description, now_rfc3339=None):
    """Return a deep copy of ``release`` with ``info.status = "failed"``.

    ``info.description`` becomes ``description``; every other field,
    including ``info.last_deployed``, is left unchanged -- this mirrors
    Helm's own ``failRelease`` (which never touches ``last_deployed``) so
    ``helm history`` keeps showing when the interrupted operation started.
    ``now_rfc3339`` is accepted for call-site symmetry and validated with
    ``parse_time`` when given, but is not stored (the storage driver records
    the modification time in the ``modifiedAt`` label instead, see
    ``failed_labels``). The input is never mutated.
    """
    if not isinstance(release, dict):
        raise ValueError("release must be a dict")
    if now_rfc3339 is not None:
        parse_time(now_rfc3339)
    new = copy.deepcopy(release)
    info = new.get("info")
    if not isinstance(info, dict):
        info = {}
        new["info"] = info
    info["status"] = "failed"
    info["description"] = description
    return new


def failed_labels(labels, now_epoch):
    """Return a copy of storage-object ``labels`` for a record marked failed.

    Sets ``status=failed`` and ``modifiedAt=<int now_epoch>`` (what Helm's
    driver ``Update`` does for a record that has none; no age is read from
    it); every other label is kept.
    """
    new = dict(labels or {})
    new["status"] = "failed"
    new["modifiedAt"] = str(int(now_epoch))
    return new


_RFC3339_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$")


def parse_time(value):
    """Parse an RFC 3339 timestamp into epoch seconds (``float``).

    Handles Kubernetes timestamps (``2026-11-24T10:52:33Z``) and Helm's
    RFC3339Nano (``2026-11-24T10:52:33.123456789Z``, ``...+02:00``); digits
    beyond microseconds are kept as a float fraction. Raises ``ValueError``.
    """
    if not isinstance(value, str):
        raise ValueError("invalid timestamp %r: expected an RFC 3339 string" % (value,))
    match = _RFC3339_RE.match(value.strip())
    if not match:
        raise ValueError("invalid timestamp %r: expected RFC 3339 like 2026-11-24T10:52:33Z" % (value,))
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    try:
        naive = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError("invalid timestamp %r: %s" % (value, exc))
    offset = 0
    if zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError("invalid timestamp %r: bad UTC offset" % (value,))
        offset = (hours * 3600 + minutes * 60) * (1 if zone[0] == "+" else -1)
    seconds = calendar.timegm(naive.timetuple()) - offset
    return float(seconds) + (float(fraction) if fraction else 0.0)


def format_time(epoch):
    """Format epoch seconds as RFC 3339 UTC (``2026-11-24T10:52:33Z``, or
    with a 9-digit fraction when ``epoch`` has one)."""
    whole = int(epoch // 1)
    nanos = int(round((epoch - whole) * 1e9))
    if nanos >= 1000000000:
        whole, nanos = whole + 1, 0
    stamp = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=whole)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += ".%09d" % nanos
    return text + "Z"


def format_http_date(epoch):
    """Format epoch seconds as an HTTP ``Date`` header (IMF-fixdate, GMT)."""
    return email.utils.formatdate(epoch, usegmt=True)


def parse_http_date(value):
    """Parse an HTTP ``Date`` header into epoch seconds (``float``).

    Dates without a zone are taken as UTC. Raises ``ValueError``.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("invalid HTTP date %r" % (value,))
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError("invalid HTTP date %r: %s" % (value, exc))
    if parsed is None:
        raise ValueError("invalid HTTP date %r" % (value,))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()
