# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helm release records in PostgreSQL (Helm's ``sql`` storage driver).

The storage interface (``storage/interface.ReleaseStore``), as ``storage/kube.ReleaseStorage`` (what the runner and
the actions use), and the same scan shape, so its cost follows the number of
odd releases, not the size of the fleet:

1. one query of metadata columns only (no ``body``) for rows whose status is
   not settled, or failed with our claim (unfinished remediations), with the
   database server's clock (ages are measured on it, as on the API server's);
2. the candidates' histories, metadata only, one query per namespace;
3. ``body`` only for the newest row of the releases acted on.

Every write is one transaction whose UPDATE applies only if the row is still
exactly what was read (row version, ``modifiedat``, ``status`` and ``body``);
zero rows updated is a conflict (409), as Kubernetes answers a stale
resourceVersion, and nothing is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.helmops.unstick.plugins.module_utils.storage.interface import SETTLED, ReleaseStore, ScanResult
from ansible_collections.helmops.unstick.plugins.module_utils.release.records import format_http_date
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql import rows as sqlrows
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import DatabaseError

_META = ("r.key, r.namespace, r.name, r.version, r.status, r.owner, r.createdat, r.modifiedat, "
         "r.xmin::text AS row_version, "
         "(SELECT json_object_agg(c.key, c.value) FROM custom_labels_v1 c WHERE c.releasekey = r.key "
         "AND c.releasenamespace = r.namespace AND c.key = ANY(%(claim_keys)s)) AS claim_labels")

#: the server's clock, whether Helm's tables exist, and whether row-level security hides every row (it is on
#: and no policy lets this role read)
PROBE = ("SELECT extract(epoch FROM now())::float8 AS now, current_user AS role, "
         "to_regclass('releases_v1') IS NOT NULL AS has_releases, "
         "to_regclass('custom_labels_v1') IS NOT NULL AS has_labels, "
         "CASE WHEN to_regclass('releases_v1') IS NULL THEN false "
         "ELSE row_security_active('releases_v1') END AS rls_active, "
         "EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = 'releases_v1' AND p.cmd IN ('SELECT', 'ALL') "
         "AND EXISTS (SELECT 1 FROM unnest(p.roles) AS r(name) "
         "WHERE r.name = 'public' OR pg_has_role(current_user, r.name, 'member'))) AS has_policy")

SCAN = ("SELECT " + _META + " FROM releases_v1 r WHERE r.owner = 'helm' AND (r.status <> ALL(%(settled)s) "
        "OR (r.status = 'failed' AND EXISTS (SELECT 1 FROM custom_labels_v1 c WHERE c.releasekey = r.key "
        "AND c.releasenamespace = r.namespace AND c.key = %(claim_label)s)))")
HISTORIES = ("SELECT " + _META + " FROM releases_v1 r WHERE r.owner = 'helm' AND r.namespace = %(namespace)s "
             "AND r.name = ANY(%(names)s)")
ONE_ROW = ("SELECT " + _META + ", r.type, r.body FROM releases_v1 r "
           "WHERE r.key = %(key)s AND r.namespace = %(namespace)s")
RECORDS = ("SELECT " + _META + ", r.type, r.body FROM releases_v1 r WHERE r.owner = 'helm' "
           "AND r.namespace = %(namespace)s AND r.name = %(name)s")
EXISTS = ("SELECT EXISTS (SELECT 1 FROM releases_v1 WHERE owner = 'helm' AND name = %(name)s "
          "AND (%(namespaces)s::text[] IS NULL OR namespace = ANY(%(namespaces)s))) AS found")
UPDATE = ("UPDATE releases_v1 r SET body = %(new_body)s, status = %(new_status)s, modifiedat = %(new_modifiedat)s "
          "WHERE r.key = %(key)s AND r.namespace = %(namespace)s AND r.xmin::text = %(row_version)s "
          "AND r.modifiedat = %(modifiedat)s AND r.status = %(status)s AND r.body = %(body)s "
          "RETURNING r.key, r.namespace, r.name, r.version, r.status, r.owner, r.createdat, r.modifiedat, "
          "r.xmin::text AS row_version, r.type")
DROP_CLAIM = ("DELETE FROM custom_labels_v1 WHERE releasekey = %(key)s AND releasenamespace = %(namespace)s "
              "AND key = ANY(%(claim_keys)s)")
ADD_LABEL = ("INSERT INTO custom_labels_v1 (releasekey, releasenamespace, key, value) "
             "VALUES (%(key)s, %(namespace)s, %(label)s, %(value)s)")


