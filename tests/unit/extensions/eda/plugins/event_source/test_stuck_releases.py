# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EDA event source's pure parts: its arguments (checked, and every cluster's one connection resolved,
before any request), the session each watch opens, the server clock it dates records on, the event it emits,
the metadata it keeps."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import email.utils
import importlib.util
import os

import pytest
import yaml

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 6 + [
    "extensions", "eda", "plugins", "event_source", "stuck_releases.py"]))
# by its path, as ansible-rulebook loads it (runpy.run_path would meet ansible-test's collection path hook)
_spec = importlib.util.spec_from_file_location("helmops_unstick_eda_stuck_releases", os.path.normpath(SOURCE))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
src = vars(_module)
settings_from = src["settings_from"]


@pytest.fixture
def kubeconfig(tmp_path):
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "eu",
           "clusters": [{"name": c, "cluster": {"server": "https://%s.example:6443" % c}} for c in ("eu", "us")],
           "users": [{"name": "ops", "user": {"token": "t0ken-never-shown"}}],
           "contexts": [{"name": c, "context": {"cluster": c, "user": "ops"}} for c in ("eu", "us")]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_contexts_are_clusters_named_by_context(kubeconfig):
    s = settings_from({"kubeconfig": kubeconfig, "contexts": ["eu", "us"], "min_age": "90s"}, environ={})
    assert [(c.name, c.connection.server) for c in s.clusters] == [
        ("eu", "https://eu.example:6443"), ("us", "https://us.example:6443")]
    assert (s.min_age, s.driver, s.watch_timeout, s.max_backoff, s.namespaces) == (90, "secret", 300, 30, None)


def test_clusters_take_their_own_connection_options_over_the_common_ones(kubeconfig):
    s = settings_from({"kubeconfig": kubeconfig, "storage_driver": "configmap", "namespaces": ["shop", "shop"],
                       "clusters": [{"name": "prod-eu", "context": "eu"},
                                    {"host": "https://10.0.0.1:6443", "api_key": "k3y", "name": "edge"}]},
                      environ={})
    assert [(c.name, c.connection.server) for c in s.clusters] == [
        ("prod-eu", "https://eu.example:6443"), ("edge", "https://10.0.0.1:6443")]
    assert s.driver == "configmap" and s.namespaces == ["shop"]


def test_the_environment_is_read_as_the_modules_read_it(kubeconfig):
    s = settings_from({}, environ={"K8S_AUTH_KUBECONFIG": kubeconfig, "K8S_AUTH_CONTEXT": "us",
                                   "HELM_DRIVER": "configmaps"})
    assert [(c.name, c.connection.server) for c in s.clusters] == [("us", "https://us.example:6443")]
    assert s.driver == "configmap"


@pytest.mark.parametrize("args, message", [
    ({"contexts": ["eu", "nowhere"]}, "context 'nowhere' does not exist"),
    ({"min_age": "soon"}, "min_age='soon'"),
    ({"min_age": -5}, "min_age=-5"),
    ({"storage_driver": "sql"}, "storage_driver='sql'"),
    ({"storage_driver": "memory"}, "storage_driver='memory'"),
    ({"watch_timeout": 0}, "watch_timeout=0"),
    ({"max_backoff": "30"}, "max_backoff='30'"),
    ({"namespaces": "shop"}, "namespaces='shop'"),
    ({"namespaces": ["team-*"]}, "namespaces=['team-*']"),
    ({"clusters": []}, "clusters=[]"),
    ({"clusters": [{"context": "eu", "colour": "red"}]}, "clusters[0].colour"),
    ({"clusters": [{"context": "eu"}, {"context": "eu"}]}, "two clusters have this name"),
    ({"contexts": ["eu"], "clusters": [{"context": "eu"}]}, "give clusters or contexts, not both"),
    ({"min_agee": "5m"}, "min_agee"),
])
def test_bad_arguments_fail_naming_the_option(kubeconfig, args, message):
    with pytest.raises(ValueError) as err:
        settings_from(dict({"kubeconfig": kubeconfig}, **args), environ={})
    assert message in str(err.value)
    assert "t0ken-never-shown" not in str(err.value)


def test_a_missing_kubeconfig_fails_naming_it(tmp_path):
    with pytest.raises(ValueError) as err:
        settings_from({"kubeconfig": str(tmp_path / "absent")}, environ={})
    assert "'absent'" in str(err.value) and "missing or not readable" in str(err.value)


