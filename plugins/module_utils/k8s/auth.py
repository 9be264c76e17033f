# -*- coding: utf-8 -*-
# Copyright: helmops.unstick contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authentication: the one place where connection options become an API client.

The option names, defaults and ``K8S_AUTH_*`` environment fallbacks are the
ones of kubernetes.core (we reuse its argument spec and its client factory),
so a task that works with ``kubernetes.core.k8s`` works here unchanged, and
AWX's "OpenShift or Kubernetes API Bearer Token" credential just works.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
        AUTH_ARG_SPEC as _K8S_AUTH_ARG_SPEC,
    )
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as _k8s_client
    HAS_K8S_CORE = True
except ImportError:  # pragma: no cover - reported by the module
    _K8S_AUTH_ARG_SPEC = {}
    _k8s_client = None
    HAS_K8S_CORE = False

#: Connection options, exactly kubernetes.core's (kubeconfig, context, host, ...).
AUTH_ARG_SPEC = copy.deepcopy(_K8S_AUTH_ARG_SPEC)


class ConnectionError_(Exception):
    """The cluster could not be reached or the credentials could not be loaded."""


def _env(name):
    return os.environ.get("K8S_AUTH_" + name.upper())


def cluster_label(params):
    """A short human name for the cluster these options point at.

    Used in messages and backup paths: the context if one is named, else the
    host, else the kubeconfig's current context.
    """
    params = params or {}
    context = params.get("context") or _env("context")
    host = params.get("host") or _env("host")
    if context:
        return str(context)
    if host:
        return str(host)
    kubeconfig = _kubeconfig_source(params)
    if isinstance(kubeconfig, str) and kubeconfig:
        return str(current_context(kubeconfig) or os.path.basename(kubeconfig))
    if isinstance(kubeconfig, dict):
        return str(kubeconfig.get("current-context") or "in-memory kubeconfig")
    return "default"


def _kubeconfig_source(params):
    """The kubeconfig the client will load: the option, K8S_AUTH_KUBECONFIG, else KUBECONFIG."""
    return params.get("kubeconfig") or _env("kubeconfig") or os.environ.get("KUBECONFIG")


def current_context(kubeconfig):
    """kubectl's current context of a kubeconfig of one or more files joined by
    ``os.pathsep``: the first file that sets one wins. (The Python client lets
    the last one win; connect() passes this one explicitly so the cluster we
    name and the cluster we talk to are the same, and the same as kubectl's.)
    None if no file sets one or a file cannot be read (connect() reports that).
    """
    for part in kubeconfig.split(os.pathsep):
        if not part.strip():
            continue
        try:
            current = _read_yaml(part.strip()).get("current-context")
        except Exception:
            return None
        if current:
            return str(current)
    return None


def unreadable_kubeconfigs(kubeconfig):
    """The files of a kubeconfig option (one path, or several joined by
    ``os.pathsep`` as kubectl and kubernetes.core allow) that cannot be read.

    Each is named as "'FILE' in DIR": the option is ``no_log``, and Ansible masks
    every occurrence of its whole value, so a lone path must not appear in full.
    """
    missing = []
    for part in kubeconfig.split(os.pathsep):
        path = os.path.expanduser(part.strip())
        if path and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            directory, name = os.path.split(path)
            missing.append("'%s' in %s" % (name, directory or os.curdir))
    return missing


def _read_yaml(path):
    import yaml
    with open(os.path.expanduser(path)) as handle:
        return yaml.safe_load(handle) or {}


def connection_options(params):
    """The connection options as every consumer must use them, keyed by option name.

    Each option comes from ``params``, else from the environment under every
    name kubernetes.core accepts (``K8S_AUTH_CA_CERT`` or ``K8S_AUTH_SSL_CA_CERT``,
    ``K8S_AUTH_VALIDATE_CERTS`` or ``K8S_AUTH_VERIFY_SSL``, ...: AWX injects the
    second spellings). With a kubeconfig of several files and no context or host,
    the context is pinned to kubectl's current context. The API client and the
    helm CLI both start from this, so they always talk to the same cluster the
    same way. Unset options are None.
    """
    options = dict((name, (params or {}).get(name)) for name in AUTH_ARG_SPEC)
    resolved = _k8s_client._create_auth_spec(None, **options)   # kubernetes.core's own env rules
    for true_name, name in _k8s_client.AUTH_ARG_MAP.items():
        if options.get(name) is None and resolved.get(true_name) is not None:
            options[name] = resolved[true_name]
    headers = _k8s_client._create_headers(None, **options)
    options["impersonate_user"] = headers.get("Impersonate-User")
    options["impersonate_groups"] = headers.get("Impersonate-Group")
    source = _kubeconfig_source(options)
    if isinstance(source, str) and os.pathsep in source.strip(os.pathsep) \
            and not (options.get("context") or options.get("host")):
        options["context"] = current_context(source)      # kubectl's rule, not the client's
    return options


def connect(module):
    """Return a ``kubernetes.client.ApiClient`` for the module's options.

    Raises ConnectionError_ with a message naming the cluster when the
    kubeconfig is unreadable, the context unknown, or options incomplete.
    """
    if not HAS_K8S_CORE:
        raise ConnectionError_(
            "the kubernetes.core collection is required (install it with "
            "'ansible-galaxy collection install kubernetes.core' or the 'ansible' package)"
        )
    label = cluster_label(module.params)
    kubeconfig = module.params.get("kubeconfig") or _env("kubeconfig")
    if isinstance(kubeconfig, str) and kubeconfig:
        missing = unreadable_kubeconfigs(kubeconfig)
        if missing:
            raise ConnectionError_("cluster %s: kubeconfig %s is missing or not readable"
                                   % (label, " and ".join(missing)))
    try:
        options = connection_options(module.params)
        # kubernetes.core's own steps (option/env resolution, kubeconfig
        # loading, overrides, impersonation headers), without its dynamic
        # client, whose discovery would contact the cluster right away.
        configuration = _k8s_client._create_configuration(_k8s_client._create_auth_spec(None, **options))
        headers = _k8s_client._create_headers(None, **options)
    except Exception as exc:  # kubeconfig parse errors, unknown context, ...
        raise ConnectionError_("cluster %s: cannot load credentials: %s" % (label, exc))
    import kubernetes
    from urllib3.util import Retry

    # urllib3 would otherwise retry on its own: 429/503 answers with Retry-After
    # and, for PUT, a connection dropped after the request was sent (a write that
    # may have landed). Only failures to connect are retried down there; KubeApi
    # retries reads itself and never retries writes. respect_retry_after_header
    # off: else a 429/503 with Retry-After becomes a MaxRetryError (no status, no
    # Retry-After for KubeApi's backoff, and a refused write looks unanswered).
    configuration.retries = Retry(total=3, connect=3, read=0, status=0, other=0, redirect=3,
                                  respect_retry_after_header=False)
    api_client = kubernetes.client.ApiClient(configuration)
    for header, value in headers.items():
        _k8s_client._set_header(api_client, header, value)
    return api_client
