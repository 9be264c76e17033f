# SPDX-License-Identifier: GPL-3.0-or-later
"""localkube serves coordination.k8s.io/v1 Leases as kube-apiserver does, for what the guard's Lease does
(guarded_upgrade/lease.py): discovery, create, read, a conditional replace (and its 409 when the
resourceVersion is stale), AlreadyExists, NotFound, a badly typed spec; the same requests to both, the answers
compared."""

import pytest

from localkube import LocalKube
from localkube.testing import raw

pytestmark = pytest.mark.slow

LEASES = "/apis/coordination.k8s.io/v1/namespaces/%s/leases"


def _lease(name, holder, **spec):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
            "spec": dict({"holderIdentity": holder, "leaseDurationSeconds": 15,
                          "acquireTime": "2026-12-07T10:00:00.123456Z", "renewTime": "2026-12-07T10:00:00.123456Z"},
                         **spec)}


def _conversation(request, space):
    """The guard's Lease requests, and what each answer says (status, kind, apiVersion, message, spec)."""
    path = LEASES % space
    said = []

    def say(code, headers, body):
        body = body if isinstance(body, dict) else {}
        said.append((code, body.get("kind"), body.get("apiVersion"), body.get("message"), body.get("reason"),
                     (body.get("details") or {}).get("group"), body.get("spec")))
        return body
    say(*request("GET", path + "/helmops-unstick-web"))
    created = say(*request("POST", path, _lease("helmops-unstick-web", "a@ci #1")))
    say(*request("POST", path, _lease("helmops-unstick-web", "b@ci #2")))
    read = say(*request("GET", path + "/helmops-unstick-web"))
    taken = dict(read, spec=dict(read["spec"], holderIdentity="b@ci #2", leaseTransitions=1))
    say(*request("PUT", path + "/helmops-unstick-web", taken))
    stale = dict(created, spec=dict(created["spec"], holderIdentity="c@ci #3"))
    say(*request("PUT", path + "/helmops-unstick-web", stale))          # the resourceVersion read before: 409
    say(*request("POST", path, _lease("helmops-unstick-bad", "a", leaseDurationSeconds="15")))
    lst = request("GET", path)
    said.append((lst[0], lst[2].get("kind"), lst[2].get("apiVersion"), [i["metadata"]["name"] for i in lst[2]["items"]]))
    groups = request("GET", "/apis")[2]
    said.append([g["name"] for g in groups["groups"] if g["name"] == "coordination.k8s.io"])
    resources = request("GET", "/apis/coordination.k8s.io/v1")[2]
    said.append([(r["name"], r["kind"], r["namespaced"]) for r in resources["resources"] if r["name"] == "leases"])
    return said


def test_localkube_answers_the_guards_lease_requests_as_kube_apiserver_does(kube, ns):
    space = ns("wire")
    real = _conversation(lambda m, p, b=None: kube.request(m, p, b), space)
    with LocalKube() as local:
        raw(local, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": space}})
        fake = _conversation(lambda m, p, b=None: raw(local, m, p, b), space)
    assert fake == real
    assert real[0][0] == 404 and real[2][0] == 409 and real[5][0] == 409 and real[4][0] == 200
