# SPDX-License-Identifier: GPL-3.0-or-later
"""The helm stand-in's command line and output formatting, in process (no server)."""

import io
import json

import pytest

from helmfix import cli


@pytest.mark.parametrize("text,seconds", [("5m0s", 300), ("300s", 300), ("90", 90), ("1h", 3600),
                                          ("1h30m", 5400), ("1.5m", 90), ("2m30.5s", 150), ("0", 0),
                                          ("0s", 0), ("1500ms", 1)])
def test_go_durations(text, seconds):
    assert cli.duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "m", "5m 0s", "1d", "s5"])
def test_bad_durations_error_like_helm(text):
    with pytest.raises(cli.Usage) as err:
        cli.duration(text)
    assert str(err.value) == 'invalid argument "%s" for "--timeout" flag: time: invalid duration "%s"' % (text, text)


def test_time_formats():
    assert cli.go_string("2026-11-24T11:31:56.573507270Z") == "2026-11-24 11:31:56.57350727 +0000 UTC"
    assert cli.go_string("2026-11-24T11:31:56Z") == "2026-11-24 11:31:56 +0000 UTC"
    assert cli.go_string("2026-10-04T23:38:41.1761555+02:00") == "2026-10-04 23:38:41.1761555 +0200 +0200"
    assert cli.ansic("2026-11-04T09:01:02.5Z") == "Wed Nov  4 09:01:02 2026"


def test_json_is_go_encoder_shaped():
    assert cli.encode_json({"a": [1, "<x>&"], "b": "é"}) == '{"a":[1,"\\u003cx\\u003e\\u0026"],"b":"é"}\n'
    assert cli.encode_json(None) == "null\n"


def test_table_pads_every_cell_like_uitable():
    assert cli.encode_table([["NAME", "REVISION"], ["web", 12]]) == "NAME\tREVISION\nweb \t12      \n"


def parse(*argv):
    return cli.parse(list(argv))


def test_global_flags_anywhere_and_aliases():
    o = parse("--kubeconfig", "/k", "-n", "shop", "hist", "web", "-o", "json", "--kube-context=c", "--max", "3")
    assert (o.cmd, o.args, o.kubeconfig, o.namespace, o.output, o.kube_context, o.max) == (
        "history", ["web"], "/k", "shop", "json", "c", 3)
    o = parse("get", "-n", "shop", "values", "web", "--all", "-o", "json")
    assert (o.cmd, o.args, o.all, o.namespace) == ("get values", ["web"], True, "shop")
    assert parse("ls", "-Aq").all_namespaces and parse("ls", "-Aq").short
    with pytest.raises(cli.Usage, match="unknown flag: -aA"):         # helm 4 has no list -a (helm 3 had)
        parse("ls", "-aA")


def test_short_f_depends_on_the_command():
    assert parse("list", "-f", "^web$").filter == "^web$"
    assert parse("upgrade", "web", "./c", "-f", "a.yaml", "-f", "b.yaml").values == ["a.yaml", "b.yaml"]


def test_wait_is_an_optional_value_flag_like_pflag():
    o = parse("rollback", "--wait", "web", "1", "--timeout", "1m0s")
    assert (o.args, o.wait, cli.wait_strategy(o.wait), cli.duration(o.timeout)) == (["web", "1"], "watcher",
                                                                                     "watcher", 60)
    assert cli.wait_strategy(parse("uninstall", "web", "--wait=legacy").wait) == "legacy"
    assert cli.wait_strategy(parse("uninstall", "web").wait) is None
    with pytest.raises(cli.Usage):
        cli.wait_strategy("sometimes")


def test_bool_flags_take_true_false():
    assert parse("upgrade", "a", "c", "--install=true").install
    assert not parse("upgrade", "a", "c", "--install=false").install
    with pytest.raises(cli.Usage, match="ParseBool"):
        parse("upgrade", "a", "c", "--install=maybe")


