# SPDX-License-Identifier: GPL-3.0-or-later
"""The kubeconfig inventory plugin through ansible-inventory and ansible-playbook, on kubeconfigs
of real (local) API servers: contexts become hosts whose variables reach the right cluster."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from localkube import LocalKube

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PROD_TOKEN = "prod-admin-token-0123456789"
RO_TOKEN = "prod-readonly-token-9876543210"


def write_kubeconfig(kube, path, cluster, context, extra_contexts=None, namespace=None):
    """A kubeconfig from localkube, its cluster renamed from ``localkube`` to ``cluster``."""
    kube.write_kubeconfig(path, context=context, namespace=namespace, extra_contexts=extra_contexts)
    cfg = yaml.safe_load(Path(path).read_text())
    cfg["clusters"][0]["name"] = cluster
    for ctx in cfg["contexts"]:
        ctx["context"]["cluster"] = cluster
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


@pytest.fixture
def fleet(tmp_path):
    """Two API servers; kube.d/ holds a kubeconfig for each, with five contexts in all."""
    kubedir = tmp_path / "kube.d"
    kubedir.mkdir()
    with LocalKube(tls=True, tokens={PROD_TOKEN: None, RO_TOKEN: {"verbs": ["get", "list"]}}) as prod, \
            LocalKube() as staging:
        prod_cfg = write_kubeconfig(prod, kubedir / "prod.yaml", "prod-eu", "prod-eu-1", namespace="apps",
                                    extra_contexts={"prod-eu-2": {"token": PROD_TOKEN},
                                                    "prod-eu-1-readonly": {"token": RO_TOKEN}})
        staging_cfg = write_kubeconfig(staging, kubedir / "staging.yaml", "kind-staging", "staging-eu-1",
                                       extra_contexts={"dev-eu-1": {"namespace": "dev"}})
        yield {"dir": tmp_path, "prod": prod, "staging": staging, "prod_cfg": prod_cfg, "staging_cfg": staging_cfg}


def source(fleet, body, name="clusters.kubeconfig.yml"):
    path = fleet["dir"] / name
    path.write_text("plugin: helmops.unstick.kubeconfig\n" + textwrap.dedent(body))
    return str(path)


def run(cmd, cwd):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=str(cwd), env=dict(os.environ), timeout=300)


def inventory(fleet, src, *args):
    proc = run([str(BIN / "ansible-inventory"), "-i", src] + list(args), fleet["dir"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def plain(value):
    """ansible-inventory --list marks strings that are not trusted templates (all strings read from
    the kubeconfigs) as {"__ansible_unsafe": ...}; the value is the same."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


SOURCE = """\
    kubeconfigs:
      - kube.d/*.yaml
      - missing.yaml
    contexts_exclude: ['-readonly$']
    prefix_separator: '-'
    """

GRAPH = """\
@all:
  |--@ungrouped:
  |--@helm_clusters:
  |  |--prod-eu-1
  |  |--prod-eu-2
  |  |--staging-eu-1
  |  |--dev-eu-1
  |--@cluster_prod_eu:
  |  |--prod-eu-1
  |  |--prod-eu-2
  |--@prod:
  |  |--prod-eu-1
  |  |--prod-eu-2
  |--@cluster_kind_staging:
  |  |--staging-eu-1
  |  |--dev-eu-1
  |--@staging:
  |  |--staging-eu-1
  |--@dev:
  |  |--dev-eu-1
"""


def test_graph(fleet):
    proc = inventory(fleet, source(fleet, SOURCE), "--graph")
    assert proc.stdout == GRAPH
    # the missing file is a warning, the rest is used
    assert "cannot read kubeconfig %s: No such file or directory (skipped)" % (fleet["dir"] / "missing.yaml") \
        in " ".join(proc.stderr.split())


def test_list_hostvars_and_no_credentials(fleet):
    proc = inventory(fleet, source(fleet, SOURCE), "--list")
    data = plain(json.loads(proc.stdout))
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["dev-eu-1", "prod-eu-1", "prod-eu-2", "staging-eu-1"]
    # the Python running Ansible (the venv's, which has the kubernetes library)
    assert Path(hostvars["prod-eu-1"].pop("ansible_python_interpreter")).parent == BIN
    assert hostvars["prod-eu-1"] == {
        "stuck_releases_kubeconfig": fleet["prod_cfg"],
        "stuck_releases_context": "prod-eu-1",
        "ansible_connection": "local",
        "k8s_cluster": "prod-eu",
        "k8s_user": "prod-eu-1-user",
        "k8s_namespace": "apps",
        "k8s_server": fleet["prod"].url,
    }
    assert hostvars["dev-eu-1"]["k8s_namespace"] == "dev"
    assert hostvars["dev-eu-1"]["stuck_releases_kubeconfig"] == fleet["staging_cfg"]
    assert hostvars["staging-eu-1"]["k8s_server"] == fleet["staging"].url
    assert "k8s_namespace" not in hostvars["staging-eu-1"]
    assert data["helm_clusters"]["hosts"] == ["prod-eu-1", "prod-eu-2", "staging-eu-1", "dev-eu-1"]
    assert data["cluster_kind_staging"]["hosts"] == ["staging-eu-1", "dev-eu-1"]
    assert data["prod"]["hosts"] == ["prod-eu-1", "prod-eu-2"]
    assert PROD_TOKEN not in proc.stdout and RO_TOKEN not in proc.stdout
    assert "certificate-authority-data" not in proc.stdout and "BEGIN CERTIFICATE" not in proc.stdout


