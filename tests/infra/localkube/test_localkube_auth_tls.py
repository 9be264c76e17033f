# SPDX-License-Identifier: GPL-3.0-or-later
"""Bearer-token authn, RBAC-like authz, TLS with a generated CA."""
from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request

import pytest
from kubernetes.client.exceptions import ApiException

from localkube.testing import make_api, raw, secret
from localkube import LocalKube

TOKENS = {
    "admin-token": None,
    "ro": {"verbs": ["get", "list", "watch"], "user": "system:serviceaccount:ops:viewer"},
    "ns-limited": {"namespaces_deny": ["secret-ns"], "user": "system:serviceaccount:ops:limited"},
    "team-a": {"namespaces": ["team-a"], "resources": ["secrets"]},
    "old": {"expired": True},
}


@pytest.fixture(scope="module")
def secured():
    with LocalKube(tls=True, tokens=TOKENS) as k:
        k.store.put(secret("s", ns="secret-ns"))
        k.store.put(secret("t", ns="team-a"))
        yield k


def status(e: ApiException) -> dict:
    return json.loads(e.body)


@pytest.mark.parametrize("token", ["wrong", "old"])
def test_unauthenticated_is_401(secured, token):
    with pytest.raises(ApiException) as e:
        make_api(secured, token).list_namespaced_secret("default")
    assert e.value.status == 401 and status(e.value)["reason"] == "Unauthorized"


