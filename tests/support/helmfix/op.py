# SPDX-License-Identifier: GPL-3.0-or-later
"""One real Helm SDK operation in its own process: ``python -m helmfix.op JSON``.

Real Helm calls run in a child process so a test can kill one midway (that is
how releases get stuck in life) and so a hang or crash in the Go library cannot
wedge the test process. Prints the result as JSON; on failure prints Helm's
error to stderr and exits 1 (2 for a bad request).

The request is a JSON object: connection keys (``kubeconfig``, ``context``,
``token``, ``apiserver``, ``ca_file``, ``insecure``, ``tls_server_name``,
``as_user``, ``as_groups``, ``namespace``, ``driver``) plus ``op`` and its
arguments, see :func:`run`. ``helmfix.cli`` (the ``helm`` stand-in) calls
:func:`run` in its own process.
"""
import json
import sys

import helm_python as helm

INFO_KEYS = ("first_deployed", "last_deployed", "deleted", "description", "status", "notes", "resources")


def config(req, namespace=None):
    return helm.Config(
        kubeconfig_path=req.get("kubeconfig") or None, kube_context=req.get("context") or None,
        kube_token=req.get("token") or None, kube_apiserver=req.get("apiserver") or None,
        kube_ca_file=req.get("ca_file") or None, kube_tls_server_name=req.get("tls_server_name") or None,
        kube_insecure_skip_tls_verify=bool(req.get("insecure")),
        kube_as_user=req.get("as_user") or None, kube_as_groups=req.get("as_groups") or None,
        namespace=namespace or req.get("namespace") or "default",
        storage_driver=req.get("driver") or "secret")


def ordered_info(info):
    """A stored release's ``info`` in the key order Helm marshals it."""
    info = info or {}
    out = {k: info[k] for k in INFO_KEYS if info.get(k) not in (None, "", {}, [])}
    out.update({k: v for k, v in info.items() if k not in INFO_KEYS})
    return out


def release_json(cfg, name, revision=None):
    """The release as ``helm status -o json`` prints it with Helm 4: the stored
    release without its chart (name, info, config, manifest, hooks, version,
    namespace, apply_method), empty fields omitted."""
    summary = cfg.status(name, revision=revision)
    full = cfg.get_all(name, revision=summary["revision"])
    out = {"name": summary["name"], "info": ordered_info(full.get("info"))}
    if full.get("config"):
        out["config"] = full["config"]
    if summary.get("manifest"):
        out["manifest"] = summary["manifest"]
    if full.get("hooks"):
        out["hooks"] = full["hooks"]
    out["version"] = summary["revision"]
    out["namespace"] = summary["namespace"]
    meta = cfg.get_metadata(name, revision=summary["revision"])
    if meta.get("applyMethod"):
        out["apply_method"] = meta["applyMethod"]
    out["labels"] = summary.get("labels") or {}   # not in Helm's JSON; the CLI drops it
    out["chart_name"], out["chart_version"] = summary.get("chart_name"), summary.get("chart_version")
    out["app_version"] = summary.get("app_version")
    return out


def _row(item, info):
    return {"revision": item["revision"], "updated": (info or {}).get("last_deployed") or "",
            "status": item["status"], "chart": "%s-%s" % (item.get("chart_name"), item.get("chart_version")),
            "app_version": item.get("app_version") or "", "description": (info or {}).get("description", ""),
            "chart_name": item.get("chart_name"), "chart_version": item.get("chart_version"),
            "deployed_at": item.get("deployed_at"), "labels": item.get("labels") or {}}


def history(cfg, name, max_revisions=None):
    """Revisions oldest first, with Helm's ``history -o json`` keys (revision,
    updated, status, chart, app_version, description) plus chart_name,
    chart_version, deployed_at and labels. ``max_revisions`` keeps the newest N."""
    items = cfg.history(name)
    items.sort(key=lambda item: item["revision"])
    if max_revisions:
        items = items[-max_revisions:]
    return [_row(item, cfg.get_all(name, revision=item["revision"]).get("info")) for item in items]


