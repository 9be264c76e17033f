# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument handling and output of the test ``helm`` stand-in (tests/support/bin/helm).

NOT the helm CLI: a test double that parses helm's command line the way helm
(cobra/pflag) does for the commands the collection and ``kubernetes.core.helm``
use, runs the operation with the real Helm SDK (``helmfix.op`` -> helm-python-sdk,
Helm v4.2.3) and prints what helm 4 prints (JSON/YAML/table formats from
helm's ``pkg/cmd``: history.go, list.go, status.go, get_values.go, ...).
Anything it does not support exits 1 with "... unsupported in the test
stand-in for helm" rather than quietly doing something else.
"""

import argparse
import datetime as dt
import json
import os
import re
import sys

import yaml

import helm_python as helm

from helmfix import op as ops

SDK_VERSION = None   # filled lazily: helm_python.helm_sdk_version()


class Usage(Exception):
    """A command-line error (cobra prints it as ``Error: <msg>``)."""


class Unsupported(Usage):
    pass


# -- durations and times ---------------------------------------------------
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def duration(text, flag="--timeout"):
    """A Go duration ('5m0s', '300s', '1h30m', '1.5h') -> whole seconds.
    A bare number is taken as seconds (helm 2 style, some wrappers pass it)."""
    raw = str(text).strip()
    if re.fullmatch(r"\d+", raw):
        return int(raw)
    body = raw[1:] if raw[:1] in "+-" else raw
    parts = _DUR_PART.findall(body)
    if not body or not parts or "".join(n + u for n, u in parts) != body:
        raise Usage('invalid argument "%s" for "%s" flag: time: invalid duration "%s"' % (raw, flag, raw))
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if raw.startswith("-"):
        seconds = -seconds
    return int(seconds)


_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_time(text):
    """RFC 3339 (nanosecond) time as Helm stores it -> (aware datetime, 9-digit nanos, offset)."""
    m = _TIME.match(text or "")
    if not m:
        return None
    year, mon, day, hh, mm, ss = (int(x) for x in m.groups()[:6])
    frac, zone = (m.group(7) or "").ljust(9, "0")[:9], m.group(8)
    if zone == "Z":
        tz = dt.timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return dt.datetime(year, mon, day, hh, mm, ss, tzinfo=tz), frac, zone


def ansic(text, local=False):
    """Go's time.ANSIC layout ('Mon Jan _2 15:04:05 2006')."""
    parsed = parse_time(text)
    if not parsed:
        return text or ""
    when = parsed[0].astimezone() if local else parsed[0]
    return "%s %2d %s" % (when.strftime("%a %b"), when.day, when.strftime("%H:%M:%S %Y"))


def go_string(text):
    """Go's time.Time.String() ('2006-01-02 15:04:05.999999999 -0700 MST')."""
    parsed = parse_time(text)
    if not parsed:
        return text or "-"
    when, frac, zone = parsed
    frac = frac.rstrip("0")
    offset = when.strftime("%z")
    name = "UTC" if zone == "Z" else offset
    return "%s%s %s %s" % (when.strftime("%Y-%m-%d %H:%M:%S"), "." + frac if frac else "", offset, name)


# -- output ----------------------------------------------------------------
def encode_json(data):
    """Go's json.Encoder: compact, HTML-escaped, UTF-8, trailing newline."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for char, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, esc)
    return text + "\n"


def encode_yaml(data):
    """sigs.k8s.io/yaml: keys sorted, block style."""
    text = yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text[:-4] if text.endswith("\n...\n") else text     # a bare scalar: no document end marker


def encode_table(rows):
    """gosuri/uitable as helm uses it: every cell padded to its column, tab-separated."""
    if not rows:
        return ""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "".join("\t".join(str(cell).ljust(w) for cell, w in zip(row, widths)) + "\n" for row in rows)


def write(out, text):
    out.write(text)


# -- command line ----------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message):
        m = re.match(r"unrecognized arguments: (\S+)", message)
        if m:
            raise Usage("unknown flag: %s" % m.group(1) if m.group(1).startswith("-")
                        else 'unknown command "%s" for "%s"' % (m.group(1), self.prog))
        m = re.match(r"argument (\S+?)(?:/\S+)?: expected one argument", message)
        if m:
            raise Usage("flag needs an argument: %s" % m.group(1))
        m = re.match(r"argument (\S+?)(?:/\S+)?: invalid int value: '(.*)'", message)
        if m:
            raise Usage('invalid argument "%s" for "%s" flag: strconv.ParseInt: parsing "%s": invalid syntax'
                        % (m.group(2), m.group(1), m.group(2)))
        raise Usage(message)


GLOBAL_VALUE_FLAGS = ("--kubeconfig", "--kube-context", "-n", "--namespace", "--kube-apiserver", "--kube-token",
                      "--kube-ca-file", "--kube-as-user", "--kube-as-group", "--kube-tls-server-name",
                      "--burst-limit", "--qps", "--registry-config", "--repository-config",
                      "--repository-cache", "--content-cache", "--color", "--colour")
# Go flags with an optional value (pflag NoOptDefVal): bare flag -> this value
OPTIONAL_VALUE = {"--wait": "watcher", "--dry-run": "client"}


def _env_bool(name):
    return os.environ.get(name, "").lower() in ("1", "t", "true", "y", "yes")


def add_globals(p):
    env = os.environ.get
    p.add_argument("--kubeconfig", default=env("KUBECONFIG"))
    p.add_argument("--kube-context", default=env("HELM_KUBECONTEXT"))
    p.add_argument("-n", "--namespace", default=env("HELM_NAMESPACE"))
    p.add_argument("--kube-apiserver", default=env("HELM_KUBEAPISERVER"))
    p.add_argument("--kube-token", default=env("HELM_KUBETOKEN"))
    p.add_argument("--kube-ca-file", default=env("HELM_KUBECAFILE"))
    p.add_argument("--kube-tls-server-name", default=env("HELM_KUBETLS_SERVER_NAME"))
    p.add_argument("--kube-insecure-skip-tls-verify", action="store_true",
                   default=_env_bool("HELM_KUBEINSECURE_SKIP_TLS_VERIFY"))
    p.add_argument("--kube-as-user", default=env("HELM_KUBEASUSER"))
    p.add_argument("--kube-as-group", action="append",
                   default=[g for g in (env("HELM_KUBEASGROUPS") or "").split(",") if g])
    p.add_argument("--burst-limit")
    p.add_argument("--qps")
    p.add_argument("--debug", action="store_true", default=_env_bool("HELM_DEBUG"))
    for flag in ("--registry-config", "--repository-config", "--repository-cache", "--content-cache",
                 "--color", "--colour"):
        p.add_argument(flag)
    p.add_argument("-h", "--help", action="store_true")


def add_output(p):
    p.add_argument("-o", "--output", default="table", choices=None)


def add_wait(p, timeout=True):
    p.add_argument("--wait")
    p.add_argument("--wait-for-jobs", action="store_true")
    if timeout:
        p.add_argument("--timeout", default="5m0s")


def add_chart_flags(p, upgrade):
    p.add_argument("-f", "--values", action="append", default=[])
    for flag in ("--set", "--set-string", "--set-json", "--set-file", "--set-literal"):
        p.add_argument(flag, action="append", default=[])
    p.add_argument("--version", dest="chart_version")
    p.add_argument("--repo")
    add_wait(p)
    add_output(p)
    p.add_argument("--atomic", action="store_true")
    p.add_argument("--rollback-on-failure", action="store_true")
    p.add_argument("--create-namespace", action="store_true")
    p.add_argument("--description")
    p.add_argument("--dry-run")
    p.add_argument("--devel", action="store_true")
    p.add_argument("--no-hooks", action="store_true")
    p.add_argument("--skip-crds", action="store_true")
    p.add_argument("--hide-notes", action="store_true")
    p.add_argument("--render-subchart-notes", action="store_true")
    p.add_argument("--disable-openapi-validation", action="store_true")
    p.add_argument("--skip-schema-validation", action="store_true")
    p.add_argument("--take-ownership", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--force-replace", action="store_true")
    p.add_argument("--force-conflicts", action="store_true")
    p.add_argument("--server-side")
    p.add_argument("--labels")
    for unsupported in ("--post-renderer", "--post-renderer-args", "--username", "--password", "--keyring",
                        "--ca-file", "--cert-file", "--key-file"):
        p.add_argument(unsupported, dest="unsupported_" + unsupported[2:].replace("-", "_"))
    p.add_argument("--dependency-update", action="store_true")
    p.add_argument("--enable-dns", action="store_true")
    if upgrade:
        p.add_argument("-i", "--install", action="store_true")
        p.add_argument("--reset-values", action="store_true")
        p.add_argument("--reuse-values", action="store_true")
        p.add_argument("--reset-then-reuse-values", action="store_true")
        p.add_argument("--cleanup-on-fail", action="store_true")
        p.add_argument("--history-max", type=int,
                       default=int(os.environ.get("HELM_MAX_HISTORY") or 10))
    else:
        p.add_argument("-g", "--generate-name", action="store_true")
        p.add_argument("--name-template")
        p.add_argument("--replace", action="store_true")


def command_parser(cmd):
    p = Parser(prog="helm %s" % cmd, add_help=False, allow_abbrev=False)
    add_globals(p)
    if cmd == "version":
        p.add_argument("--short", action="store_true")
        p.add_argument("--template")
    elif cmd == "history":
        p.add_argument("--max", type=int, default=256)
        add_output(p)
    elif cmd == "status":
        p.add_argument("--revision", type=int, default=0)
        p.add_argument("--show-resources", action="store_true")
        p.add_argument("--show-desc", action="store_true")
        add_output(p)
    elif cmd == "list":
        p.add_argument("-A", "--all-namespaces", action="store_true")
        # no -a/--all: helm 4 removed it (it lists every state by default)
        p.add_argument("-f", "--filter")
        p.add_argument("-m", "--max", type=int, default=256)
        p.add_argument("--offset", type=int, default=0)
        p.add_argument("-q", "--short", action="store_true")
        p.add_argument("--no-headers", action="store_true")
        p.add_argument("--time-format")
        p.add_argument("-d", "--date", action="store_true")
        p.add_argument("-r", "--reverse", action="store_true")
        p.add_argument("-l", "--selector")
        for state in ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling"):
            p.add_argument("--" + state, action="store_true")
        add_output(p)
    elif cmd == "rollback":
        add_wait(p)
        p.add_argument("--dry-run")
        p.add_argument("--no-hooks", action="store_true")
        p.add_argument("--force", action="store_true")
        p.add_argument("--force-replace", action="store_true")
        p.add_argument("--force-conflicts", action="store_true")
        p.add_argument("--server-side")
        p.add_argument("--cleanup-on-fail", action="store_true")
        p.add_argument("--history-max", type=int)
    elif cmd == "uninstall":
        add_wait(p)
        p.add_argument("--keep-history", action="store_true")
        p.add_argument("--ignore-not-found", action="store_true")
        p.add_argument("--description")
        p.add_argument("--dry-run")
        p.add_argument("--no-hooks", action="store_true")
        p.add_argument("--cascade", default="background")
    elif cmd in ("upgrade", "install"):
        add_chart_flags(p, upgrade=cmd == "upgrade")
    elif cmd.startswith("show "):
        p.add_argument("--version", dest="chart_version")
        p.add_argument("--repo")
        p.add_argument("--devel", action="store_true")
        p.add_argument("--jsonpath")
    elif cmd in ("get values", "get manifest"):
        p.add_argument("--revision", type=int, default=0)
        if cmd == "get values":
            p.add_argument("-a", "--all", action="store_true")
            add_output(p)
    p.add_argument("args", nargs="*")
    return p


ALIASES = {"hist": "history", "ls": "list", "un": "uninstall", "del": "uninstall", "delete": "uninstall",
           "uninstall": "uninstall"}
COMMANDS = ("version", "history", "status", "list", "rollback", "uninstall", "upgrade", "install", "get")
SUBCOMMANDS = ("get values", "get manifest", "show chart", "show values", "show readme", "show crds", "show all",
               "plugin list")


def split_command(argv):
    """(command, remaining argv) with global flags allowed anywhere, like cobra."""
    rest, cmd, i = [], None, 0
    while i < len(argv):
        tok = argv[i]
        if cmd is None and not tok.startswith("-"):
            cmd = ALIASES.get(tok, tok)
            if cmd in ("get", "show", "inspect", "plugin"):
                cmd = "show" if cmd == "inspect" else cmd
                j = i + 1
                while j < len(argv) and argv[j].startswith("-"):
                    j += 1 if "=" in argv[j] or argv[j] not in GLOBAL_VALUE_FLAGS else 2
                if j < len(argv):
                    cmd = cmd + " " + argv[j]
                    rest += argv[i + 1:j]
                    i = j + 1
                    continue
            i += 1
            continue
        rest.append(tok)
        if cmd is None and tok in GLOBAL_VALUE_FLAGS and i + 1 < len(argv):
            rest.append(argv[i + 1])
            i += 1
        i += 1
    return cmd, rest


def normalise(parser, argv):
    """pflag conventions argparse lacks: ``--bool=true|false``, optional-value
    flags (``--wait`` alone means ``--wait=watcher``), ``--`` ends flags."""
    bools = {s for a in parser._actions if a.nargs == 0 for s in a.option_strings}
    out, positional = [], False
    for tok in argv:
        if positional or not tok.startswith("-") or tok == "-":
            out.append(tok)
            continue
        if tok == "--":
            positional = True
            out.append(tok)
            continue
        name, eq, value = tok.partition("=")
        if eq and name in bools:
            if value.lower() in ("true", "t", "1"):
                out.append(name)
            elif value.lower() not in ("false", "f", "0"):
                raise Usage('invalid argument "%s" for "%s" flag: strconv.ParseBool: parsing "%s": invalid syntax'
                            % (value, name, value))
            continue
        if not eq and name in OPTIONAL_VALUE:
            out.append("%s=%s" % (name, OPTIONAL_VALUE[name]))
            continue
        out.append(tok)
    return out


def parse(argv):
    cmd, rest = split_command(argv)
    if cmd is None:
        raise Usage("a command is required (this is the test stand-in for helm: %s)" % ", ".join(COMMANDS))
    if cmd not in COMMANDS[:-1] and cmd not in SUBCOMMANDS:
        raise Unsupported("%s is unsupported in the test stand-in for helm" % cmd)
    p = command_parser(cmd)
    opts = p.parse_intermixed_args(normalise(p, rest))
    opts.cmd = cmd
    return opts


def wait_strategy(value):
    if value in (None, "", "false", "hookOnly"):
        return None if value in (None, "", "false") else "hookOnly"
    if value in ("true", "watcher"):
        return "watcher"
    if value == "legacy":
        return "legacy"
    raise Usage('invalid argument "%s" for "--wait" flag: invalid wait strategy "%s"' % (value, value))


def context_namespace(opts):
    """helm's default namespace: -n, HELM_NAMESPACE, the kubeconfig context's, 'default'."""
    if opts.namespace:
        return opts.namespace
    paths = (opts.kubeconfig or os.path.expanduser("~/.kube/config")).split(os.pathsep)
    docs = []
    for path in paths:
        try:
            with open(path) as handle:
                docs.append(yaml.safe_load(handle) or {})
        except (OSError, yaml.YAMLError):
            continue
    current = opts.kube_context or next((d.get("current-context") for d in docs if d.get("current-context")), None)
    for doc in docs:
        for ctx in doc.get("contexts") or []:
            if ctx.get("name") == current:
                return (ctx.get("context") or {}).get("namespace") or "default"
    return "default"


def connection(opts):
    driver = (os.environ.get("HELM_DRIVER") or "secret").lower()
    driver = {"secrets": "secret", "configmaps": "configmap"}.get(driver, driver)
    return {"kubeconfig": opts.kubeconfig.split(os.pathsep)[0] if opts.kubeconfig else None,
            "context": opts.kube_context, "token": opts.kube_token, "apiserver": opts.kube_apiserver,
            "ca_file": opts.kube_ca_file, "tls_server_name": opts.kube_tls_server_name,
            "insecure": opts.kube_insecure_skip_tls_verify, "as_user": opts.kube_as_user,
            "as_groups": opts.kube_as_group or None, "namespace": context_namespace(opts), "driver": driver}


def check_output(opts):
    if opts.output not in ("table", "json", "yaml"):
        raise Usage('invalid argument "%s" for "-o, --output" flag: invalid format type' % opts.output)


def need(opts, n, exact=True, what="argument"):
    have = len(opts.args)
    if (exact and have != n) or (not exact and have < n):
        kind = "" if exact else "at least "
        raise Usage('"helm %s" requires %s%d %s%s' % (opts.cmd, kind, n, what, "" if n == 1 else "s"))


def user_values(opts):
    """Merge values like helm: files, then --set-json, --set, --set-string, --set-file, --set-literal."""
    merged = {}
    for path in opts.values:
        if path == "-":
            text = sys.stdin.read()
        else:
            try:
                with open(os.path.expanduser(path)) as handle:
                    text = handle.read()
            except OSError as err:
                raise Usage("open %s: %s" % (path, err.strerror.lower() if err.strerror else err))
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise Usage("failed to parse %s: %s" % (path, err))
        if not isinstance(loaded, dict):
            raise Usage("failed to parse %s: error unmarshaling JSON: not a map" % path)
        deep_merge(merged, loaded)
    for flag, parse_fn in (("set_json", helm.parse_set_json), ("set", helm.parse_set_string),
                           ("set_string", helm.parse_set_string_values), ("set_file", helm.parse_set_file),
                           ("set_literal", helm.parse_set_literal)):
        for expr in getattr(opts, flag):
            deep_merge(merged, parse_fn(expr))
    return merged or None


def deep_merge(into, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = value


RELEASE_KEYS = ("name", "info", "config", "manifest", "hooks", "version", "namespace", "apply_method")


def print_release(out, rel, fmt, hide_notes=False):
    """statusPrinter: the release JSON/YAML, or helm's status text."""
    if fmt in ("json", "yaml"):
        data = {k: rel[k] for k in RELEASE_KEYS if k in rel}
        write(out, encode_json(data) if fmt == "json" else encode_yaml(data))
        return
    info = rel.get("info") or {}
    write(out, "NAME: %s\n" % rel["name"])
    if info.get("last_deployed"):
        write(out, "LAST DEPLOYED: %s\n" % ansic(info["last_deployed"], local=True))
    write(out, "NAMESPACE: %s\nSTATUS: %s\nREVISION: %d\nDESCRIPTION: %s\nTEST SUITE: None\n"
          % (rel["namespace"], info.get("status", ""), rel["version"], info.get("description", "")))
    if not hide_notes and info.get("notes"):
        write(out, "NOTES:\n%s\n" % info["notes"].strip())


STATE_FLAGS = {"deployed": ("deployed",), "failed": ("failed",),
               "pending": ("pending-install", "pending-upgrade", "pending-rollback"),
               "superseded": ("superseded",), "uninstalled": ("uninstalled",), "uninstalling": ("uninstalling",)}


# -- commands --------------------------------------------------------------
def claimed_version():
    """The version this stand-in claims: the SDK's, or (tests only) HELM_STANDIN_VERSION, e.g.
    v3.14.4 to act as helm 3 (no --rollback-on-failure, no --atomic deprecation) or v3.7.2 (too old)."""
    return os.environ.get("HELM_STANDIN_VERSION") or SDK_VERSION or helm.helm_sdk_version()


def helm3():
    return claimed_version().lstrip("v").split(".")[0] == "3"


def cmd_version(opts, base, out):
    version = claimed_version()
    fields = {"Version": version, "GitCommit": "", "GitTreeState": "clean",
              "GoVersion": "", "KubeClientVersion": ""}
    if opts.template:
        def field(m):
            if m.group(1) not in fields:
                raise Usage('template: version:1:2: executing "version" at <.%s>: can\'t evaluate field %s '
                            'in type version.BuildInfo' % (m.group(1), m.group(1)))
            return fields[m.group(1)]
        write(out, re.sub(r"\{\{-?\s*\.(\w+)\s*-?\}\}", field, opts.template))
    elif opts.short:
        write(out, version + "\n")
    else:
        write(out, "version.BuildInfo{%s}\n" % ", ".join('%s:"%s"' % kv for kv in fields.items()))


def cmd_history(opts, base, out):
    need(opts, 1)
    check_output(opts)
    rows = ops.run(dict(base, op="history", name=opts.args[0], max=opts.max))
    data = []
    for r in rows:
        item = {"revision": r["revision"]}
        if r.get("updated"):
            item["updated"] = r["updated"]
        item.update(status=r["status"], chart=r["chart"], app_version=r["app_version"],
                    description=r["description"])
        data.append(item)
    if opts.output == "json":
        write(out, encode_json(data))
    elif opts.output == "yaml":
        write(out, encode_yaml(data))
    else:
        table = [["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]]
        table += [[r["revision"], ansic(r["updated"]) if r["updated"] else "Mon Jan  1 00:00:00 0001",
                   r["status"], r["chart"], r["app_version"], r["description"]] for r in rows]
        write(out, encode_table(table))


def cmd_status(opts, base, out):
    need(opts, 1)
    check_output(opts)
    rel = ops.run(dict(base, op="release", name=opts.args[0], revision=opts.revision or None))
    print_release(out, rel, opts.output)


def cmd_list(opts, base, out):
    check_output(opts)
    if opts.time_format or opts.selector:
        raise Unsupported("list --time-format/--selector is unsupported in the test stand-in for helm")
    if opts.args:
        raise Usage('unknown command "%s" for "helm list"' % opts.args[0])
    rows = ops.run(dict(base, op="list", all_namespaces=opts.all_namespaces, filter=opts.filter))
    # helm 4's state mask, applied to the newest revision of each release: every state unless flags narrow it
    wanted = {s for flag, states in STATE_FLAGS.items() if getattr(opts, flag) for s in states}
    if wanted:
        rows = [r for r in rows if r["status"] in wanted]
    if opts.date:
        rows.sort(key=lambda r: r.get("updated") or "", reverse=not opts.reverse)
    else:
        rows.sort(key=lambda r: r["name"], reverse=opts.reverse)
    rows = rows[opts.offset:opts.offset + opts.max if opts.max > 0 else None]
    if opts.short:
        names = [r["name"] for r in rows]
        write(out, encode_json(names) if opts.output == "json" else
              encode_yaml(names) if opts.output == "yaml" else "".join(n + "\n" for n in names))
        return
    data = [{"name": r["name"], "namespace": r["namespace"], "revision": str(r["revision"]),
             "updated": go_string(r["updated"]) if r.get("updated") else "-", "status": r["status"],
             "chart": r["chart"], "app_version": r["app_version"]} for r in rows]
    if opts.output == "json":
        write(out, encode_json(data))
    elif opts.output == "yaml":
        write(out, encode_yaml(data))
    else:
        head = [] if opts.no_headers else [["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART",
                                            "APP VERSION"]]
        write(out, encode_table(head + [[d[k] for k in ("name", "namespace", "revision", "updated", "status",
                                                        "chart", "app_version")] for d in data]))


def cmd_rollback(opts, base, out):
    need(opts, 1, exact=False)
    revision = 0
    if len(opts.args) > 1:
        try:
            revision = int(opts.args[1])
        except ValueError:
            raise Usage('could not convert revision to a number: strconv.Atoi: parsing "%s": invalid syntax'
                        % opts.args[1])
    ops.run(dict(base, op="rollback", name=opts.args[0], revision=revision or None,
                 wait=wait_strategy(opts.wait), timeout=duration(opts.timeout),
                 dry_run=None if opts.dry_run in (None, "none", "false") else opts.dry_run))
    write(out, "Rollback was a success! Happy Helming!\n")


def cmd_uninstall(opts, base, out):
    need(opts, 1, exact=False, what="release name")
    errors = []
    for name in opts.args:
        try:
            res = ops.run(dict(base, op="uninstall", name=name, wait=wait_strategy(opts.wait),
                               timeout=duration(opts.timeout), keep_history=opts.keep_history,
                               ignore_not_found=opts.ignore_not_found, description=opts.description))
        except helm.HelmError as err:
            errors.append(str(err))
            continue
        if res and res.get("info"):
            write(out, res["info"] + "\n")
        write(out, 'release "%s" uninstalled\n' % name)
    if errors:
        raise helm.HelmError("\n".join(errors))


def _chart_request(opts, base):
    for flag in ("post_renderer", "post_renderer_args", "username", "password", "keyring", "ca_file",
                 "cert_file", "key_file"):
        if getattr(opts, "unsupported_" + flag):
            raise Unsupported("--%s is unsupported in the test stand-in for helm" % flag.replace("_", "-"))
    if getattr(opts, "reset_then_reuse_values", False):
        raise Unsupported("--reset-then-reuse-values is unsupported in the test stand-in for helm")
    if helm3():
        for flag in ("rollback_on_failure", "force_replace"):
            if getattr(opts, flag, False):
                raise Usage("unknown flag: --%s" % flag.replace("_", "-"))
    elif opts.atomic:
        sys.stderr.write("Flag --atomic has been deprecated, use --rollback-on-failure instead\n")
    return dict(base, values=user_values(opts), wait=wait_strategy(opts.wait), timeout=duration(opts.timeout),
                atomic=opts.atomic or opts.rollback_on_failure, create_namespace=opts.create_namespace,
                description=opts.description, repo=opts.repo, chart_version=opts.chart_version,
                dry_run=None if opts.dry_run in (None, "none", "false") else opts.dry_run)


def cmd_upgrade(opts, base, out):
    need(opts, 2)
    check_output(opts)
    name, chart = opts.args
    req = _chart_request(opts, base)
    req.update(op="upgrade", name=name, chart=chart, install=opts.install, reset_values=opts.reset_values,
               reuse_values=opts.reuse_values, cleanup_on_fail=opts.cleanup_on_fail,
               max_history=opts.history_max or None)
    installing = False
    if opts.install:
        try:
            hist = ops.run(dict(base, op="history", name=name, max=1))
            installing = not hist or hist[-1]["status"] == "uninstalled"
        except helm.HelmNotFoundError:
            installing = True
        if installing and opts.output == "table":
            write(out, 'Release "%s" does not exist. Installing it now.\n' % name)
    try:
        rel = ops.run(req)
    except helm.HelmError as err:
        raise helm.HelmError(str(err) if installing else "UPGRADE FAILED: %s" % err)
    if not installing and opts.output == "table":
        write(out, 'Release "%s" has been upgraded. Happy Helming!\n' % name)
    _print_result(out, base, name, rel, opts)


def cmd_install(opts, base, out):
    check_output(opts)
    if opts.generate_name or opts.name_template:
        raise Unsupported("install --generate-name/--name-template is unsupported in the test stand-in for helm")
    if opts.replace:
        raise Unsupported("install --replace is unsupported in the test stand-in for helm")
    need(opts, 2)
    name, chart = opts.args
    req = _chart_request(opts, base)
    req.update(op="install", name=name, chart=chart)
    try:
        rel = ops.run(req)
    except helm.HelmError as err:
        raise helm.HelmError("INSTALLATION FAILED: %s" % err)
    _print_result(out, base, name, rel, opts)


def _print_result(out, base, name, rel, opts):
    if req_dry(opts):
        write(out, "NAME: %s\nSTATUS: %s\nREVISION: %s\nDESCRIPTION: Dry run complete\n"
              % (name, rel.get("status", ""), rel.get("revision", "")))
        return
    full = ops.run(dict(base, op="release", name=name, revision=rel.get("revision")))
    print_release(out, full, opts.output, hide_notes=opts.hide_notes)


def req_dry(opts):
    return opts.dry_run not in (None, "none", "false")


def cmd_get_values(opts, base, out):
    need(opts, 1)
    check_output(opts)
    vals = ops.run(dict(base, op="values", name=opts.args[0], all=opts.all, revision=opts.revision or None))
    if opts.output == "json":
        write(out, encode_json(vals))
    elif opts.output == "yaml":
        write(out, encode_yaml(vals))
    else:
        write(out, ("COMPUTED VALUES:\n" if opts.all else "USER-SUPPLIED VALUES:\n") + encode_yaml(vals))


def cmd_get_manifest(opts, base, out):
    need(opts, 1)
    rel = ops.run(dict(base, op="status", name=opts.args[0], revision=opts.revision or None))
    write(out, (rel.get("manifest") or "") + "\n")


def cmd_show(opts, base, out):
    need(opts, 1)
    if opts.jsonpath:
        raise Unsupported("show --jsonpath is unsupported in the test stand-in for helm")
    local = os.path.exists(opts.args[0])   # real helm ignores --version for a local chart
    text = helm.show(opts.args[0], output_format=opts.cmd.split()[1],
                     version=None if local else opts.chart_version, repo_url=opts.repo, devel=opts.devel)
    write(out, text if text.endswith("\n") else text + "\n")


def cmd_plugin_list(opts, base, out):
    write(out, encode_table([["NAME", "VERSION", "TYPE", "APIVERSION", "PROVENANCE", "SOURCE"]]))


HANDLERS = {"version": cmd_version, "history": cmd_history, "status": cmd_status, "list": cmd_list,
            "rollback": cmd_rollback, "uninstall": cmd_uninstall, "upgrade": cmd_upgrade,
            "install": cmd_install, "get values": cmd_get_values, "get manifest": cmd_get_manifest,
            "plugin list": cmd_plugin_list}
HANDLERS.update({name: cmd_show for name in SUBCOMMANDS if name.startswith("show ")})


def main(argv, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    try:
        opts = parse(argv)
        if opts.help:
            write(out, "helm %s: the test stand-in for helm (tests/support/bin/helm); see its header.\n" % opts.cmd)
            return 0
        HANDLERS[opts.cmd](opts, connection(opts), out)
        return 0
    except (Usage, helm.HelmError) as exc:
        write(err, "Error: %s\n" % exc)
        return 1
