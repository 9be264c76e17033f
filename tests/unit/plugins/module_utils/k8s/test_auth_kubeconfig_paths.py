"""auth.unreadable_kubeconfigs: one path or several joined by os.pathsep."""

import os

from ansible_collections.helmops.unstick.plugins.module_utils.k8s.auth import unreadable_kubeconfigs


def test_one_readable_file_is_fine(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("{}")
    assert unreadable_kubeconfigs(str(cfg)) == []


def test_several_files_each_checked_and_named_without_the_whole_value(tmp_path):
    good = tmp_path / "good"
    good.write_text("{}")
    value = os.pathsep.join([str(good), str(tmp_path / "gone.yaml"), str(tmp_path / "also-gone")])
    missing = unreadable_kubeconfigs(value)
    assert missing == ["'gone.yaml' in %s" % tmp_path, "'also-gone' in %s" % tmp_path]
    # Ansible masks every occurrence of a no_log option's whole value: never print a lone path whole
    assert all(str(tmp_path / "gone.yaml") not in m for m in missing)


def test_a_directory_is_not_a_kubeconfig_and_empty_parts_are_ignored(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("{}")
    assert unreadable_kubeconfigs(str(tmp_path)) == ["'%s' in %s" % (tmp_path.name, tmp_path.parent)]
    assert unreadable_kubeconfigs(str(cfg) + os.pathsep) == []


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("{}")
    assert unreadable_kubeconfigs("~/.kube/config") == []
    assert unreadable_kubeconfigs("~/.kube/other") == ["'other' in %s" % (tmp_path / ".kube")]


def test_current_context_is_the_first_file_that_sets_one_like_kubectl(tmp_path):
    from ansible_collections.helmops.unstick.plugins.module_utils.k8s.auth import current_context
    (tmp_path / "a").write_text("clusters: []\n")                    # sets none
    (tmp_path / "b").write_text("current-context: bee\n")
    (tmp_path / "c").write_text("current-context: sea\n")
    joined = os.pathsep.join(str(tmp_path / n) for n in "abc")
    assert current_context(joined) == "bee"          # the Python client alone would pick "sea"
    assert current_context(str(tmp_path / "c")) == "sea"
    assert current_context(str(tmp_path / "a")) is None
    assert current_context(str(tmp_path / "missing")) is None
