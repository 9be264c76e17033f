# SPDX-License-Identifier: GPL-3.0-or-later
"""execution-environment.yml (ansible-builder schema v3) gives a build context that
installs kubernetes.core, this collection (from its `ansible-galaxy collection build`
tarball), the Python deps found by ansible-builder's introspection (our
meta/execution-environment.yml, not the repository's dev requirements.txt) and the
helm CLI. No image is built: `ansible-builder create` writes the context, then the
galaxy and introspection stages are replayed here with the context's own files."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEV_ONLY = ("pytest", "molecule", "ansible-lint", "helm-python-sdk", "ansible-builder")


def run(cmd, cwd, timeout=180):
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "%s\n%s\n%s" % (cmd, proc.stdout, proc.stderr)
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The documented steps, in a scratch copy: collection tarball, then `ansible-builder create`."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(ROOT / "execution-environment.yml", work / "execution-environment.yml")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "build" / "ee", ROOT], cwd=work)
    out = run([BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context", "-v3"],
              cwd=work)
    assert "No matches for" not in out, out  # additional_build_files found the tarball
    return work


def stages(dockerfile):
    """{stage name: [lines]} of a multi-stage Containerfile."""
    result, name = {}, None
    for line in dockerfile.splitlines():
        m = re.match(r"FROM \S+ AS (\w+)", line)
        if m:
            name = m.group(1)
            result[name] = []
        elif name:
            result[name].append(line)
    return result


def test_definition_is_schema_v3_with_everything_the_collection_needs():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert {"ansible_core", "ansible_runner", "galaxy", "python", "python_interpreter"} <= set(deps)
    names = [c["name"] for c in deps["galaxy"]["collections"]]
    assert "kubernetes.core" in names
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    # the tarball the galaxy stage installs is the one `ansible-galaxy collection build` names
    ours = "collections/%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])
    assert {"name": ours, "type": "file"} in deps["galaxy"]["collections"], names
    versions = dict((c["name"], c.get("version")) for c in deps["galaxy"]["collections"])
    for dep, constraint in galaxy.get("dependencies", {}).items():
        assert versions.get(dep) == constraint, (dep, versions.get(dep), constraint)   # same bounds as galaxy.yml
    assert any(line.split(">")[0].split("=")[0].strip().lower() == "kubernetes" for line in deps["python"])
    steps = " ".join(ee["additional_build_steps"]["append_final"])
    assert "get.helm.sh" in steps and "sha256sum -c" in steps and "/usr/local/bin/helm" in steps


def test_create_writes_a_context_that_installs_collection_deps_and_helm(context):
    ctx = context / "context"
    dockerfile = (ctx / "Dockerfile").read_text() if (ctx / "Dockerfile").exists() else (ctx / "Containerfile").read_text()
    st = stages(dockerfile)
    assert list(st) == ["base", "galaxy", "builder", "final"], list(st)
    galaxy = "\n".join(st["galaxy"])
    assert "COPY _build /build" in galaxy and "WORKDIR /build" in galaxy
    assert re.search(r"ansible-galaxy collection install .*-r requirements.yml", galaxy), galaxy
    assert "introspect.py introspect" in "\n".join(st["builder"])
    final = "\n".join(st["final"])
    assert "COPY --from=galaxy /usr/share/ansible /usr/share/ansible" in final
    helm = final.index("https://get.helm.sh/helm-${HELM_VERSION}-linux-${arch}.tar.gz")
    assert final.index("install-from-bindep") < helm < final.index("ansible-doc -t module helmops.unstick.helm_unstick")

    reqs = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    files = [c["name"] for c in reqs["collections"] if c.get("type") == "file"]
    assert len(files) == 1 and (ctx / "_build" / files[0]).is_file(), (files, list((ctx / "_build").rglob("*")))
    assert "kubernetes.core" in [c["name"] for c in reqs["collections"]]
    user_pip = (ctx / "_build" / "requirements.txt").read_text()
    assert re.search(r"^kubernetes>=", user_pip, re.M), user_pip
    assert re.search(r"^psycopg\[binary\]>=3\.3\.9,<4", user_pip, re.M), user_pip   # the sql driver
    assert "tar [platform:rpm]" in (ctx / "_build" / "bindep.txt").read_text()


def test_galaxy_stage_and_introspection_find_the_collection_and_its_python_deps(context, tmp_path):
    build = context / "context" / "_build"
    reqs = yaml.safe_load((build / "requirements.yml").read_text())
    # the galaxy stage's install of our file entry, from the same directory (/build): offline,
    # kubernetes.core comes with the `ansible` package here
    local = tmp_path / "requirements.yml"
    local.write_text(yaml.safe_dump({"collections": [c for c in reqs["collections"] if c.get("type") == "file"]}))
    colls = tmp_path / "collections"
    out = run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-r", local,
               "-p", colls], cwd=build)
    assert "helmops.unstick:0.1.0 was installed successfully" in out.replace("'", ""), out
    installed = colls / "ansible_collections" / "helmops" / "unstick"
    for path in ("meta/execution-environment.yml", "meta/ee-requirements.txt", "plugins/modules/helm_unstick.py",
                 "plugins/inventory/kubeconfig.py", "roles/stuck_releases/tasks/main.yml", "playbooks/remediate.yml"):
        assert (installed / path).is_file(), path

    # the builder stage's introspection, with the context's own script
    out_pip, out_bindep = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    report = run([sys.executable, build / "scripts" / "introspect.py", "introspect", colls,
                  "--user-pip", build / "requirements.txt", "--user-bindep", build / "bindep.txt",
                  "--write-pip", out_pip, "--write-bindep", out_bindep], cwd=tmp_path)
    pip = out_pip.read_text()
    assert re.search(r"^kubernetes>=24\.2\.0 +# from collection helmops\.unstick", pip, re.M), pip
    assert re.search(r"^psycopg\[binary\]>=3\.3\.9,<4 +# from collection helmops\.unstick", pip, re.M), pip
    # (PyYAML, also in meta/ee-requirements.txt, is dropped by ansible-builder: ansible-core brings it)
    for dev in DEV_ONLY:  # the repository's own requirements.txt (dev pins) is not what the EE gets
        assert dev not in pip.lower(), (dev, pip)
    assert "==" not in pip, pip
    assert "helmops.unstick" in report
