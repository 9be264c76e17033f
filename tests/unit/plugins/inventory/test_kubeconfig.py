# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kubeconfig inventory plugin, parsed in-process into a real InventoryData."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader

SECRETS = ("SECRET-TOKEN-abc", "hunter2-password", "CLIENT-KEY-DATA", "CLIENT-CERT-DATA", "exec-arg-secret")


def kubeconfig(contexts, clusters=None, users=None):
    """A kubeconfig dict. ``contexts``: {name: (cluster, user, namespace or None)}."""
    cluster_names = sorted({c for c, dummy, dummy in contexts.values()})
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": clusters if clusters is not None else [
            {"name": c, "cluster": {"server": "https://%s.example:6443" % c,
                                    "certificate-authority-data": "Q0EtREFUQQ=="}} for c in cluster_names],
        "users": users if users is not None else [
            {"name": "admin", "user": {"token": SECRETS[0], "password": SECRETS[1],
                                       "client-key-data": SECRETS[2], "client-certificate-data": SECRETS[3]}},
            {"name": "eks", "user": {"exec": {"command": "aws", "args": ["--token", SECRETS[4]]}}},
        ],
        "contexts": [{"name": n, "context": dict({"cluster": c, "user": u}, **({"namespace": ns} if ns else {}))}
                     for n, (c, u, ns) in contexts.items()],
        "current-context": next(iter(contexts), ""),
    }


FLEET_A = {
    "prod-eu-1": ("prod-eu", "admin", "apps"),
    "prod-us-1": ("prod-us", "admin", None),
    "staging-eu-1": ("staging", "admin", None),
}
FLEET_B = {
    "dev-eu-1": ("kind-dev", "admin", None),
    "arn:aws:eks:eu-west-1:111122223333:cluster/prod": ("arn:aws:eks:eu-west-1:111122223333:cluster/prod", "eks", None),
    "prod-eu-1-readonly": ("prod-eu", "admin", "apps"),
}


NAME = "helmops.unstick.kubeconfig"
PLUGIN_FILE = Path(__file__).resolve().parents[4] / "plugins" / "inventory" / "kubeconfig.py"


@pytest.fixture(scope="module", autouse=True)
def plugin_loader():
    init_plugin_loader()