def test_host_name_cluster_and_include(fleet):
    src = source(fleet, """\
        kubeconfigs: [kube.d/prod.yaml, kube.d/staging.yaml]
        host_name: cluster
        contexts_include: ['-1$', 'readonly']
        group: fleet
        group_by_cluster: false
        """, name="by-cluster.helmops.yml")
    proc = inventory(fleet, src, "--graph")
    assert proc.stdout == "@all:\n  |--@ungrouped:\n  |--@fleet:\n  |  |--prod-eu\n  |  |--kind-staging\n"
    data = plain(json.loads(inventory(fleet, src, "--list").stdout))
    assert data["_meta"]["hostvars"]["prod-eu"]["stuck_releases_context"] == "prod-eu-1"
    assert data["_meta"]["hostvars"]["kind-staging"]["stuck_releases_context"] == "staging-eu-1"


def test_kubeconfig_env_default(fleet):
    src = source(fleet, "group_by_cluster: false\n", name="env.kubeconfig.yaml")
    env = dict(os.environ, KUBECONFIG=os.pathsep.join([fleet["staging_cfg"], fleet["prod_cfg"]]))
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", src, "--graph"], capture_output=True,
                          text=True, env=env, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[3:] == ["  |  |--staging-eu-1", "  |  |--dev-eu-1", "  |  |--prod-eu-1",
                                            "  |  |--prod-eu-2", "  |  |--prod-eu-1-readonly"]


def test_bad_only_kubeconfig_fails_naming_it(fleet):
    (fleet["dir"] / "broken.yaml").write_text("apiVersion: v1\nclusters: [\n")
    src = source(fleet, "kubeconfigs: [broken.yaml]\n", name="broken.kubeconfig.yml")
    proc = run([str(BIN / "ansible-inventory"), "-i", src, "--graph"], fleet["dir"])
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "no usable context in any kubeconfig" in text
    assert "kubeconfig %s is not valid YAML" % (fleet["dir"] / "broken.yaml") in text
    # ansible-inventory turns a failed source into a warning and an empty inventory, unless told otherwise
    strict_env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
    strict = subprocess.run([str(BIN / "ansible-inventory"), "-i", src, "--graph"], capture_output=True, text=True,
                            env=strict_env, cwd=str(fleet["dir"]), timeout=300)
    assert strict.returncode != 0


def test_playbook_reaches_every_cluster_with_the_hostvars(fleet):
    """The variables work: a report-only helm_unstick run per host talks to that host's API server."""
    src = source(fleet, SOURCE)
    out = fleet["dir"] / "out"
    out.mkdir()
    playbook = fleet["dir"] / "report.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: helm_clusters
          gather_facts: false
          tasks:
            - helmops.unstick.helm_unstick:
                kubeconfig: "{{ stuck_releases_kubeconfig }}"
                context: "{{ stuck_releases_context }}"
                remediate: false
              register: report
            - ansible.builtin.copy:
                content: "{{ report | to_json }}"
                dest: "%s/{{ inventory_hostname }}.json"
        """) % out)
    fleet["prod"].requests.clear()
    fleet["staging"].requests.clear()
    proc = run([str(BIN / "ansible-playbook"), "-i", src, str(playbook)], fleet["dir"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert sorted(results) == ["dev-eu-1", "prod-eu-1", "prod-eu-2", "staging-eu-1"]
    for host, result in results.items():
        assert result["cluster"] == host and result["stuck"] == [] and result["errors"] == [], result
    assert fleet["prod"].requests and fleet["staging"].requests


def test_the_docs_example_is_real_output(tmp_path):
    """docs/inventory.md's quick start, reproduced: its kubeconfig (four contexts, three clusters), its
    source file, ansible-inventory --graph and --host with HOME=/home/ops replaced by a temp dir."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "inventory.md").read_text()
    source_text = docs.split("# clusters.kubeconfig.yml\n", 1)[1].split("```", 1)[0]
    shown = docs.split("$ ansible-inventory -i clusters.kubeconfig.yml --graph\n", 1)[1]
    graph_doc, host_doc = shown.split("\n$ ansible-inventory -i clusters.kubeconfig.yml --host prod-eu-1\n", 1)
    host_doc = json.loads(host_doc.split("```", 1)[0])
    home = tmp_path / "ops"
    (home / ".kube").mkdir(parents=True)
    servers = {"prod-eu": "https://prod-eu.k8s.example.com:6443", "prod-us": "https://prod-us.k8s.example.com:6443",
               "kind-staging": "https://127.0.0.1:37017"}
    contexts = [("prod-eu-1", "prod-eu", "shop"), ("prod-eu-1-readonly", "prod-eu", None),
                ("prod-us-1", "prod-us", None), ("staging-eu-1", "kind-staging", None)]
    (home / ".kube" / "config").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod-eu-1",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
        "users": [{"name": "ops", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": c, "context": dict({"cluster": cl, "user": "ops"}, **({"namespace": ns} if ns else {}))}
                     for c, cl, ns in contexts]}))
    (home / "clusters.kubeconfig.yml").write_text(source_text)
    env = dict(os.environ, HOME=str(home))
    env.pop("KUBECONFIG", None)

    def inv(*args):
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", "clusters.kubeconfig.yml"] + list(args),
                              capture_output=True, text=True, cwd=str(home), env=env, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    graph = inv("--graph")
    warning, expected_graph = graph_doc.split("\n", 1)
    assert graph.stdout == expected_graph.split("\n\n", 1)[0].rstrip("\n") + "\n"
    assert " ".join(graph.stderr.split()) == warning.replace("/home/ops", str(home))
    host = json.loads(inv("--host", "prod-eu-1").stdout)
    assert Path(host.pop("ansible_python_interpreter")).parent == BIN
    assert Path(host_doc.pop("ansible_python_interpreter")).name == "python3"
    host_doc["stuck_releases_kubeconfig"] = host_doc["stuck_releases_kubeconfig"].replace("/home/ops", str(home))
    assert plain(host) == host_doc
