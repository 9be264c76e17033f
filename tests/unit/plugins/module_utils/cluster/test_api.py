# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An API error in words: what every message about a failed request says."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.cluster.api import ApiError
from ansible_collections.helmops.unstick.plugins.module_utils.common.errors import StorageError
from ansible_collections.helmops.unstick.plugins.module_utils.storage.sql.database import DatabaseError


@pytest.mark.parametrize("message,cause", [
    ("GET /api/v1/secrets: HTTPSConnection(host='h', port=1): Failed to establish a new connection: "
     "[Errno 111] Connection refused", "connection refused"),
    ("GET /x: HTTPSConnectionPool(host='h', port=1): Read timed out. (read timeout=2)", "no answer in time"),
    ("GET /x: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "TLS certificate is not trusted"),
])
def test_an_unreachable_server_is_described_in_plain_words(message, cause):
    err = ApiError(0, "MaxRetryError", message)
    assert cause in err.describe("https://h:1")
    assert err.describe("https://h:1").startswith("cannot reach https://h:1: ")
    assert ApiError(403, "Forbidden", "no").describe() == "API error 403: no"


def test_the_api_and_the_database_raise_one_storage_error_neither_a_kind_of_the_other():
    api, database = ApiError(409, "Conflict", "changed"), DatabaseError(409, "Conflict", "changed", "db:5432/helm")
    assert isinstance(api, StorageError) and isinstance(database, StorageError)
    assert not isinstance(database, ApiError) and api.conflict and database.conflict
    assert database.describe("https://ignored") == "database db:5432/helm: changed"
