# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as a new user gets it: `ansible-galaxy collection build` from a clean copy of the tree, the
tarball's files against what a user needs, then `ansible-galaxy collection install` into a temporary
collections path of a clean virtualenv with PyPI's ansible (.tools/venv-clean, made by scripts/bootstrap), and
the module, both roles, the playbooks by FQCN and the inventory plugin run from that installed copy against a
local API server with a release real helm left stuck."""

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

import helmfix
from tools import HELM4

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# scripts/matrix points HELMOPS_USER_VENV at another ansible-core's venv
CLEAN_VENV = Path(os.environ.get("HELMOPS_USER_VENV") or ROOT / ".tools" / "venv-clean")
# What the tarball holds: the collection's content and nothing of the development set-up. Every file of the
# tree under these paths ships, and nothing else (besides Galaxy's MANIFEST.json and FILES.json).
SHIPPED_FILES = {"README.md", "LICENSE", "CHANGELOG.rst", "execution-environment.yml"}
SHIPPED_DIRS = ("plugins/", "roles/", "playbooks/", "meta/", "docs/", "awx/", "changelogs/", "tests/sanity/",
                "extensions/eda/")
# development helpers inside shipped directories (they need the checkout's test servers)
NOT_SHIPPED = {"docs/make_screenshot.py"}
# named outright, so a build_ignore slip cannot pass as "the tree changed"
MUST_SHIP = {"MANIFEST.json", "FILES.json", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
             "meta/runtime.yml", "plugins/modules/helm_unstick.py", "plugins/inventory/kubeconfig.py",
             "roles/stuck_releases/tasks/main.yml", "roles/guarded_upgrade/tasks/main.yml",
             "playbooks/remediate.yml", "playbooks/report.yml", "playbooks/safe_upgrade.yml",
             "tests/sanity/ignore-2.19.txt", "extensions/eda/plugins/event_source/stuck_releases.py",
             "extensions/eda/rulebooks/remediate.yml", "extensions/eda/rulebooks/remediate_awx.yml"}
NEVER_SHIP = ("requirements.txt", "pytest.ini", "scripts/", "demo/", "bench/", "tests/support/", "tests/e2e/",
              "tests/unit/", "tests/integration/", "extensions/molecule/", ".venv/", ".tools/", ".demo/", ".ci/",
              "helm-stuck-report/")


# scripts/matrix may ask for the last commit (HELMOPS_TREE=HEAD) instead of the working tree
FROM_HEAD = os.environ.get("HELMOPS_TREE") == "HEAD"


def tree_files():
    cmd = ["git", "ls-tree", "-r", "-z", "--name-only", "HEAD"] if FROM_HEAD else \
        ["git", "ls-files", "-co", "--exclude-standard", "-z"]
    out = subprocess.run(cmd, cwd=str(ROOT), check=True, capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (FROM_HEAD or (ROOT / f).is_file())]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The tarball built from a clean copy of the tree (tracked and new files, nothing git ignores), by the
    clean virtualenv's ansible-galaxy."""
    assert (CLEAN_VENV / "bin" / "ansible-galaxy").exists(), "scripts/bootstrap makes .tools/venv-clean"
    work = tmp_path_factory.mktemp("galaxy")
    src = work / "src"
    src.mkdir()
    files = tree_files()
    if FROM_HEAD:
        pack = subprocess.run(["git", "archive", "HEAD"], cwd=str(ROOT), capture_output=True, check=True).stdout
    else:
        pack = subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], input="\0".join(files).encode(),
                              cwd=str(ROOT), capture_output=True, check=True).stdout
    subprocess.run(["tar", "-xf", "-", "-C", str(src)], input=pack, check=True)
    out = work / "dist"
    run([CLEAN_VENV / "bin" / "ansible-galaxy", "collection", "build", "--output-path", out, src], cwd=work)
    built = list(out.glob("helmops-unstick-*.tar.gz"))
    assert len(built) == 1, built
    return {"path": built[0], "tree": files, "work": work}


def clean_env(collections):
    """A new user's shell: the clean venv and the helm CLI on PATH, the installed copy as the only
    collections path, nothing of this checkout on PYTHONPATH."""
    return {"PATH": os.pathsep.join([str(CLEAN_VENV / "bin"), str(HELM4.parent), "/usr/bin", "/bin"]),
            "HOME": os.environ["HOME"], "LANG": "C.UTF-8", "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false"}


def run(cmd, cwd, env=None, check=True):
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(str(c) for c in cmd), proc.stdout, proc.stderr)
    return proc