class SqlReleaseStorage(ReleaseStore):
    """Helm's ``releases_v1`` through one ``Database`` session (see the module docstring)."""

    driver = "sql"

    def __init__(self, database):
        self.db = database
        #: (namespace, key, row version) → the row as read: what a write must still find
        self._read = {}

    @property
    def label(self):
        return self.db.label

    def helm_environment(self):
        return self.db.conninfo.helm_environment()

    def secrets(self):
        return self.db.conninfo.secrets

    def close(self):
        self.db.close()

    def _params(self, **extra):
        return dict(extra, claim_keys=list(sqlrows.CLAIM_KEYS), claim_label=sqlrows.CLAIM_KEYS[0])

    def _remember(self, row):
        self._read[(row["namespace"], row["key"], row["row_version"])] = row

    def _probe(self):
        probe = self.db.read(PROBE)[0]
        if not probe["has_releases"]:
            raise DatabaseError(404, "no such table", "no table releases_v1 (Helm's SQL driver creates it on its "
                                "first run): is this the database Helm uses?", self.label)
        if not probe["has_labels"]:
            raise DatabaseError(404, "no such table", "no table custom_labels_v1: its schema predates Helm's "
                                "custom labels; run any helm command with HELM_DRIVER=sql once to migrate it",
                                self.label)
        if probe["rls_active"] and not probe["has_policy"]:
            # releases_v1 has row-level security and no policy: only its owner (Helm's role) sees any row
            raise DatabaseError(403, "row-level security", "role %s sees no row of releases_v1: row-level "
                                "security is on and no policy lets another role than the table's owner read it; "
                                "connect as the role Helm uses" % probe["role"], self.label)
        return probe

    # -- reads ---------------------------------------------------------
    def scan(self, namespaces=None, keep_namespace=lambda ns: True):
        """Metadata of every odd row in scope (ScanResult, as the Kubernetes storage returns it)."""
        result = ScanResult()
        before = self.db.statements
        probe = self._probe()
        result.server_date = format_http_date(probe["now"])
        sql, params = SCAN, self._params(settled=list(SETTLED))
        if namespaces:
            sql, params["namespaces"] = sql + " AND r.namespace = ANY(%(namespaces)s)", list(namespaces)
        for row in self.db.read(sql, params):
            if keep_namespace(row["namespace"]):
                result.items.append(sqlrows.record_object(row, row["claim_labels"]))
        result.requests = self.db.statements - before
        return result

    def histories(self, namespace, releases):
        """``{release: [objects]}``, metadata only, for releases of one namespace: one query."""
        names = sorted(set(releases))
        out = dict((name, []) for name in names)
        for row in self.db.read(HISTORIES, self._params(namespace=namespace, names=names)):
            if row["name"] in out:
                out[row["name"]].append(sqlrows.record_object(row, row["claim_labels"]))
        return out

    def revisions(self, namespace, release):
        return self.histories(namespace, [release])[release]

    def revisions_at(self, namespace, release):
        """What ``revisions`` returns, and the database server's time (as an HTTP date, like the API's)."""
        items = self.revisions(namespace, release)
        now = self.db.read("SELECT extract(epoch FROM now())::float8 AS now")[0]["now"]
        return items, format_http_date(now)

    def get(self, namespace, name):
        """One row, whole (``body`` included): only for the releases acted on."""
        found = self.db.read(ONE_ROW, self._params(key=name, namespace=namespace))
        if not found:
            raise DatabaseError(404, "not found", "no row %s in namespace %s" % (name, namespace), self.label)
        row = found[0]
        self._remember(row)
        return sqlrows.record_object(row, row["claim_labels"], row["body"])

    def records(self, namespace, release):
        """Every row of one release, whole: for its history."""
        return [sqlrows.record_object(row, row["claim_labels"], row["body"])
                for row in self.db.read(RECORDS, self._params(namespace=namespace, name=release))]

    def release_exists(self, release, namespaces=None):
        """Whether any row of ``release`` exists (in ``namespaces``); None when the database does not say."""
        params = {"name": release, "namespaces": list(namespaces) if namespaces else None}
        try:
            return bool(self.db.read(EXISTS, params)[0]["found"])
        except DatabaseError:
            return None

    # -- writes (always conditional on the row as read) -------------------
    def replace(self, obj):
        meta = obj["metadata"]
        read = self._read.get((meta.get("namespace"), meta.get("name"), meta.get("resourceVersion")))
        if read is None:
            raise ValueError("refusing an unconditional write of %s: it was not read first" % meta.get("name"))
        new, where = sqlrows.update_of(obj, read)
        claim = sqlrows.claim_label_rows(meta)

        def steps(execute):
            params = dict(("new_" + k, v) for k, v in new.items())
            params.update(where)
            updated = execute(UPDATE, params)
            if not updated:
                raise DatabaseError(409, "Conflict", "row %s changed since it was read (row version %s); "
                                    "nothing written" % (where["key"], where["row_version"]), self.label)
            execute(DROP_CLAIM, self._params(key=where["key"], namespace=where["namespace"]))
            for label, value in claim:
                execute(ADD_LABEL, {"key": where["key"], "namespace": where["namespace"], "label": label,
                                    "value": value})
            return updated[0]
        row = dict(self.db.write(steps), body=new["body"], claim_labels=dict(claim) or None)
        self._remember(row)
        return sqlrows.record_object(row, row["claim_labels"], row["body"])
