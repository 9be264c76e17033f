# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One resolved connection per cluster: the only place where auth is decided.

The connection options (kubernetes.core's names, every ``K8S_AUTH_*``
spelling, kubeconfig files joined by ``:``, in-memory kubeconfigs, the
in-cluster service account, proxy, client certificates, impersonation) are
resolved once into a kubeconfig document of exactly one context, cluster and
user. The API client is built from that document, and helm is handed the same
document as a private file with ``--kube-context``, with helm's own
``HELM_KUBE*``/``HELM_NAMESPACE``/``KUBECONFIG``/proxy variables removed from
its environment. So the scan and the helm step reach the same server with the
same credentials by construction, whatever the controller's environment says.

We own this code rather than calling kubernetes.core's private ``_create_*``
helpers: those build a client ``Configuration``, which cannot be handed to
helm (and loses exec plugins, which must stay as configured), and private
helpers may change between kubernetes.core releases. Only kubernetes.core's
public argument spec is reused, so option names and docs stay the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import shutil
import tempfile

try:
    from urllib.parse import quote, unquote, urlparse, urlunparse
    from urllib.request import proxy_bypass_environment
except ImportError:  # pragma: no cover - Python 2 is not supported
    quote = unquote = urlparse = urlunparse = proxy_bypass_environment = None

from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import ConnectionFailure
from ansible_collections.helmops.unstick.plugins.module_utils.cluster.kubeconfig import (
    DEFAULT_KUBECONFIG,
    file_hint,
    kubeconfig_paths,
    merge_kubeconfigs,
    pick_context,
    read_kubeconfig,
)

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
        AUTH_ARG_MAP as _K8S_AUTH_ARG_MAP,
        AUTH_ARG_SPEC as _K8S_AUTH_ARG_SPEC,
        AUTH_PROXY_HEADERS_SPEC as _K8S_PROXY_HEADERS_SPEC,
    )
    HAS_K8S_CORE = True
except ImportError:  # pragma: no cover - reported by the module
    _K8S_AUTH_ARG_MAP, _K8S_AUTH_ARG_SPEC, _K8S_PROXY_HEADERS_SPEC = {}, {}, {}
    HAS_K8S_CORE = False

#: Connection options, exactly kubernetes.core's (kubeconfig, context, host, ...).
AUTH_ARG_SPEC = copy.deepcopy(_K8S_AUTH_ARG_SPEC)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

#: The environment helm must not see: it would redirect helm away from the
#: cluster we scanned (helm reads these on its own) or route it differently.
HELM_ENV_PREFIXES = ("HELM_KUBE",)
HELM_ENV_NAMES = ("KUBECONFIG", "HELM_NAMESPACE")
PROXY_ENV_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

#: auth providers still built into helm 3.x/4.x (client-go dropped gcp and azure)
HELM_AUTH_PROVIDERS = ("oidc",)
_CREDENTIAL_FIELDS = ("token", "tokenFile", "exec", "auth-provider", "username", "password")


def _env_names(option):
    """Every K8S_AUTH_* name kubernetes.core accepts for ``option`` (AWX uses the second ones)."""
    names = ["K8S_AUTH_" + option.upper()]
    for client_name, name in _K8S_AUTH_ARG_MAP.items():
        if name == option and client_name != option:
            names.append("K8S_AUTH_" + client_name.upper())
    return names


def _from_env(raw, spec):
    kind = spec.get("type")
    if kind == "bool":
        return raw.strip().lower() not in ("0", "false", "no", "off")
    if kind == "list":
        return [part for part in raw.split(",") if part]
    return raw


def resolve_options(params, environ):
    """Each connection option from ``params``, else from the environment; unset ones are None."""
    params = params or {}
    options = {}
    for option, spec in AUTH_ARG_SPEC.items():
        value = params.get(option)
        if value is None and option != "proxy_headers":
            for name in _env_names(option):
                if environ.get(name):
                    value = _from_env(environ[name], spec)
                    break
        options[option] = value
    if options.get("proxy_headers") is None:
        headers = {}
        for key, spec in _K8S_PROXY_HEADERS_SPEC.items():
            raw = environ.get("K8S_AUTH_PROXY_HEADERS_" + key.upper())
            if raw:
                headers[key] = _from_env(raw, spec)
        options["proxy_headers"] = headers or None
    return options


