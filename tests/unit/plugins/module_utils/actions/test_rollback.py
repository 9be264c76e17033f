# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.actions import rollback
from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import ApiError


class Storage:
    driver = "secret"

    def __init__(self, conflict=False):
        self.conflict = conflict
        self.log = []

    def replace(self, obj):
        if self.conflict:
            raise ApiError(409, "Conflict", "the object has been modified")
        self.log.append(("replace", obj["metadata"]["labels"]["status"]))
        return obj


class Helm:
    def __init__(self, log):
        self.log = log

    def rollback(self, namespace, release, revision, wait, timeout):
        self.log.append(("rollback", namespace, release, revision, wait, timeout))


def test_claims_then_rolls_back_to_target(make_release, make_object):
    release = make_release(name="cart", namespace="shop", status="pending-upgrade", version=5)
    storage = Storage()
    rollback.run(storage, Helm(storage.log), make_object(release), release, "d", 1.0, 4, True, 300)
    assert storage.log == [("replace", "failed"), ("rollback", "shop", "cart", 4, True, 300)]


def test_conflict_on_claim_means_helm_is_never_called(make_release, make_object):
    release = make_release(status="pending-upgrade", version=5)
    storage = Storage(conflict=True)
    with pytest.raises(ApiError) as err:
        rollback.run(storage, Helm(storage.log), make_object(release), release, "d", 1.0, 4, True, 300)
    assert err.value.conflict
    assert storage.log == []