def load_plugin():
    """The plugin as Ansible loads it. When other tests of this run imported the collection as a plain
    Python package first, Ansible's collection loader refuses it; then load the file the same way by hand."""
    plugin = inventory_loader.get(NAME)
    if plugin is None:
        path = str(PLUGIN_FILE)
        spec = importlib.util.spec_from_file_location("helmops_unstick_kubeconfig_inventory", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        inventory_loader._load_config_defs(NAME, module, path)
        plugin = module.InventoryModule()
        inventory_loader._update_object(obj=plugin, name=NAME, path=path, resolved=NAME)
    return plugin


@pytest.fixture
def files(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(kubeconfig(FLEET_A)))
    b.write_text(yaml.safe_dump(kubeconfig(FLEET_B)))
    return a, b


class Parsed:
    def __init__(self, inventory, warnings):
        self.inventory = inventory
        self.warnings = warnings

    @property
    def hosts(self):
        return list(self.inventory.hosts)

    def group(self, name):
        return sorted(h.name for h in self.inventory.groups[name].get_hosts())

    @property
    def groups(self):
        return set(self.inventory.groups) - {"all", "ungrouped"}

    def vars(self, host):
        return self.inventory.get_host(host).get_vars()


@pytest.fixture
def parse(tmp_path, monkeypatch):
    """Write an inventory source with ``config`` and parse it like ansible-inventory does."""
    def _parse(config, name="clusters.kubeconfig.yml", warnings=None):
        source = tmp_path / name
        source.write_text(yaml.safe_dump(dict({"plugin": "helmops.unstick.kubeconfig"}, **config)))
        plugin = load_plugin()
        warnings = [] if warnings is None else warnings
        monkeypatch.setattr(plugin.display, "warning", lambda msg, *a, **kw: warnings.append(msg))
        inventory = InventoryData()
        assert plugin.verify_file(str(source))
        plugin.parse(inventory, DataLoader(), str(source), cache=False)
        return Parsed(inventory, warnings)
    return _parse


def test_contexts_of_two_files_become_hosts_with_role_vars(parse, files):
    a, b = files
    inv = parse({"kubeconfigs": [str(a), str(b)]})
    assert inv.hosts == list(FLEET_A) + list(FLEET_B)          # file order, then context order
    v = inv.vars("prod-eu-1")
    assert v["stuck_releases_kubeconfig"] == str(a)
    assert v["stuck_releases_context"] == "prod-eu-1"
    assert v["ansible_connection"] == "local"
    assert v["ansible_python_interpreter"] == sys.executable
    assert (v["k8s_cluster"], v["k8s_user"], v["k8s_namespace"], v["k8s_server"]) == \
        ("prod-eu", "admin", "apps", "https://prod-eu.example:6443")
    assert "k8s_namespace" not in inv.vars("prod-us-1")
    assert inv.vars("dev-eu-1")["stuck_releases_kubeconfig"] == str(b)
    eks = "arn:aws:eks:eu-west-1:111122223333:cluster/prod"
    assert inv.vars(eks)["stuck_releases_context"] == eks and inv.vars(eks)["k8s_user"] == "eks"
    assert inv.group("helm_clusters") == sorted(inv.hosts)
    assert inv.warnings == []


def test_groups_by_cluster_sanitized(parse, files):
    inv = parse({"kubeconfigs": [str(p) for p in files]})
    assert inv.group("cluster_prod_eu") == ["prod-eu-1", "prod-eu-1-readonly"]
    assert inv.group("cluster_kind_dev") == ["dev-eu-1"]
    assert inv.group("cluster_arn_aws_eks_eu_west_1_111122223333_cluster_prod") == \
        ["arn:aws:eks:eu-west-1:111122223333:cluster/prod"]
    assert inv.groups == {"helm_clusters", "cluster_prod_eu", "cluster_prod_us", "cluster_staging",
                          "cluster_kind_dev", "cluster_arn_aws_eks_eu_west_1_111122223333_cluster_prod"}


def test_group_options(parse, files):
    inv = parse({"kubeconfigs": [str(files[0])], "group": "fleet", "group_by_cluster": False})
    assert inv.groups == {"fleet"} and inv.group("fleet") == sorted(FLEET_A)
    inv = parse({"kubeconfigs": [str(files[0])], "group": "", "group_by_cluster": False})
    assert inv.groups == set()
    assert sorted(inv.inventory.hosts) == sorted(FLEET_A)


def test_groups_by_context_prefix(parse, files):
    inv = parse({"kubeconfigs": [str(files[0])], "prefix_separator": "-", "group_by_cluster": False})
    assert inv.group("prod") == ["prod-eu-1", "prod-us-1"]
    assert inv.group("staging") == ["staging-eu-1"]
    assert inv.groups == {"helm_clusters", "prod", "staging"}
    inv = parse({"kubeconfigs": [str(p) for p in files], "prefix_separator": "-", "group_prefix": "env_",
                 "group_by_cluster": False})
    assert inv.group("env_prod") == ["prod-eu-1", "prod-eu-1-readonly", "prod-us-1"]
    assert inv.group("env_dev") == ["dev-eu-1"]
    # "arn:aws:eks:eu-west-1:..." -> prefix "arn:aws:eks:eu", sanitized
    assert inv.group("env_arn_aws_eks_eu") == ["arn:aws:eks:eu-west-1:111122223333:cluster/prod"]


def test_prefix_needs_the_separator(parse, tmp_path):
    f = tmp_path / "k.yaml"
    f.write_text(yaml.safe_dump(kubeconfig({"minikube": ("minikube", "admin", None),
                                            "-odd": ("minikube", "admin", None),
                                            "team.a": ("minikube", "admin", None)})))
    inv = parse({"kubeconfigs": [str(f)], "prefix_separator": ".", "group_by_cluster": False})
    assert inv.groups == {"helm_clusters", "team"}


@pytest.mark.parametrize("include, exclude, expected", [
    ([], [], list(FLEET_A) + list(FLEET_B)),
    (["^prod-"], [], ["prod-eu-1", "prod-us-1", "prod-eu-1-readonly"]),
    (["^prod-"], ["readonly"], ["prod-eu-1", "prod-us-1"]),
    (["eu"], ["^staging", "^arn:"], ["prod-eu-1", "dev-eu-1", "prod-eu-1-readonly"]),
    ([], [":cluster/"], list(FLEET_A) + ["dev-eu-1", "prod-eu-1-readonly"]),
    (["-1$"], [], ["prod-eu-1", "prod-us-1", "staging-eu-1", "dev-eu-1"]),
])
def test_include_exclude_regexes(parse, files, include, exclude, expected):
    inv = parse({"kubeconfigs": [str(p) for p in files], "contexts_include": include, "contexts_exclude": exclude})
    assert inv.hosts == expected
    assert inv.group("helm_clusters") == sorted(expected)


def test_filters_excluding_everything_warn(parse, files):
    inv = parse({"kubeconfigs": [str(files[0])], "contexts_include": ["^nothing$"]})
    assert inv.hosts == []
    assert any("none of the 3 contexts matched" in w for w in inv.warnings)


def test_invalid_regex_is_a_parser_error(parse, files):
    with pytest.raises(AnsibleParserError, match=r"invalid regular expression '\(unclosed' in contexts_exclude"):
        parse({"kubeconfigs": [str(files[0])], "contexts_exclude": ["(unclosed"]})


def test_host_name_cluster(parse, files):
    inv = parse({"kubeconfigs": [str(p) for p in files], "host_name": "cluster"})
    assert inv.hosts == ["prod-eu", "prod-us", "staging", "kind-dev",
                         "arn:aws:eks:eu-west-1:111122223333:cluster/prod"]
    v = inv.vars("prod-eu")
    # the first context on that cluster wins; the read-only one of b.yaml is the same server: no warning
    assert (v["stuck_releases_context"], v["stuck_releases_kubeconfig"]) == ("prod-eu-1", str(files[0]))
    assert inv.group("cluster_prod_eu") == ["prod-eu"]
    assert inv.warnings == []
    # filters apply to context names, so they choose which context a cluster host uses
    inv = parse({"kubeconfigs": [str(p) for p in files], "host_name": "cluster", "contexts_include": ["readonly"]})
    assert inv.hosts == ["prod-eu"]
    assert inv.vars("prod-eu")["stuck_releases_context"] == "prod-eu-1-readonly"


def test_host_name_cluster_same_name_other_server_warns(parse, tmp_path):
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(yaml.safe_dump(kubeconfig({"kind-a": ("kind-kind", "admin", None)})))
    cfg = kubeconfig({"kind-b": ("kind-kind", "admin", None)})
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:41234"
    two.write_text(yaml.safe_dump(cfg))
    inv = parse({"kubeconfigs": [str(one), str(two)], "host_name": "cluster"})
    assert inv.hosts == ["kind-kind"]
    assert inv.vars("kind-kind")["stuck_releases_context"] == "kind-a"
    [warning] = inv.warnings
    assert "kind-b" in warning and str(two) in warning and "another server" in warning


def test_duplicate_context_first_file_wins(parse, tmp_path, files):
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(kubeconfig({"prod-eu-1": ("elsewhere", "admin", None)})))
    inv = parse({"kubeconfigs": [str(files[0]), str(other)]})
    assert inv.vars("prod-eu-1")["k8s_cluster"] == "prod-eu"
    [warning] = inv.warnings
    assert "prod-eu-1" in warning and str(other) in warning and "first one wins" in warning