def _bypasses_proxy(server, no_proxy):
    if not no_proxy:
        return False
    host = urlparse(server).hostname or ""
    return bool(proxy_bypass_environment(host, {"no": no_proxy}))


def _env_proxy(environ, scheme):
    for name in ("%s_proxy" % scheme, "all_proxy"):
        value = environ.get(name) or environ.get(name.upper())
        if value:
            return value
    return None


def _with_userinfo(proxy, basic_auth):
    """``http://user:pass@proxy``: how a kubeconfig's proxy-url carries proxy credentials."""
    if not basic_auth:
        return proxy
    parts = urlparse(proxy)
    user, _sep, password = basic_auth.partition(":")
    netloc = "%s:%s@%s" % (quote(user, safe=""), quote(password, safe=""), parts.netloc.rpartition("@")[2])
    return urlunparse(parts._replace(netloc=netloc))


def split_userinfo(proxy):
    """``http://u:p@host:3128`` → (``http://host:3128``, ``"u:p"``); no userinfo → (proxy, None)."""
    if not proxy:
        return proxy, None
    parts = urlparse(proxy)
    if parts.username is None:
        return proxy, None
    auth = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
    return urlunparse(parts._replace(netloc=parts.netloc.rpartition("@")[2])), auth


class _HeaderName(str):
    """A header name that is equal only to itself, so a dict holds it several times."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def lower(self):
        return self


class Connection:
    """A cluster as both the API client and helm will reach it.

    ``document``: a kubeconfig holding exactly one context (``context``), its
    cluster and its user. ``label``: a short, non-secret name for messages.
    ``helm_unsupported``: None, or why helm cannot be given this connection
    (then no strategy that needs helm may run).
    """

    def __init__(self, document, context, label, helm_unsupported=None, secrets=(), proxy_headers=None):
        self.document = document
        self.context = context
        self.label = label
        self.helm_unsupported = helm_unsupported
        self.secrets = tuple(s for s in secrets if s)
        #: ``proxy_headers`` option (basic_auth, user_agent; proxy_basic_auth travels in proxy-url)
        self.proxy_headers = dict(proxy_headers or {})

    @property
    def cluster(self):
        return self.document["clusters"][0]["cluster"]

    @property
    def user(self):
        return self.document["users"][0]["user"]

    @property
    def server(self):
        return str(self.cluster.get("server") or "").rstrip("/")

    @property
    def proxy(self):
        return self.cluster.get("proxy-url")

    def impersonation_headers(self):
        user = self.user
        headers = {}
        if user.get("as"):
            headers["Impersonate-User"] = user["as"]
        if user.get("as-groups"):
            headers["Impersonate-Group"] = list(user["as-groups"])
        if user.get("as-uid"):
            headers["Impersonate-Uid"] = user["as-uid"]
        for key, values in (user.get("as-user-extra") or {}).items():
            headers["Impersonate-Extra-%s" % quote(key, safe="")] = list(values)
        return headers

    def api_client(self, retries=None):
        """A ``kubernetes.client.ApiClient`` for this document (and nothing else)."""
        import kubernetes
        configuration = kubernetes.client.Configuration()
        try:
            kubernetes.config.load_kube_config_from_dict(
                config_dict=copy.deepcopy(self.document), context=self.context,
                client_configuration=configuration, persist_config=False)
        except Exception as exc:  # ConfigException, exec plugin failures, bad data fields
            raise ConnectionFailure("cluster %s: cannot load credentials: %s" % (self.label, exc))
        # Explicit, so the client never picks a proxy from the environment on its own. Credentials in the
        # proxy-url (helm's way) become a Proxy-Authorization header (urllib3 ignores userinfo there).
        configuration.proxy, proxy_auth = split_userinfo(self.proxy)
        configuration.no_proxy = None
        headers = dict(self.proxy_headers, **({"proxy_basic_auth": proxy_auth} if proxy_auth else {}))
        if headers:
            import urllib3
            configuration.proxy_headers = urllib3.util.make_headers(**headers)
        if configuration.host.rstrip("/") != self.server:  # pragma: no cover - a bug, not an input
            raise ConnectionFailure("cluster %s: the client would reach %s, not %s"
                                    % (self.label, configuration.host, self.server))
        if retries is not None:
            configuration.retries = retries
        client = kubernetes.client.ApiClient(configuration)
        for header, value in self.impersonation_headers().items():
            # one header line per group or extra value, as Kubernetes expects: urllib3
            # takes distinct (unequal) keys for the same name
            for item in value if isinstance(value, list) else [value]:
                client.default_headers[_HeaderName(header)] = item
        return client

    def helm_kubeconfig(self, directory):
        """Write the document helm gets (0600) into ``directory``; returns its path."""
        import yaml
        path = os.path.join(directory, "kubeconfig")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(self.document, handle, default_flow_style=False)
        return path

    def helm_environment(self, environ, driver):
        """The controller's environment minus everything that would redirect helm."""
        env = {}
        for name, value in environ.items():
            if name.startswith(HELM_ENV_PREFIXES) or name in HELM_ENV_NAMES \
                    or name.lower() in PROXY_ENV_NAMES:
                continue
            env[name] = value
        env["HELM_DRIVER"] = driver
        return env

    def private_dir(self):
        """A 0700 directory for the helm kubeconfig; remove it with ``remove_private_dir``."""
        return tempfile.mkdtemp(prefix="helmops-unstick-")

    @staticmethod
    def remove_private_dir(directory):
        shutil.rmtree(directory, ignore_errors=True)

    def mask(self, text):
        """``text`` with every credential of this connection replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text


def _in_cluster(environ):
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not (host and port and os.path.isfile(token)):
        return None
    if ":" in host:
        host = "[%s]" % host
    cluster = {"server": "https://%s:%s" % (host, port),
               "certificate-authority": os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")}
    return cluster, {"tokenFile": token}


def _base(options, environ):
    """(context name, context entry, cluster entry, user entry, label) before overrides."""
    host, kubeconfig, wanted = options.get("host"), options.get("kubeconfig"), options.get("context")
    if host and (options.get("api_key") or (options.get("username") and options.get("password"))
                 or (options.get("client_cert") and options.get("client_key"))):
        # enough to authenticate without any kubeconfig (kubernetes.core's rule)
        name = "helmops-unstick"
        return (name, {"name": name, "context": {"cluster": name, "user": name}},
                {"name": name, "cluster": {"server": host}}, {"name": name, "user": {}}, str(host))
    if not (kubeconfig or wanted):
        found = _in_cluster(environ)
        if found:
            name = "in-cluster"
            return (name, {"name": name, "context": {"cluster": name, "user": name}},
                    {"name": name, "cluster": found[0]}, {"name": name, "user": found[1]},
                    str(host or name))
    if isinstance(kubeconfig, dict):
        doc, where = copy.deepcopy(kubeconfig), "the in-memory kubeconfig"
    else:
        source = kubeconfig or environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
        paths = kubeconfig_paths(source)
        if not paths:
            raise ConnectionFailure("no kubeconfig file given")
        unreadable = [p for p in paths if not (os.path.isfile(p) and os.access(p, os.R_OK))]
        if unreadable:
            raise ConnectionFailure("kubeconfig %s is missing or not readable"
                                    % " and ".join(file_hint(p) for p in unreadable))
        doc = merge_kubeconfigs(paths)
        where = "kubeconfig " + " + ".join(file_hint(p) for p in paths)
    context, entry, cluster, user = pick_context(doc, wanted, where)
    return context, entry, cluster, user, str(wanted or host or context)


def resolve(params, environ=None):
    """The ``Connection`` for these module params (and environment). Raises ConnectionFailure."""
    environ = os.environ if environ is None else environ
    options = resolve_options(params, environ)
    try:
        context, entry, cluster_entry, user_entry, label = _base(options, environ)
    except ConnectionFailure as err:
        raise ConnectionFailure("cluster %s: %s" % (fallback_label(options, environ), err))
    cluster, user = cluster_entry.setdefault("cluster", {}), user_entry.setdefault("user", {})
    if options.get("host"):
        cluster["server"] = str(options["host"]).rstrip("/")
    if not cluster.get("server"):
        raise ConnectionFailure("cluster %s: context '%s' has no server" % (label, context))
    if options.get("ca_cert"):
        cluster.pop("certificate-authority-data", None)
        cluster["certificate-authority"] = os.path.abspath(os.path.expanduser(options["ca_cert"]))
    if options.get("validate_certs") is False:
        # client-go refuses a CA together with insecure-skip-tls-verify
        cluster.pop("certificate-authority-data", None)
        cluster.pop("certificate-authority", None)
        cluster["insecure-skip-tls-verify"] = True
    elif options.get("validate_certs") is True:
        cluster.pop("insecure-skip-tls-verify", None)
    if options.get("api_key"):
        for key in _CREDENTIAL_FIELDS:
            user.pop(key, None)
        user["token"] = options["api_key"]
    if options.get("username") and options.get("password"):
        for key in _CREDENTIAL_FIELDS:
            user.pop(key, None)
        user["username"], user["password"] = options["username"], options["password"]
    for option, key in (("client_cert", "client-certificate"), ("client_key", "client-key")):
        if options.get(option):
            user.pop(key + "-data", None)
            user[key] = os.path.abspath(os.path.expanduser(options[option]))
    if options.get("impersonate_user"):
        user["as"] = options["impersonate_user"]
    if options.get("impersonate_groups"):
        user["as-groups"] = list(options["impersonate_groups"])

    headers = options.get("proxy_headers") or {}
    unsupported = None
    proxy = options.get("proxy") or cluster.get("proxy-url") or _env_proxy(
        environ, urlparse(cluster["server"]).scheme)
    no_proxy = options.get("no_proxy")
    if no_proxy is None and not (options.get("proxy") or cluster.get("proxy-url")):
        no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY")
    cluster.pop("proxy-url", None)
    if proxy and not _bypasses_proxy(cluster["server"], no_proxy):
        cluster["proxy-url"] = _with_userinfo(proxy, headers.get("proxy_basic_auth"))
    unsupported = ["proxy_headers.%s cannot be given to helm" % key
                   for key in ("basic_auth", "user_agent") if headers.get(key)]
    provider = (user.get("auth-provider") or {}).get("name") if isinstance(user.get("auth-provider"), dict) else None
    if provider and provider not in HELM_AUTH_PROVIDERS:
        unsupported.append("kubeconfig user '%s' uses auth-provider '%s', which helm 3 and 4 no longer support "
                           "(use an exec credential plugin)" % (user_entry.get("name"), provider))

    body = dict(entry.get("context") or {})
    body["cluster"], body["user"] = cluster_entry["name"], user_entry.get("name") or "helmops-unstick"
    user_entry["name"] = body["user"]
    body.pop("namespace", None)   # every helm call names its namespace
    document = {"apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
                "contexts": [{"name": context, "context": body}],
                "clusters": [cluster_entry], "users": [user_entry]}
    secrets = [options.get("api_key"), options.get("password"), user.get("token"), user.get("password"),
               headers.get("proxy_basic_auth")]
    return Connection(document, context, label, "; ".join(unsupported) or None, secrets,
                      {key: headers[key] for key in ("basic_auth", "user_agent") if headers.get(key)})


def client_retries():
    """What urllib3 may retry under our client: only failures to connect.

    Otherwise it would retry 429/503 answers with Retry-After and, for PUT, a
    connection dropped after the request was sent (a write that may have
    landed). KubeApi retries reads itself and never retries writes.
    respect_retry_after_header off: else a 429/503 with Retry-After becomes a
    MaxRetryError (no status, no Retry-After for KubeApi's backoff, and a
    refused write looks unanswered)."""
    from urllib3.util import Retry
    return Retry(total=3, connect=3, read=0, status=0, other=0, redirect=3, respect_retry_after_header=False)


def fallback_label(options, environ):
    """A label for messages when the connection cannot be resolved."""
    for value in (options.get("context"), options.get("host")):
        if value:
            return str(value)
    kubeconfig = options.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        return str(kubeconfig.get("current-context") or "in-memory kubeconfig")
    source = kubeconfig or environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    for path in kubeconfig_paths(source):
        try:
            current = read_kubeconfig(path).get("current-context")
        except ConnectionFailure:
            continue
        if current:
            return str(current)
    return "default"