def test_the_tarball_holds_exactly_what_a_user_needs(tarball):
    with tarfile.open(tarball["path"]) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    expected = {f for f in tarball["tree"] if (f in SHIPPED_FILES or f.startswith(SHIPPED_DIRS))
                and f not in NOT_SHIPPED and "__pycache__" not in f} | {"MANIFEST.json", "FILES.json"}
    assert sorted(names - expected) == [] and sorted(expected - names) == []
    assert MUST_SHIP <= names, sorted(MUST_SHIP - names)
    assert [n for n in names if n.startswith(NEVER_SHIP) or n in NEVER_SHIP or n.endswith((".pyc", ".tar.gz"))] == []
    info = manifest["collection_info"]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (info["namespace"], info["name"], info["version"]) == ("helmops", "unstick", galaxy["version"])
    assert info["license"] == ["GPL-3.0-or-later"] and info["dependencies"] == galaxy["dependencies"]
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()[:200]


def test_installed_tarball_runs_module_roles_playbooks_and_inventory_plugin(tarball, kube, real_helm, tmp_path):
    # install as a user does, into a collections path of its own
    collections = tmp_path / "collections"
    env = clean_env(collections)
    run([CLEAN_VENV / "bin" / "ansible-galaxy", "collection", "install", "-p", collections, tarball["path"]],
        cwd=tmp_path, env=env)
    installed = collections / "ansible_collections" / "helmops" / "unstick"
    assert (installed / "MANIFEST.json").exists() and not (installed / "tests" / "support").exists()
    listed = run([CLEAN_VENV / "bin" / "ansible-galaxy", "collection", "list", "--format", "json"], tmp_path, env)
    paths = {path: cols for path, cols in json.loads(listed.stdout).items()}
    assert paths[str(collections / "ansible_collections")]["helmops.unstick"]["version"] == "0.1.0"
    assert any("kubernetes.core" in cols for path, cols in paths.items() if str(CLEAN_VENV) in path)

    # a release real helm left stuck: installed, upgraded, then an upgrade killed midway an hour ago
    real_helm.install("web", "shop")
    real_helm.upgrade("web", "shop")
    rev = helmfix.make_stuck_upgrade(real_helm, kube, "web", "shop", values={"message": "half-done"})
    helmfix.age_record(kube, "shop", "web", rev, 3600)

    python = str(CLEAN_VENV / "bin" / "python")
    source = tmp_path / "clusters.kubeconfig.yml"
    source.write_text(yaml.safe_dump({"plugin": "helmops.unstick.kubeconfig", "kubeconfigs": [kube.kubeconfig]}))
    inv = json.loads(run([CLEAN_VENV / "bin" / "ansible-inventory", "-i", source, "--list"], tmp_path, env).stdout)
    assert inv["helm_clusters"]["hosts"] == ["localkube"], inv
    kubeconfig_var = inv["_meta"]["hostvars"]["localkube"]["stuck_releases_kubeconfig"]
    assert kubeconfig_var in (kube.kubeconfig, {"__ansible_unsafe": kube.kubeconfig})   # 2.19 tags it unsafe

    # the module on its own, report only
    adhoc = run([CLEAN_VENV / "bin" / "ansible", "localhost", "-m", "helmops.unstick.helm_unstick", "-a",
                 json.dumps({"kubeconfig": kube.kubeconfig, "remediate": False}),
                 "-e", "ansible_python_interpreter=" + python], tmp_path, env)
    result = json.loads(adhoc.stdout.split("=>", 1)[1])
    assert [(s["namespace"], s["name"], s["revision"]) for s in result["stuck"]] == [("shop", "web", rev)]
    assert result["changed"] is False

    # the playbooks by FQCN over the inventory plugin: report, remediate (stuck_releases), safe_upgrade
    # (guarded_upgrade)
    common = ["-i", source, "-e", "ansible_python_interpreter=" + python,
              "-e", "stuck_releases_report_dir=" + str(tmp_path / "report")]
    report = run([CLEAN_VENV / "bin" / "ansible-playbook"] + common + ["helmops.unstick.report"], tmp_path, env)
    fleet = json.loads((tmp_path / "report" / "stuck-releases.json").read_text())
    assert "localkube" in report.stdout and fleet["summary"]["stuck"] == 1, fleet["summary"]
    assert helmfix.newest(kube, "shop", "web") == (rev, "pending-upgrade")       # report only: untouched

    run([CLEAN_VENV / "bin" / "ansible-playbook"] + common + ["helmops.unstick.remediate"], tmp_path, env)
    assert helmfix.newest(kube, "shop", "web") == (rev + 1, "deployed")          # rolled back by helm

    chart = helmfix.make_chart(tmp_path, "0.2.0")
    guard = {"guarded_upgrade_release": "web", "guarded_upgrade_namespace": "shop", "guarded_upgrade_chart":
             str(chart), "guarded_upgrade_values": {"message": "v2"}, "guarded_upgrade_timeout": "60s"}
    run([CLEAN_VENV / "bin" / "ansible-playbook"] + common + ["-e", json.dumps(guard), "helmops.unstick.safe_upgrade"],
        tmp_path, env)
    assert helmfix.newest(kube, "shop", "web") == (rev + 2, "deployed")
    assert kube.store.get("configmaps", "shop", "web-config")["data"]["message"] == "v2"
