# SPDX-License-Identifier: GPL-3.0-or-later
"""Setting the connection once: the stuck_releases role's per-host connection dictionary (with the single
variables over it) and module_defaults through the collection's action group (meta/runtime.yml)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import helmfix
from connect_proxy import ConnectProxy
from localkube import LocalKube
from playbook_run import HELM_BIN, ROOT

pytestmark = pytest.mark.slow

PLAYBOOK_BIN = str(Path(sys.executable).parent / "ansible-playbook")
TOKEN = "conn-settings-t0ken"


def stuck(kube, name="web", ns="shop"):
    env = helmfix.HelmEnv(kube.write_kubeconfig(Path(kube.kubeconfig).with_suffix(".admin"), token=TOKEN)
                          if kube.tokens else kube.kubeconfig)
    return helmfix.stuck_upgrade(env, kube, name, ns)


def playbook(work, path, inventory=None, extra=None):
    cmd = [PLAYBOOK_BIN, "-i", str(inventory or "localhost,"), str(path)]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(work), timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def tls_kube(tmp_path):
    with LocalKube(tls=True, tokens={TOKEN: None}) as server:
        # a kubeconfig without the token: the token comes from the connection dictionary
        server.kubeconfig = str(server.write_kubeconfig(tmp_path / "tls-no-token", token=""))
        yield server


def test_role_connection_dictionary_and_single_variables_over_it(tmp_path, kube, tls_kube):
    tls_rev, plain_rev = stuck(tls_kube), stuck(kube)
    wrong = tmp_path / "wrong-kubeconfig"
    wrong.write_text("not: a kubeconfig\n")
    with ConnectProxy() as proxy:
        hosts = {
            # everything from the dictionary: kubeconfig without a token, the token, a proxy
            "eu": {"stuck_releases_connection": {"kubeconfig": tls_kube.kubeconfig, "api_key": TOKEN,
                                                 "proxy": proxy.url}},
            # the single variable wins over the dictionary's key
            "us": {"stuck_releases_connection": {"kubeconfig": str(wrong)},
                   "stuck_releases_kubeconfig": kube.kubeconfig},
        }
        inventory = tmp_path / "clusters.yml"
        inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": hosts}}))
        rc, out = playbook(tmp_path, ROOT / "playbooks" / "remediate.yml", inventory,
                           {"stuck_releases_helm_binary": str(HELM_BIN), "stuck_releases_timeout": "60s",
                            "ansible_python_interpreter": sys.executable,
                            "stuck_releases_report_dir": str(tmp_path / "report")})
        tunnels = list(proxy.log)
    assert rc == 0, out
    assert helmfix.newest(tls_kube, "shop", "web") == (tls_rev + 1, "deployed"), out
    assert helmfix.newest(kube, "shop", "web") == (plain_rev + 1, "deployed")
    assert tunnels and set(tunnels) == {tls_kube.url.split("://")[1]}       # eu's scan and helm: via its proxy
    assert TOKEN not in out


def test_unknown_key_in_the_connection_dictionary_fails_the_play_naming_it(tmp_path, kube):
    inventory = tmp_path / "clusters.yml"
    inventory.write_text(yaml.safe_dump({"helm_clusters": {"hosts": {"eu": {
        "stuck_releases_connection": {"kubeconfig": kube.kubeconfig, "kube_context": "typo"}}}}}))
    rc, out = playbook(tmp_path, ROOT / "playbooks" / "report.yml", inventory,
                       {"ansible_python_interpreter": sys.executable,
                        "stuck_releases_report_dir": str(tmp_path / "report")})
    assert rc != 0 and "kube_context" in out and "stuck_releases_connection" in out, out
    assert kube.stats()["by_verb"].get("list", {}).get("requests", 0) == 0       # nothing was asked


def test_module_defaults_group_sets_the_connection_once(tmp_path, kube, tls_kube):
    rev = stuck(kube)
    stuck(tls_kube)
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "module_defaults": {"group/helmops.unstick.helm": {"kubeconfig": kube.kubeconfig,
                                                           "helm_binary": str(HELM_BIN)}},
        "tasks": [{"name": "unstick", "helmops.unstick.helm_unstick": {"strategy": "rollback", "timeout": "60s"},
                   "register": "out"},
                  {"name": "show", "ansible.builtin.debug": {"msg": "{{ out.remediated | map(attribute='name') }}"}}],
    }]))
    rc, out = playbook(tmp_path, play, extra={"ansible_python_interpreter": sys.executable})
    assert rc == 0, out
    assert helmfix.newest(kube, "shop", "web") == (rev + 1, "deployed")             # the group's cluster
    assert helmfix.newest(tls_kube, "shop", "web")[1] == "pending-upgrade"         # not another one
