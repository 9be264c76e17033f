# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What urllib3 may retry under the module's client: only failed connects.

A 429 or 503 with Retry-After must come back to KubeApi as an HTTP answer
(status and Retry-After intact), not as urllib3's MaxRetryError: otherwise
reads back off without the server's hint and a refused write is reported as
unanswered (status 0)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import yaml

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.connection import AUTH_ARG_SPEC
from module_client import module_client


class Module:
    def __init__(self, **params):
        self.params = dict((k, None) for k in AUTH_ARG_SPEC)
        self.params.update(params)


def test_retry_after_answers_are_returned_not_retried(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    retries = module_client(Module(kubeconfig=str(kubeconfig)).params).configuration.retries
    for method in ("GET", "PUT", "DELETE"):
        for status in (429, 503, 413, 500):
            assert not retries.is_retry(method, status, has_retry_after=True), (method, status)
    assert retries.connect == 3 and retries.read == 0
