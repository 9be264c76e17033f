# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""connection.resolve: every way to name a cluster ends in one document that both the
API client and helm use."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
from ansible_collections.helmops.unstick.plugins.module_utils.cluster import connection


def kubeconfig(path, contexts, current=None, **cluster_extra):
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": c, "cluster": dict({"server": "https://%s.example:6443" % c}, **cluster_extra)}
                        for c in contexts],
           "users": [{"name": "u-" + c, "user": {"token": "tok-" + c}} for c in contexts],
           "contexts": [{"name": c, "context": {"cluster": c, "user": "u-" + c, "namespace": "ns-" + c}}
                        for c in contexts]}
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_context_from_the_second_file_and_kubectls_current_context(tmp_path):
    a = kubeconfig(tmp_path / "a", ["auth"], current="auth")
    b = kubeconfig(tmp_path / "b", ["eu-prod"], current="eu-prod")
    joined = os.pathsep.join([a, b])
    conn = connection.resolve({"kubeconfig": joined, "context": "eu-prod"}, {})
    assert (conn.context, conn.server, conn.label) == ("eu-prod", "https://eu-prod.example:6443", "eu-prod")
    assert conn.user == {"token": "tok-eu-prod"}
    assert [c["name"] for c in conn.document["contexts"]] == ["eu-prod"]   # exactly one of each
    assert len(conn.document["clusters"]) == len(conn.document["users"]) == 1
    assert "namespace" not in conn.document["contexts"][0]["context"]      # helm calls name their namespace
    # no context: the first file that sets one wins (kubectl), not the last (the Python client)
    assert connection.resolve({"kubeconfig": joined}, {}).context == "auth"


def test_unknown_context_lists_the_available_ones(tmp_path):
    path = kubeconfig(tmp_path / "k", ["one", "two"], current="one")
    with pytest.raises(ConnectionFailure) as err:
        connection.resolve({"kubeconfig": path, "context": "three"}, {})
    assert "context 'three' does not exist" in str(err.value) and "(contexts: one, two)" in str(err.value)
    assert str(err.value).startswith("cluster three: ")


def test_unreadable_files_are_named_without_the_whole_no_log_value(tmp_path):
    with pytest.raises(ConnectionFailure) as err:
        connection.resolve({"kubeconfig": str(tmp_path / "missing.yaml")}, {})
    assert "'missing.yaml' in %s" % tmp_path in str(err.value)


def test_relative_paths_are_resolved_against_their_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "config"
    path.write_text(yaml.safe_dump({
        "current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://c:6443", "certificate-authority": "ca.crt"}}],
        "users": [{"name": "u", "user": {"client-certificate": "u.crt", "client-key": "u.key",
                                         "exec": {"command": "./bin/get-token", "apiVersion":
                                                  "client.authentication.k8s.io/v1"}}}]}))
    conn = connection.resolve({"kubeconfig": str(path)}, {})
    assert conn.cluster["certificate-authority"] == str(tmp_path / "sub" / "ca.crt")
    assert conn.user["client-key"] == str(tmp_path / "sub" / "u.key")
    assert conn.user["exec"]["command"] == str(tmp_path / "sub" / "bin" / "get-token")   # exec kept as configured


@pytest.mark.parametrize("env", [
    {"K8S_AUTH_HOST": "https://k:6443", "K8S_AUTH_API_KEY": "tok-7", "K8S_AUTH_SSL_CA_CERT": "/ca.pem",
     "K8S_AUTH_VERIFY_SSL": "true"},                                                      # what AWX injects
    {"K8S_AUTH_HOST": "https://k:6443", "K8S_AUTH_API_KEY": "tok-7", "K8S_AUTH_CA_CERT": "/ca.pem",
     "K8S_AUTH_VALIDATE_CERTS": "yes"}])
def test_every_k8s_auth_spelling(env):
    conn = connection.resolve({}, env)
    assert conn.server == "https://k:6443" and conn.user == {"token": "tok-7"}
    assert conn.cluster["certificate-authority"] == "/ca.pem" and conn.label == "https://k:6443"
    assert conn.mask("Unauthorized tok-7") == "Unauthorized ********"


def test_validate_certs_false_drops_the_ca_as_client_go_requires():
    conn = connection.resolve({"host": "https://k:6443", "api_key": "t", "ca_cert": "/ca.pem",
                               "validate_certs": False}, {})
    assert conn.cluster == {"server": "https://k:6443", "insecure-skip-tls-verify": True}


def test_options_override_the_kubeconfig(tmp_path):
    path = kubeconfig(tmp_path / "k", ["c"], current="c")
    conn = connection.resolve({"kubeconfig": path, "api_key": "mine", "impersonate_user": "ops",
                               "impersonate_groups": ["a", "b"], "client_cert": "/c.crt", "client_key": "/c.key"}, {})
    assert conn.user == {"token": "mine", "as": "ops", "as-groups": ["a", "b"],
                         "client-certificate": "/c.crt", "client-key": "/c.key"}
    assert conn.impersonation_headers() == {"Impersonate-User": "ops", "Impersonate-Group": ["a", "b"]}


def test_in_memory_kubeconfig_keeps_its_context_names():
    doc = {"current-context": "auth",
           "contexts": [{"name": "auth", "context": {"cluster": "a", "user": "u"}}],
           "clusters": [{"name": "a", "cluster": {"server": "https://a:6443"}}],
           "users": [{"name": "u", "user": {"username": "admin", "password": "pw"}}]}
    conn = connection.resolve({"kubeconfig": doc}, {"KUBECONFIG": "/elsewhere"})
    assert (conn.label, conn.server) == ("auth", "https://a:6443")
    assert conn.mask("pw in text") == "******** in text"


