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
    kubeconfig = params.get("kubeconfig") or _env("kubeconfig") or os.environ.get("KUBECONFIG")
    if isinstance(kubeconfig, str) and kubeconfig:
        try:
            current = _read_yaml(kubeconfig.split(os.pathsep)[0]).get("current-context")
        except Exception:  # label only: connect() reports the real error
            current = None
        return str(current or os.path.basename(kubeconfig))
    if isinstance(kubeconfig, dict):
        return str(kubeconfig.get("current-context") or "in-memory kubeconfig")
    return "default"


def _read_yaml(path):
    import yaml
    with open(os.path.expanduser(path)) as handle:
        return yaml.safe_load(handle) or {}


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
        path = os.path.expanduser(kubeconfig)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConnectionError_(
                "cluster %s: kubeconfig %s is missing or not readable" % (label, kubeconfig)
            )
    options = dict((name, module.params.get(name)) for name in AUTH_ARG_SPEC)
    try:
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