def test_no_credentials_in_hostvars(parse, files, tmp_path):
    cfg = kubeconfig({"basic": ("basic", "admin", None)})
    cfg["clusters"][0]["cluster"]["server"] = "https://someone:%s@basic.example:6443/" % SECRETS[1]
    (tmp_path / "basic.yaml").write_text(yaml.safe_dump(cfg))
    inv = parse({"kubeconfigs": [str(p) for p in files] + [str(tmp_path / "basic.yaml")],
                 "host_name": "context", "prefix_separator": "-"})
    assert inv.vars("basic")["k8s_server"] == "https://basic.example:6443/"
    dumped = json.dumps({h: inv.vars(h) for h in inv.hosts}, default=str)
    for secret in SECRETS + ("Q0EtREFUQQ==", "someone"):
        assert secret not in dumped
    allowed = {"stuck_releases_kubeconfig", "stuck_releases_context", "ansible_connection",
               "ansible_python_interpreter", "k8s_cluster", "k8s_user", "k8s_namespace", "k8s_server",
               "inventory_file", "inventory_dir", "inventory_hostname", "inventory_hostname_short", "group_names"}
    for host in inv.hosts:
        assert set(inv.vars(host)) <= allowed


def test_templates_in_kubeconfig_are_not_trusted(parse, tmp_path):
    name = "{{ lookup('pipe', 'touch /tmp/pwned') }}"
    f = tmp_path / "k.yaml"
    f.write_text(yaml.safe_dump(kubeconfig({name: ("c", "admin", None)})))
    inv = parse({"kubeconfigs": [str(f)]})
    assert inv.hosts == [name]
    value = inv.vars(name)["stuck_releases_context"]
    try:
        from ansible.template import is_trusted_as_template      # ansible-core 2.19: data tagging
    except ImportError:                                          # before: the value must be marked unsafe
        from ansible.utils.unsafe_proxy import AnsibleUnsafe
        assert isinstance(value, AnsibleUnsafe)
    else:
        assert not is_trusted_as_template(value)


