# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules' own API client for given connection options, as every module builds it (its cluster session)."""

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.session import open_session


def module_client(params):
    """The ``kubernetes.client.ApiClient`` a module's session would use for ``params`` (connection options)."""
    return open_session(params, "secret", 60, "test@host").api.client
