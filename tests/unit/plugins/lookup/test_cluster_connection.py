# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reading of a host's connection variables both roles use."""

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:   # before ansible-core 2.19 every variable is a template
    def trust_as_template(value):
        return value

from ansible_collections.helmops.unstick.plugins.lookup.cluster_connection import LookupModule, merge


def lookup(variables):
    return LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables)).run(
        [], variables=variables)


def test_single_variables_go_over_the_connection_and_unset_keys_are_left_out():
    assert merge({"kubeconfig": "/k", "context": "a", "host": ""}, {"context": "b", "api_key": None, "kubeconfig": ""}) \
        == {"kubeconfig": "/k", "context": "b"}
    assert merge(None, {}) == {}


def test_the_host_variables_are_templated_and_merged():
    variables = {"cluster": "prod", "stuck_releases_connection": {"kubeconfig": trust_as_template("/k/{{ cluster }}"), "context": "x"},
                 "stuck_releases_context": trust_as_template("{{ cluster }}-eu"), "stuck_releases_host": None,
                 "stuck_releases_validate_certs": False}
    assert lookup(variables) == [{"kubeconfig": "/k/prod", "context": "prod-eu", "validate_certs": False}]
    assert lookup({}) == [{}]