def test_in_cluster_service_account(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("sa-token")
    monkeypatch.setattr(connection, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    conn = connection.resolve({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"})
    assert conn.server == "https://10.0.0.1:443" and conn.label == "in-cluster"
    assert conn.user == {"tokenFile": str(tmp_path / "token")}
    assert conn.cluster["certificate-authority"] == str(tmp_path / "ca.crt")


def test_proxy_option_env_and_no_proxy(tmp_path):
    base = {"host": "https://api.example:6443", "api_key": "t"}
    assert connection.resolve(dict(base, proxy="http://proxy:3128"), {}).proxy == "http://proxy:3128"
    # from the environment, as the Python client would: the same for helm, as proxy-url
    assert connection.resolve(base, {"HTTPS_PROXY": "http://envproxy:8080"}).proxy == "http://envproxy:8080"
    assert connection.resolve(base, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example"}).proxy is None
    assert connection.resolve(dict(base, proxy="http://p:1", no_proxy="api.example"), {}).proxy is None
    withauth = connection.resolve(dict(base, proxy="http://p:1", proxy_headers={"proxy_basic_auth": "me:s3"}), {})
    assert withauth.proxy == "http://me:s3@p:1" and withauth.helm_unsupported is None
    odd = connection.resolve(dict(base, proxy_headers={"user_agent": "x"}), {})
    assert odd.helm_unsupported == "proxy_headers.user_agent cannot be given to helm"


def test_auth_providers_helm_no_longer_has_are_refused_for_helm(tmp_path):
    doc = {"current-context": "g", "contexts": [{"name": "g", "context": {"cluster": "g", "user": "g"}}],
           "clusters": [{"name": "g", "cluster": {"server": "https://g:443"}}],
           "users": [{"name": "g", "user": {"auth-provider": {"name": "gcp"}}}]}
    assert "auth-provider 'gcp'" in connection.resolve({"kubeconfig": doc}, {}).helm_unsupported


def test_helm_environment_cannot_redirect_helm():
    conn = connection.resolve({"host": "https://k:6443", "api_key": "t"}, {})
    env = conn.helm_environment({"PATH": "/bin", "HOME": "/root", "HELM_KUBECONTEXT": "eu-prod",
                                 "HELM_KUBETOKEN": "x", "HELM_KUBEAPISERVER": "https://other",
                                 "HELM_NAMESPACE": "kube-system", "KUBECONFIG": "/other",
                                 "https_proxy": "http://p", "NO_PROXY": "*", "HELM_MAX_HISTORY": "5"}, "configmap")
    assert env == {"PATH": "/bin", "HOME": "/root", "HELM_MAX_HISTORY": "5", "HELM_DRIVER": "configmap"}


def test_api_client_reaches_the_documents_server_with_its_headers():
    conn = connection.resolve({"host": "https://k:6443/", "api_key": "tok", "impersonate_groups": ["a", "b"],
                               "validate_certs": False}, {"HTTPS_PROXY": "http://never:1", "NO_PROXY": "k"})
    client = conn.api_client()
    assert client.configuration.host == "https://k:6443" and client.configuration.proxy is None
    assert client.configuration.api_key == {"BearerToken": "Bearer tok"}
    assert sorted(v for k, v in client.default_headers.items() if str.__str__(k) == "Impersonate-Group") == ["a", "b"]


def test_proxy_credentials_reach_the_scan_as_a_header_and_helm_as_userinfo():
    base = {"host": "https://api.example:6443", "api_key": "t", "proxy": "http://p:3128"}
    conn = connection.resolve(dict(base, proxy_headers={"proxy_basic_auth": "me:s3 cr%t"}), {})
    assert conn.cluster["proxy-url"] == "http://me:s3%20cr%25t@p:3128"          # helm (client-go) reads this
    configuration = conn.api_client().configuration
    assert configuration.proxy == "http://p:3128"                               # urllib3 ignores userinfo
    assert configuration.proxy_headers == {"proxy-authorization": "Basic bWU6czMgY3IldA=="}
    # credentials written into a kubeconfig's own proxy-url work the same way for the scan
    doc = {"current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
           "clusters": [{"name": "c", "cluster": {"server": "https://c:6443", "proxy-url": "http://a:b@p:1"}}],
           "users": [{"name": "u", "user": {"token": "t"}}]}
    own = connection.resolve({"kubeconfig": doc}, {}).api_client().configuration
    assert (own.proxy, own.proxy_headers) == ("http://p:1", {"proxy-authorization": "Basic YTpi"})


def test_every_reason_helm_cannot_be_used_is_kept_and_headers_still_reach_the_scan():
    doc = {"current-context": "g", "contexts": [{"name": "g", "context": {"cluster": "g", "user": "g"}}],
           "clusters": [{"name": "g", "cluster": {"server": "https://g:443"}}],
           "users": [{"name": "g", "user": {"auth-provider": {"name": "gcp"}, "token": "t"}}]}
    conn = connection.resolve({"kubeconfig": doc, "proxy": "http://p:1",
                               "proxy_headers": {"user_agent": "ua/1", "basic_auth": "x:y"}}, {})
    assert conn.helm_unsupported.split("; ")[:2] == ["proxy_headers.basic_auth cannot be given to helm",
                                                     "proxy_headers.user_agent cannot be given to helm"]
    assert "auth-provider 'gcp'" in conn.helm_unsupported
    plain = connection.resolve({"host": "https://k:6443", "api_key": "t", "proxy": "http://p:1",
                                "proxy_headers": {"user_agent": "ua/1", "basic_auth": "x:y"}}, {})
    assert plain.api_client().configuration.proxy_headers == {"user-agent": "ua/1", "authorization": "Basic eDp5"}
    assert connection.split_userinfo("http://p:1") == ("http://p:1", None)