def test_constructed_features(parse, files):
    inv = parse({
        "kubeconfigs": [str(p) for p in files],
        "compose": {"cluster_env": "'production' if k8s_cluster is match('prod') else 'other'"},
        "groups": {"eks": "k8s_user == 'eks'"},
        "keyed_groups": [{"key": "k8s_namespace | default('all')", "prefix": "ns"}],
    })
    assert inv.vars("prod-eu-1")["cluster_env"] == "production"
    assert inv.vars("dev-eu-1")["cluster_env"] == "other"
    assert inv.group("eks") == ["arn:aws:eks:eu-west-1:111122223333:cluster/prod"]
    assert inv.group("ns_apps") == ["prod-eu-1", "prod-eu-1-readonly"]
    assert "prod-us-1" in inv.group("ns_all")


def test_compose_strict_raises(parse, files):
    with pytest.raises(Exception, match="Could not set bad for host"):
        parse({"kubeconfigs": [str(files[0])], "compose": {"bad": "undefined_var + 1"}, "strict": True})
    inv = parse({"kubeconfigs": [str(files[0])], "compose": {"bad": "undefined_var + 1"}})
    assert "bad" not in inv.vars("prod-eu-1")


def test_globs_tilde_relative_and_dedup(parse, tmp_path, files, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    inv = parse({"kubeconfigs": ["~/*.yaml", "a.yaml", str(tmp_path / "." / "b.yaml")]})
    assert inv.hosts == list(FLEET_A) + list(FLEET_B)          # a.yaml, b.yaml once each, name order
    assert inv.vars("dev-eu-1")["stuck_releases_kubeconfig"] == str(tmp_path / "b.yaml")
    assert inv.warnings == []


def test_relative_paths_are_relative_to_the_source(parse, tmp_path, files, monkeypatch):
    monkeypatch.chdir("/")
    inv = parse({"kubeconfigs": ["b.yaml"]})
    assert inv.hosts == list(FLEET_B)
    assert inv.vars("dev-eu-1")["stuck_releases_kubeconfig"] == str(tmp_path / "b.yaml")


def test_default_is_kubeconfig_env_path_list(parse, tmp_path, files, monkeypatch):
    sub = tmp_path / "cwd"
    sub.mkdir()
    monkeypatch.chdir(sub)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["../b.yaml", "", str(files[0])]))
    inv = parse({})
    assert inv.hosts == list(FLEET_B) + list(FLEET_A)
    assert inv.vars("dev-eu-1")["stuck_releases_kubeconfig"] == str(tmp_path / "b.yaml")


