# SPDX-License-Identifier: GPL-3.0-or-later
"""The real tools under the tests: helm 3 and helm 4 CLIs, kube-apiserver and etcd that scripts/bootstrap
builds into .tools/ (versions pinned in scripts/tool-versions), and the helm stand-in for the few tests that need a helm
failing or hanging on purpose (tests/support/bin/helm)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "scripts" / "tool-versions"


def pinned_versions(path=VERSIONS_FILE):
    """{'HELM3_VERSION': 'v3.21.4', ...} from the shell-style file scripts/bootstrap sources."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


VERSIONS = pinned_versions()
HELM3_VERSION = VERSIONS["HELM3_VERSION"]
HELM4_VERSION = VERSIONS["HELM4_VERSION"]
HELM3 = ROOT / ".tools" / ("helm-" + HELM3_VERSION) / "helm"
HELM4 = ROOT / ".tools" / ("helm-" + HELM4_VERSION) / "helm"
#: the real binaries by the id tests are parametrized with
REAL_HELMS = {"helm3": HELM3, "helm4": HELM4}
#: what "helm" means in a test that does not say: the real helm 4
HELM = HELM4
KUBE_VERSION = VERSIONS["KUBE_VERSION"]
ETCD_VERSION = VERSIONS["ETCD_VERSION"]
#: the real API server of tests/support/realkube
KUBE_APISERVER = ROOT / ".tools" / ("kube-apiserver-" + KUBE_VERSION) / "kube-apiserver"
ETCD = ROOT / ".tools" / ("etcd-" + ETCD_VERSION) / "etcd"
#: the stand-in: only where a real binary cannot do the job (see its header)
HELM_STANDIN = ROOT / "tests" / "support" / "bin" / "helm"


def missing_tools():
    """Messages for each real tool that is not built (the suite fails on any of them)."""
    return ["%s is missing or not executable: run scripts/bootstrap (it builds %s with Go)" % (path, what)
            for path, what in ((HELM3, "helm " + HELM3_VERSION), (HELM4, "helm " + HELM4_VERSION),
                               (KUBE_APISERVER, "kube-apiserver " + KUBE_VERSION), (ETCD, "etcd " + ETCD_VERSION))
            if not (path.is_file() and os.access(str(path), os.X_OK))]


#: Event-Driven Ansible's runner (requirements.txt) in the virtualenv the tests run in
ANSIBLE_RULEBOOK = Path(sys.executable).parent / "ansible-rulebook"


def missing_eda():
    """Messages for what the EDA tests need and is missing: ansible-rulebook, and the Java its rule engine
    (drools-jpy) runs on. The suite fails on them, as on a missing helm."""
    missing = []
    if not (ANSIBLE_RULEBOOK.is_file() and os.access(str(ANSIBLE_RULEBOOK), os.X_OK)):
        missing.append("%s is missing: run scripts/bootstrap (requirements.txt pins ansible-rulebook and drools-jpy)"
                       % ANSIBLE_RULEBOOK)
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK))):
        missing.append("java is missing: ansible-rulebook's rule engine (drools-jpy) needs a Java 17 JDK "
                       "(Debian: openjdk-17-jdk-headless)")
    return missing


#: ``@both_helms``: run a test once with real helm 3 and once with real helm 4 (the ``helm_bin`` fixture)
both_helms = pytest.mark.parametrize("helm_bin", sorted(REAL_HELMS), indirect=True)