def test_each_watch_reaches_its_cluster_through_a_session_of_its_own(kubeconfig):
    """The client a watch streams on is the one cluster/session.py builds for every module (its retry policy,
    impersonation headers), named by the source's user agent; two watches of one cluster hold two clients."""
    settings = settings_from({"kubeconfig": kubeconfig, "contexts": ["eu"], "namespaces": ["shop", "web"],
                              "impersonate_user": "ops-bot"}, environ={})
    spec = settings.clusters[0]
    shop, web = (src["ClusterWatch"](spec, settings, None, namespace) for namespace in ("shop", "web"))
    client = shop._connect()
    assert client.configuration.host == "https://eu.example:6443" and client.user_agent == src["USER_AGENT"]
    assert ("Impersonate-User", "ops-bot") in [(str(k), v) for k, v in client.default_headers.items()]
    assert (client.configuration.retries.read, client.configuration.retries.status) == (0, 0)
    assert web._connect() is not client


def test_a_list_keeps_only_the_metadata_the_tracker_reads():
    item = {"kind": "PartialObjectMetadata", "metadata": {
        "name": "sh.helm.release.v1.web.v2", "namespace": "shop", "uid": "u", "resourceVersion": "7",
        "creationTimestamp": "2026-12-07T10:00:00Z", "managedFields": [{"manager": "helm"}],
        "annotations": {"a": "b"},
        "labels": {"name": "web", "owner": "helm", "status": "pending-upgrade", "version": "2",
                   "createdAt": "1", "modifiedAt": "1", "team": "x"}}}
    slim = src["_slim"](item)["metadata"]
    assert sorted(slim) == ["creationTimestamp", "labels", "name", "namespace", "resourceVersion", "uid"]
    assert "team" not in slim["labels"] and slim["labels"]["status"] == "pending-upgrade"


class _Queue:
    def __init__(self):
        self.events = []

    def put_nowait(self, event):
        self.events.append(event)


def _record(name, revision, status, created):
    return {"metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, revision), "namespace": "shop",
                         "uid": "u-%s-%d" % (name, revision), "resourceVersion": "9",
                         "creationTimestamp": src["format_time"](created),
                         "labels": {"name": name, "owner": "helm", "status": status, "version": str(revision)}}}


def test_ages_are_on_the_api_servers_clock_and_the_event_names_only_metadata(kubeconfig):
    """This host's clock is an hour behind the server's: a record the server created 400 s ago (on its clock)
    is due with min_age 300 s, and its age is 400 s, not -3200 s."""
    local_now = 1796000000.0
    server_now = local_now + 3600
    settings = settings_from({"kubeconfig": kubeconfig, "contexts": ["eu"], "min_age": 300}, environ={})
    queue = _Queue()

    async def run():
        hub = src["Hub"](settings, queue, asyncio.get_running_loop(), clock=lambda: local_now)
        key = ("eu", None)
        hub.receive(key, "clock", email.utils.formatdate(server_now, usegmt=True))
        hub.receive(key, "replace", ([_record("web", 1, "superseded", server_now - 9000),
                                      _record("web", 2, "pending-upgrade", server_now - 400),
                                      _record("api", 3, "pending-install", server_now - 100)], "9"))
        await asyncio.sleep(0.3)
        return hub
    hub = asyncio.run(run())
    assert queue.events == [{"stuck_release": {
        "cluster": "eu", "server": "https://eu.example:6443", "namespace": "shop", "release": "web", "revision": 2,
        "status": "pending-upgrade", "age": 400, "min_age": 300, "record": "sh.helm.release.v1.web.v2",
        "storage_driver": "secret", "created": src["format_time"](server_now - 400)}}]
    assert hub.trackers[("eu", None)].pending() == [("shop", "api", 3)]   # due in 200 s, server time


def test_the_documentation_is_yaml_and_names_the_options_the_source_takes():
    doc = yaml.safe_load(src["DOCUMENTATION"])
    assert isinstance(yaml.safe_load(src["EXAMPLES"]), list)
    documented = set(doc["options"])
    assert set(src["SOURCE_OPTIONS"]) <= documented
    assert documented - set(src["SOURCE_OPTIONS"]) <= set(src["AUTH_ARG_SPEC"])