def test_environment_defaults(monkeypatch):
    monkeypatch.setenv("HELM_NAMESPACE", "envns")
    monkeypatch.setenv("HELM_KUBECONTEXT", "ctx")
    monkeypatch.setenv("HELM_KUBETOKEN", "t0k")
    monkeypatch.setenv("HELM_KUBEASGROUPS", "a,b")
    monkeypatch.setenv("KUBECONFIG", "/nope/k")
    monkeypatch.setenv("HELM_DRIVER", "configmaps")
    o = parse("status", "web")
    base = cli.connection(o)
    assert (base["namespace"], base["context"], base["token"], base["as_groups"], base["kubeconfig"],
            base["driver"]) == ("envns", "ctx", "t0k", ["a", "b"], "/nope/k", "configmap")
    assert cli.connection(parse("status", "web", "-n", "flag"))["namespace"] == "flag"


def test_namespace_from_kubeconfig_context(tmp_path, monkeypatch):
    monkeypatch.delenv("HELM_NAMESPACE", raising=False)
    kc = tmp_path / "k"
    kc.write_text("apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n"
                  "- name: a\n  context: {cluster: x, namespace: team-a}\n- name: b\n  context: {cluster: x}\n")
    assert cli.connection(parse("status", "w", "--kubeconfig", str(kc)))["namespace"] == "team-a"
    assert cli.connection(parse("status", "w", "--kubeconfig", str(kc), "--kube-context", "b"))["namespace"] == "default"


def test_values_merge_order(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text("message: file\nauth: {password: file, user: u}\nport: 1\n")
    o = parse("upgrade", "w", "c", "--set", "port=80", "--set-string", "port=81", "-f", str(f),
              "--set-json", 'auth.password="json"', "--set-json", 'tags=["a"]', "--set", "auth.password=set")
    assert cli.user_values(o) == {"message": "file", "auth": {"password": "set", "user": "u"}, "port": "81",
                                  "tags": ["a"]}
    assert cli.user_values(parse("upgrade", "w", "c")) is None


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_version_forms():
    assert run("version", "--short") == (0, "v4.2.3\n", "")
    assert run("version", "--template", "{{.Version}}") == (0, "v4.2.3", "")
    assert run("version", "--template", "{{ .Version }}-{{.GitTreeState}}")[1] == "v4.2.3-clean"
    rc, out, _ = run("version")
    assert rc == 0 and out.startswith('version.BuildInfo{Version:"v4.2.3", GitCommit:')


@pytest.mark.parametrize("argv,message", [
    (["history"], 'Error: "helm history" requires 1 argument'),
    (["upgrade", "web"], 'Error: "helm upgrade" requires 2 arguments'),
    (["list", "--bogus"], "Error: unknown flag: --bogus"),
    (["history", "w", "-o", "xml"], 'Error: invalid argument "xml" for "-o, --output" flag: invalid format type'),
    (["rollback", "w", "abc"], 'Error: could not convert revision to a number: strconv.Atoi: parsing "abc": '
                               'invalid syntax'),
    (["upgrade", "w", "c", "--timeout", "5x"], 'Error: invalid argument "5x" for "--timeout" flag: '
                                               'time: invalid duration "5x"'),
    (["history", "w", "--max", "x"], 'Error: invalid argument "x" for "--max" flag: strconv.ParseInt: '
                                     'parsing "x": invalid syntax'),
    (["repo", "add", "x", "https://example.invalid"], "Error: repo is unsupported in the test stand-in for helm"),
    (["get", "notes", "w"], "Error: get notes is unsupported in the test stand-in for helm"),
    (["upgrade", "w", "c", "--post-renderer", "x"], "Error: --post-renderer is unsupported in the test stand-in"
                                                    " for helm"),
])
def test_usage_errors(argv, message):
    rc, out, err = run(*argv)
    assert (rc, out, err.rstrip("\n")) == (1, "", message)


def test_list_json_of_nothing_is_an_empty_array(monkeypatch):
    monkeypatch.setattr(cli.ops, "run", lambda req: [])
    assert run("list", "-o", "json") == (0, "[]\n", "")
    assert json.loads(run("list", "-q", "-o", "json")[1]) == []