def test_no_credentials_is_the_anonymous_user():
    """As kube-apiserver's default --anonymous-auth=true: no token is system:anonymous, whom RBAC refuses
    (403) all but the public paths; with anonymous_auth=False (--anonymous-auth=false) it is 401."""
    with LocalKube(tls=True, tokens=TOKENS) as kube:
        with pytest.raises(ApiException) as e:
            make_api(kube).list_namespaced_secret("default")
        st = status(e.value)
        assert e.value.status == 403 and st["reason"] == "Forbidden" and st["details"] == {"kind": "secrets"}
        assert st["message"] == ('secrets is forbidden: User "system:anonymous" cannot list resource "secrets" '
                                 'in API group "" in the namespace "default"')
        code, _, st = raw(kube, "GET", "/api")
        assert code == 403 and st["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
        assert raw(kube, "GET", "/version")[0] == 200
    with LocalKube(tls=True, tokens=TOKENS, anonymous_auth=False) as kube:
        with pytest.raises(ApiException) as e:
            make_api(kube).list_namespaced_secret("default")
        assert e.value.status == 401 and status(e.value)["reason"] == "Unauthorized"


def test_admin_token_full_access(secured):
    api = make_api(secured, "admin-token")
    assert [s.metadata.name for s in api.list_secret_for_all_namespaces().items] == ["s", "t"]
    api.create_namespaced_config_map("default", {"metadata": {"name": "ok"}})


def test_read_only_token(secured):
    api = make_api(secured, "ro")
    assert api.read_namespaced_secret("s", "secret-ns").metadata.name == "s"
    with pytest.raises(ApiException) as e:
        api.create_namespaced_secret("default", secret("nope"))
    st = status(e.value)
    assert e.value.status == 403 and st["reason"] == "Forbidden"
    assert st["message"] == ('secrets is forbidden: User "system:serviceaccount:ops:viewer" '
                             'cannot create resource "secrets" in API group "" in the '
                             'namespace "default"')
    with pytest.raises(ApiException) as e:
        api.delete_namespaced_secret("s", "secret-ns")
    assert e.value.status == 403 and 'secrets "s" is forbidden' in status(e.value)["message"]


def test_namespace_denied_token(secured):
    api = make_api(secured, "ns-limited")
    assert api.list_namespaced_secret("team-a").items[0].metadata.name == "t"
    with pytest.raises(ApiException) as e:
        api.list_namespaced_secret("secret-ns")
    assert e.value.status == 403
    assert status(e.value)["message"] == (
        'secrets is forbidden: User "system:serviceaccount:ops:limited" cannot list resource '
        '"secrets" in API group "" in the namespace "secret-ns"')
    # like RBAC: a cluster-wide list is forbidden as a whole
    with pytest.raises(ApiException) as e:
        api.list_secret_for_all_namespaces()
    assert e.value.status == 403 and "at the cluster scope" in status(e.value)["message"]


def test_namespace_allow_list_and_resource_limits(secured):
    api = make_api(secured, "team-a")
    assert api.read_namespaced_secret("t", "team-a").metadata.name == "t"
    for call in (lambda: api.read_namespaced_secret("s", "secret-ns"),
                 lambda: api.list_namespaced_config_map("team-a"),
                 lambda: api.list_namespace()):
        with pytest.raises(ApiException) as e:
            call()
        assert e.value.status == 403


def test_discovery_needs_only_authentication(secured):
    assert raw(secured, "GET", "/version", token="ro")[0] == 200
    assert raw(secured, "GET", "/api/v1", token="team-a")[0] == 200
    assert raw(secured, "GET", "/api/v1")[0] == 403          # system:anonymous
    assert raw(secured, "GET", "/version")[0] == 200          # anonymous, like k8s
    assert raw(secured, "GET", "/version", token="wrong")[0] == 401


def test_tls_requires_the_ca(secured):
    assert secured.url.startswith("https://127.0.0.1:")
    ctx = ssl.create_default_context()          # system CAs only
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(secured.url + "/version", context=ctx, timeout=5)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    ctx = ssl.create_default_context(cafile=secured.ca_file)
    assert urllib.request.urlopen(secured.url + "/version", context=ctx, timeout=5).status == 200
    ctx.check_hostname = True
    host_url = secured.url.replace("127.0.0.1", "localhost")
    assert urllib.request.urlopen(host_url + "/version", context=ctx, timeout=5).status == 200


def test_python_client_with_ssl_ca_cert_and_kubeconfig(secured, tmp_path):
    from kubernetes import client, config
    api = make_api(secured, "admin-token")       # Configuration.ssl_ca_cert = ca_file
    assert api.api_client.configuration.ssl_ca_cert == secured.ca_file
    assert api.read_namespace("default").metadata.name == "default"
    path = secured.write_kubeconfig(tmp_path / "kc", extra_contexts={
        "viewer": {"token": "ro", "namespace": "team-a"}})
    for ctx_name, token in (("localkube", "admin-token"), ("viewer", "ro")):
        api_client = config.new_client_from_config(config_file=str(path), context=ctx_name)
        v1 = client.CoreV1Api(api_client)
        assert v1.read_namespaced_secret("t", "team-a").metadata.name == "t"
    with pytest.raises(ApiException) as e:
        v1.create_namespace({"metadata": {"name": "x"}})
    assert e.value.status == 403


def test_client_certificates_authenticate_as_their_cn(tmp_path):
    """kube-apiserver's --client-ca-file: a certificate signed by the CA authenticates as its CN (RBAC
    then decides); no certificate and no token is system:anonymous (403); a certificate of a user without rules
    may do nothing."""
    import ssl
    import urllib.error
    import urllib.request
    with LocalKube(tls=True, client_certs={"helm-unstick": None, "viewer": {"verbs": ["get", "list"]}}) as kube:
        def get(path, cert=None):
            ctx = ssl.create_default_context(cafile=kube.ca_file)
            if cert:
                ctx.load_cert_chain(*cert)
            try:
                with urllib.request.urlopen(kube.url + path, context=ctx, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as err:
                return err.code
        assert get("/api/v1/namespaces/default/secrets", kube.client_cert("helm-unstick", ["ops"])) == 200
        assert get("/api/v1/namespaces/default/secrets") == 403       # system:anonymous
        assert get("/api/v1/namespaces/default/secrets", kube.client_cert("stranger")) == 403
        assert get("/version") == 200                                  # public, as before
        cert, key = kube.client_cert("viewer")
        listing = subprocess.run(["kubectl", "--server", kube.url, "--certificate-authority", kube.ca_file,
                                  "--client-certificate", cert, "--client-key", key, "get", "secrets", "-A"],
                                 capture_output=True, text=True)
        assert listing.returncode == 0, listing.stderr
        denied = subprocess.run(["kubectl", "--server", kube.url, "--certificate-authority", kube.ca_file,
                                 "--client-certificate", cert, "--client-key", key, "create", "secret",
                                 "generic", "x", "-n", "default"], capture_output=True, text=True)
        assert denied.returncode == 1 and 'User "viewer" cannot create' in denied.stderr, denied.stderr
