# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.helmops.unstick.plugins.module_utils.actions import uninstall
from ansible_collections.helmops.unstick.plugins.module_utils.k8s.api import ApiError


class Storage:
    driver = "configmap"

    def __init__(self, conflict=False):
        self.conflict = conflict
        self.log = []

    def replace(self, obj):
        if self.conflict:
            raise ApiError(409, "Conflict", "modified")
        self.log.append("claim")
        return obj


class Helm:
    def __init__(self, log):
        self.log = log

    def uninstall(self, namespace, release, wait, timeout):
        self.log.append(("uninstall", namespace, release, wait, timeout))


def test_claims_then_uninstalls(make_release, make_object):
    release = make_release(name="new-app", namespace="ns1", status="pending-install", version=1)
    storage = Storage()
    uninstall.run(storage, Helm(storage.log), make_object(release, driver="configmap"), release, "d", 1.0,
                  False, 60)
    assert storage.log == ["claim", ("uninstall", "ns1", "new-app", False, 60)]


def test_conflict_stops_before_helm(make_release, make_object):
    release = make_release(status="pending-install", version=1)
    storage = Storage(conflict=True)
    with pytest.raises(ApiError):
        uninstall.run(storage, Helm(storage.log), make_object(release, driver="configmap"), release, "d",
                      1.0, True, 60)
    assert storage.log == []
