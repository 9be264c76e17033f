"""The argument handling and output of the test ``helm`` stand-in (see tests/support/bin/helm)."""

import argparse
import json
import os
import re
import sys
import time

import yaml

import helm_python as helm

from helmfix import op as ops

GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def duration(text):
    """Go duration ('5m0s', '300s', '1h') or bare seconds -> int seconds."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    parts = GO_DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError('invalid argument "%s" for "--timeout" flag: time: invalid duration "%s"' % (text, text))
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return int(sum(float(n) * scale[u] for n, u in parts))


def parser():
    p = argparse.ArgumentParser(prog="helm", add_help=False)
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    p.add_argument("--kube-context", default=os.environ.get("HELM_KUBECONTEXT"))
    p.add_argument("-n", "--namespace", default=os.environ.get("HELM_NAMESPACE") or "default")
    p.add_argument("--kube-apiserver", default=os.environ.get("HELM_KUBEAPISERVER"))
    p.add_argument("--kube-token", default=os.environ.get("HELM_KUBETOKEN"))
    p.add_argument("--kube-ca-file", default=os.environ.get("HELM_KUBECAFILE"))
    p.add_argument("--kube-insecure-skip-tls-verify", action="store_true",
                   default=os.environ.get("HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "").lower() in ("1", "true"))
    p.add_argument("--kube-as-user")
    p.add_argument("--kube-as-group", action="append")
    p.add_argument("--debug", action="store_true")
    p.add_argument("-o", "--output", default="table")
    p.add_argument("--wait", nargs="?", const="watcher", default=None)
    p.add_argument("--timeout", default="5m0s")
    p.add_argument("--max", type=int)
    p.add_argument("--revision", type=int)
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("--filter")
    p.add_argument("--short", action="store_true")
    p.add_argument("--template")
    p.add_argument("--install", action="store_true")
    p.add_argument("-f", "--values", action="append", default=[])
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--version", dest="chart_version")
    p.add_argument("--atomic", action="store_true")
    p.add_argument("--rollback-on-failure", action="store_true")
    p.add_argument("--create-namespace", action="store_true")
    p.add_argument("--reset-values", action="store_true")
    p.add_argument("--reuse-values", action="store_true")
    p.add_argument("--keep-history", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("args", nargs="*")
    return p


def values_of(opts):
    merged = {}
    for path in opts.values:
        with open(path) as handle:
            merge(merged, yaml.safe_load(handle) or {})
    for expr in opts.set:
        merge(merged, helm.parse_set_string(expr))
    return merged or None


def merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def table(rows, cols):
    widths = [max(len(c), *(len(str(r.get(k, ""))) for r in rows)) if rows else len(c) for c, k in cols]
    lines = ["\t".join(c.ljust(w) for (c, _), w in zip(cols, widths)).rstrip()]
    for row in rows:
        lines.append("\t".join(str(row.get(k, "")).ljust(w) for (_, k), w in zip(cols, widths)).rstrip())
    return "\n".join(lines)


def emit(data, fmt, cols=None):
    if fmt == "json":
        print(json.dumps(data))
    elif fmt == "yaml":
        print(yaml.safe_dump(data, sort_keys=False).rstrip())
    else:
        print(table(data if isinstance(data, list) else [data], cols))


def main(argv):
    try:
        opts = parser().parse_args(argv)
    except SystemExit:
        return 1
    if not opts.args:
        sys.stderr.write("Error: a command is required (test stand-in)\n")
        return 1
    cmd, rest = opts.args[0], opts.args[1:]
    base = {"kubeconfig": opts.kubeconfig, "context": opts.kube_context, "token": opts.kube_token,
            "apiserver": opts.kube_apiserver, "ca_file": opts.kube_ca_file,
            "insecure": opts.kube_insecure_skip_tls_verify, "namespace": opts.namespace,
            "driver": os.environ.get("HELM_DRIVER") or "secret"}
    try:
        wait = opts.wait if opts.wait in (None, "watcher", "legacy", "hookOnly") else "watcher"
        timeout = duration(opts.timeout)
        if cmd == "version":
            version = helm.helm_sdk_version()
            if opts.short or (opts.template and ".Version" in opts.template):
                print(version)
            else:
                print('version.BuildInfo{Version:"%s", GitCommit:"", GitTreeState:"clean", GoVersion:""}' % version)
            return 0
        if cmd == "history":
            rows = ops.run(dict(base, op="history", name=rest[0], max=opts.max))
            if opts.max:
                rows = rows[-opts.max:]
            out = [{k: r[k] for k in ("revision", "updated", "status", "chart", "app_version", "description")}
                   for r in rows]
            emit(out, opts.output, [("REVISION", "revision"), ("UPDATED", "updated"), ("STATUS", "status"),
                                    ("CHART", "chart"), ("APP VERSION", "app_version"),
                                    ("DESCRIPTION", "description")])
            return 0
        if cmd == "status":
            s = ops.run(dict(base, op="status", name=rest[0], revision=opts.revision))
            data = {"name": s["name"], "namespace": s["namespace"], "version": s["revision"],
                    "info": {"status": s["status"], "last_deployed": s.get("deployed_at")},
                    "chart": {"metadata": {"name": s.get("chart_name"), "version": s.get("chart_version"),
                                           "appVersion": s.get("app_version")}}}
            if opts.output in ("json", "yaml"):
                emit(data, opts.output)
            else:
                print("NAME: %s\nLAST DEPLOYED: %s\nNAMESPACE: %s\nSTATUS: %s\nREVISION: %s"
                      % (s["name"], s.get("deployed_at"), s["namespace"], s["status"], s["revision"]))
            return 0
        if cmd in ("list", "ls"):
            rows = ops.run(dict(base, op="list", all=opts.all, all_namespaces=opts.all_namespaces,
                                filter=opts.filter))
            if not opts.all:  # like the CLI: deployed and failed only, unless -a
                rows = [r for r in rows if r["status"] in ("deployed", "failed")]
            out = [{"name": r["name"], "namespace": r["namespace"], "revision": str(r["revision"]),
                    "updated": r.get("deployed_at"), "status": r["status"],
                    "chart": "%s-%s" % (r.get("chart_name"), r.get("chart_version")),
                    "app_version": r.get("app_version")} for r in rows]
            emit(out, opts.output, [("NAME", "name"), ("NAMESPACE", "namespace"), ("REVISION", "revision"),
                                    ("UPDATED", "updated"), ("STATUS", "status"), ("CHART", "chart"),
                                    ("APP VERSION", "app_version")])
            return 0
        if cmd == "rollback":
            revision = int(rest[1]) if len(rest) > 1 and int(rest[1]) > 0 else None
            ops.run(dict(base, op="rollback", name=rest[0], revision=revision, wait=wait, timeout=timeout))
            print("Rollback was a success! Happy Helming!")
            return 0
        if cmd in ("uninstall", "delete", "del", "un"):
            ops.run(dict(base, op="uninstall", name=rest[0], wait=wait, timeout=timeout,
                         keep_history=opts.keep_history))
            print('release "%s" uninstalled' % rest[0])
            return 0
        if cmd in ("upgrade", "install"):
            name, chart = rest[0], rest[1]
            rel = ops.run(dict(base, op=cmd, name=name, chart=chart, values=values_of(opts),
                               install=opts.install, wait=wait, timeout=timeout,
                               atomic=opts.atomic or opts.rollback_on_failure,
                               reset_values=opts.reset_values, reuse_values=opts.reuse_values))
            if cmd == "upgrade":
                print('Release "%s" has been upgraded. Happy Helming!' % name)
            print("NAME: %s\nLAST DEPLOYED: %s\nNAMESPACE: %s\nSTATUS: %s\nREVISION: %s"
                  % (name, time.strftime("%a %b %d %H:%M:%S %Y"), opts.namespace,
                     rel.get("status", "deployed"), rel.get("revision", rel.get("version", ""))))
            return 0
        if cmd == "get" and rest and rest[0] == "values":
            vals = ops.run(dict(base, op="values", name=rest[1], all=opts.all, revision=opts.revision))
            emit(vals, opts.output if opts.output in ("json", "yaml") else "yaml")
            return 0
        sys.stderr.write("Error: %s is unsupported in the test stand-in for helm\n" % " ".join(opts.args))
        return 1
    except helm.HelmError as err:
        prefix = {"upgrade": "UPGRADE FAILED: ", "install": "INSTALLATION FAILED: "}.get(cmd, "")
        sys.stderr.write("Error: %s%s\n" % (prefix, err))
        return 1
    except (ValueError, IndexError) as err:
        sys.stderr.write("Error: %s\n" % err)
        return 1