def listing(req, all_states, all_namespaces, name_filter=None):
    """The newest revision of every release (any state), each with the raw
    ``updated`` time and ``description`` of its stored record."""
    cfg = config(req)
    rows, per_ns = [], {}
    for item in cfg.list(all_states=True, all_namespaces=all_namespaces, name_filter=name_filter):
        ns = item["namespace"]
        if ns not in per_ns:
            per_ns[ns] = cfg if ns == (req.get("namespace") or "default") else config(req, ns)
        info = per_ns[ns].get_all(item["name"], revision=item["revision"]).get("info")
        row = _row(item, info)
        row.update(name=item["name"], namespace=ns)
        rows.append(row)
    for other in per_ns.values():
        if other is not cfg:
            other.close()
    cfg.close()
    return rows


def _install(cfg, req):
    return cfg.install(req["chart"], req["name"], req.get("values"), namespace=req.get("namespace"),
                       create_namespace=req.get("create_namespace", True), wait=req.get("wait"),
                       timeout=req.get("timeout"), rollback_on_failure=bool(req.get("atomic")),
                       description=req.get("description"), dry_run=req.get("dry_run"),
                       chart_repo_url=req.get("repo"), chart_version=req.get("chart_version"))


def run(req):
    op, name = req["op"], req.get("name")
    if op == "version":
        return {"version": helm.helm_sdk_version()}
    if op == "list":
        return listing(req, bool(req.get("all")), bool(req.get("all_namespaces")), req.get("filter"))
    cfg = config(req)
    try:
        wait, timeout = req.get("wait"), req.get("timeout")
        if op == "install":
            return _install(cfg, req)
        if op == "upgrade":
            if req.get("install"):
                try:
                    last = cfg.history(name)
                except helm.HelmNotFoundError:
                    last = []
                if not last or max(last, key=lambda i: i["revision"])["status"] == "uninstalled":
                    out = _install(cfg, req)
                    out["installed"] = True
                    return out
            return cfg.upgrade(req["chart"], name, req.get("values"), wait=wait, timeout=timeout,
                               rollback_on_failure=bool(req.get("atomic")),
                               reset_values=bool(req.get("reset_values")),
                               reuse_values=bool(req.get("reuse_values")),
                               cleanup_on_fail=bool(req.get("cleanup_on_fail")),
                               max_history=req.get("max_history"), description=req.get("description"),
                               dry_run=req.get("dry_run"), chart_repo_url=req.get("repo"),
                               chart_version=req.get("chart_version"))
        if op == "rollback":
            cfg.rollback(name, version=req.get("revision") or None, wait=wait, timeout=timeout,
                         dry_run=req.get("dry_run"))
            return {"rolled_back": name}
        if op == "uninstall":
            return cfg.uninstall(name, wait=wait, timeout=timeout, keep_history=bool(req.get("keep_history")),
                                 ignore_not_found=bool(req.get("ignore_not_found")),
                                 description=req.get("description"))
        if op == "history":
            return history(cfg, name, req.get("max"))
        if op == "status":
            return cfg.status(name, revision=req.get("revision"))
        if op == "release":
            return release_json(cfg, name, req.get("revision"))
        if op == "values":
            return cfg.get_values(name, all_values=bool(req.get("all")), revision=req.get("revision"))
        raise ValueError("unknown op %r" % op)
    finally:
        cfg.close()


def main():
    try:
        req = json.loads(sys.argv[1])
        out = run(req)
    except helm.HelmError as err:
        sys.stderr.write("%s\n" % err)
        sys.exit(1)
    except (ValueError, KeyError, IndexError) as err:
        sys.stderr.write("helmfix.op: bad request: %s\n" % err)
        sys.exit(2)
    sys.stdout.write(json.dumps({} if out is None else out, default=str))


if __name__ == "__main__":
    main()