def test_default_without_env_is_home_kube_config(parse, tmp_path, files, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(files[1].read_text())
    inv = parse({})
    assert inv.hosts == list(FLEET_B)
    assert inv.vars("dev-eu-1")["stuck_releases_kubeconfig"] == str(tmp_path / ".kube" / "config")


def test_verify_file_names(tmp_path):
    plugin = load_plugin()
    for name, ok in [("clusters.kubeconfig.yml", True), ("kubeconfig.yaml", True), ("fleet.helmops.yml", True),
                     ("fleet.helmops.yaml", True), ("inventory.yml", False), ("kubeconfig", False)]:
        (tmp_path / name).write_text("plugin: helmops.unstick.kubeconfig\n")
        assert plugin.verify_file(str(tmp_path / name)) is ok, name
    assert plugin.verify_file(str(tmp_path / "missing.kubeconfig.yml")) is False


# --- bad input -------------------------------------------------------------------


def bad_files(tmp_path):
    (tmp_path / "notyaml.yaml").write_text("clusters: [unclosed\n  : : :\n")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "nocontexts.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                                                              "clusters": [], "contexts": []}))
    unreadable = tmp_path / "unreadable.yaml"
    unreadable.write_text("x: 1\n")
    unreadable.chmod(0)
    return {
        "missing.yaml": r"cannot read kubeconfig .*missing\.yaml: No such file or directory",
        "notyaml.yaml": r"kubeconfig .*notyaml\.yaml is not valid YAML: .* \(line 2, column \d+\)",
        "list.yaml": r"kubeconfig .*list\.yaml is not a kubeconfig \(expected a mapping with 'contexts', got list\)",
        "empty.yaml": r"kubeconfig .*empty\.yaml is not a kubeconfig .*an empty file",
        "nocontexts.yaml": r"kubeconfig .*nocontexts\.yaml has no contexts",
        "unreadable.yaml": r"cannot read kubeconfig .*unreadable\.yaml: Permission denied",
    }


def unreadable_as_root(tmp_path, expected):
    """Root reads a chmod-0 file (CAP_DAC_OVERRIDE): ask ansible-inventory, which loads the same plugin,
    in a process without the capabilities that bypass file permissions (setpriv, util-linux)."""
    import shutil
    import subprocess
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test an unreadable file as root"
    source = tmp_path / "clusters.kubeconfig.yml"
    source.write_text(yaml.safe_dump({"plugin": "helmops.unstick.kubeconfig", "kubeconfigs": ["unreadable.yaml"]}))
    proc = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all",
                           str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list"],
                          capture_output=True, text=True, check=False, cwd=str(tmp_path), timeout=120,
                          env=dict(os.environ, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true"))
    message = " ".join(proc.stderr.split())
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "clusters.kubeconfig.yml: no usable context in any kubeconfig" in message, message
    # ansible-core before 2.19 wraps warnings at 80 columns, cutting the path
    assert str(tmp_path / "unreadable.yaml") in message.replace("- ", "-"), message
    assert re.search(expected, message.replace("- ", "-")), message


@pytest.mark.parametrize("name", ["missing.yaml", "notyaml.yaml", "list.yaml", "empty.yaml", "nocontexts.yaml",
                                  "unreadable.yaml", "dir"])
def test_single_bad_kubeconfig_is_a_parser_error_naming_it(parse, tmp_path, name):
    expected = bad_files(tmp_path)
    if name == "unreadable.yaml" and os.access(str(tmp_path / name), os.R_OK):
        return unreadable_as_root(tmp_path, expected[name])
    if name == "dir":
        (tmp_path / "dir").mkdir()
        expected["dir"] = r"cannot read kubeconfig .*dir: Is a directory"
    warnings = []
    with pytest.raises(AnsibleParserError) as err:
        parse({"kubeconfigs": [name]}, warnings=warnings)
    assert warnings == []                   # one error, not a warning and then an error
    message = str(err.value)
    assert "\n" not in message
    assert "clusters.kubeconfig.yml: no usable context in any kubeconfig" in message
    assert str(tmp_path / name) in message
    assert re.search(expected[name], message), message


def test_bad_kubeconfigs_among_good_ones_warn_and_the_rest_is_used(parse, tmp_path, files):
    expected = bad_files(tmp_path)
    names = ["missing.yaml", "notyaml.yaml", "list.yaml", "empty.yaml", "nocontexts.yaml"]
    inv = parse({"kubeconfigs": names[:3] + [str(files[0])] + names[3:] + ["nomatch-*.yaml"]})
    assert inv.hosts == list(FLEET_A)
    assert len(inv.warnings) == len(names) + 1
    # patterns are expanded before any file is read
    assert "kubeconfigs pattern nomatch-*.yaml matched no file (skipped)" in inv.warnings[0]
    for name, warning in zip(names, inv.warnings[1:]):
        assert re.search(expected[name], warning) and warning.endswith("(skipped)"), warning


def test_on_bad_kubeconfig_error(parse, tmp_path, files):
    with pytest.raises(AnsibleParserError, match=r"clusters\.kubeconfig\.yml: cannot read kubeconfig .*missing\.yaml"):
        parse({"kubeconfigs": [str(files[0]), "missing.yaml"], "on_bad_kubeconfig": "error"})
    with pytest.raises(AnsibleParserError, match=r"pattern nothing-\*\.yaml matched no file"):
        parse({"kubeconfigs": [str(files[0]), "nothing-*.yaml"], "on_bad_kubeconfig": "error"})


def test_bad_contexts_skipped_with_warning(parse, tmp_path):
    cfg = kubeconfig({"good": ("c", "admin", None), "dangling": ("nowhere", "admin", None)})
    cfg["clusters"] = [cfg["clusters"][0]]          # drop cluster "nowhere"
    cfg["contexts"].append({"context": {"cluster": "c"}})              # no name
    cfg["contexts"].append({"name": "weird", "context": "not-a-map"})
    f = tmp_path / "k.yaml"
    f.write_text(yaml.safe_dump(cfg))
    inv = parse({"kubeconfigs": [str(f)]})
    assert inv.hosts == ["good"]
    assert len(inv.warnings) == 3
    assert any("entry 2 of 'contexts' has no name" in w for w in inv.warnings)
    assert any("context 'weird' is not a mapping" in w for w in inv.warnings)
    assert any("context 'dangling' refers to cluster 'nowhere', which the file does not define" in w
               for w in inv.warnings)
    with pytest.raises(AnsibleParserError, match="entry 2 of 'contexts' has no name$"):
        parse({"kubeconfigs": [str(f)], "on_bad_kubeconfig": "error"})


def test_not_this_plugins_config(tmp_path):
    source = tmp_path / "other.kubeconfig.yml"
    source.write_text("plugin: kubernetes.core.k8s\n")
    plugin = load_plugin()
    with pytest.raises(AnsibleParserError, match="Incorrect plugin name"):
        plugin.parse(InventoryData(), DataLoader(), str(source), cache=False)


def test_a_context_takes_a_cluster_or_user_its_file_lacks_from_the_first_file_that_defines_it(parse, tmp_path):
    """kubectl's KUBECONFIG merge across files; a context's own file still wins for the names it defines."""
    contexts = kubeconfig({"split": ("prod-us", "admin", None)}, clusters=[], users=[])
    defs = kubeconfig({"other": ("prod-us", "admin", None)})
    defs["contexts"] = []
    mine = kubeconfig({"own": ("prod-us", "admin", None)})
    mine["clusters"][0]["cluster"]["server"] = "https://own.example:6443"
    paths = [tmp_path / n for n in ("contexts.yaml", "defs.yaml", "mine.yaml")]
    for path, doc in zip(paths, (contexts, defs, mine)):
        path.write_text(yaml.safe_dump(doc))
    inv = parse({"kubeconfigs": [str(p) for p in paths], "on_bad_kubeconfig": "error"})
    assert inv.hosts == ["split", "own"] and inv.warnings == []
    split = inv.vars("split")
    assert split["stuck_releases_kubeconfig"] == "%s:%s" % (paths[0], paths[1])
    assert (split["k8s_cluster"], split["k8s_server"]) == ("prod-us", "https://prod-us.example:6443")
    own = inv.vars("own")
    assert (own["stuck_releases_kubeconfig"], own["k8s_server"]) == (str(paths[2]), "https://own.example:6443")
