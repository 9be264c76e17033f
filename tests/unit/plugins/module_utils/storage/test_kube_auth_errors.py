# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan's fallback from a cluster-wide list to per-namespace lists is for
RBAC refusals (403) only: expired or wrong credentials (401) fail the scan
with the server's answer, instead of advice to name namespaces or one
"cannot read namespace" entry per namespace."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError, Response
from ansible_collections.helmops.unstick.plugins.module_utils.storage.kube import ReleaseStorage


class Api:
    """Answers every list with ``status`` (an ApiError), except namespaces in ``ok``."""

    def __init__(self, status, ok=()):
        self.status, self.ok, self.paths = status, ok, []

    def list_pages(self, path, query=None, accept=None, limit=500):
        self.paths.append(path)
        if any("/namespaces/%s/" % ns in path for ns in self.ok):
            yield Response(200, {"Date": "Wed, 25 Nov 2026 06:00:00 GMT"}, {"items": []})
            return
        raise ApiError(self.status, "Unauthorized" if self.status == 401 else "Forbidden", "no", path)


def test_unauthorized_fails_the_scan_without_fallback():
    api = Api(401)
    with pytest.raises(ApiError) as err:
        ReleaseStorage(api).scan()
    assert err.value.status == 401 and "name the namespaces" not in err.value.message
    assert api.paths == ["/api/v1/secrets"]
    with pytest.raises(ApiError) as err:
        ReleaseStorage(Api(401)).scan(["a", "b"])
    assert err.value.status == 401


def test_forbidden_still_falls_back_per_namespace():
    with pytest.raises(ApiError) as err:
        ReleaseStorage(Api(403)).scan()
    assert "name the namespaces" in err.value.message
    result = ReleaseStorage(Api(403, ok=("a",))).scan(["a", "b"])
    assert [ns for ns, dummy in result.forbidden] == ["b"]
