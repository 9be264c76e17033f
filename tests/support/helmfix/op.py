"""One real Helm SDK operation in its own process: ``python -m helmfix.op JSON``.

Real Helm calls run in a child process so a test can kill one midway (that is
how releases get stuck in life) and so a hang in the Go library cannot wedge
the test process. Prints the result as JSON; on failure prints Helm's error to
stderr and exits 1.
"""
import json
import sys

import helm_python as helm


def history(cfg, name, max_revisions=None):
    rows = []
    for item in cfg.history(name, max_revisions=max_revisions):
        full = cfg.get_all(name, revision=item["revision"])
        info = full.get("info") or {}
        rows.append({"revision": item["revision"], "updated": item.get("deployed_at"),
                     "status": item["status"],
                     "chart": "%s-%s" % (item.get("chart_name"), item.get("chart_version")),
                     "chart_name": item.get("chart_name"), "chart_version": item.get("chart_version"),
                     "app_version": item.get("app_version"), "description": info.get("description", "")})
    return rows


def run(req):
    cfg = helm.Config(kubeconfig_path=req.get("kubeconfig"), kube_context=req.get("context"),
                      kube_token=req.get("token"), kube_apiserver=req.get("apiserver"),
                      kube_ca_file=req.get("ca_file"),
                      kube_insecure_skip_tls_verify=bool(req.get("insecure")),
                      namespace=req.get("namespace") or "default", storage_driver=req.get("driver"))
    op, name = req["op"], req.get("name")
    wait, timeout = req.get("wait"), req.get("timeout")
    if op == "install":
        return cfg.install(req["chart"], name, req.get("values"), create_namespace=True, wait=wait,
                           timeout=timeout, rollback_on_failure=bool(req.get("atomic")))
    if op == "upgrade":
        if req.get("install"):
            try:
                cfg.history(name, max_revisions=1)
            except helm.HelmNotFoundError:
                return cfg.install(req["chart"], name, req.get("values"), create_namespace=True, wait=wait,
                                   timeout=timeout, rollback_on_failure=bool(req.get("atomic")))
        return cfg.upgrade(req["chart"], name, req.get("values"), wait=wait, timeout=timeout,
                           rollback_on_failure=bool(req.get("atomic")), reset_values=bool(req.get("reset_values")),
                           reuse_values=bool(req.get("reuse_values")))
    if op == "rollback":
        cfg.rollback(name, version=req.get("revision"), wait=wait, timeout=timeout)
        return {"rolled_back": name}
    if op == "uninstall":
        return cfg.uninstall(name, wait=wait, timeout=timeout, keep_history=bool(req.get("keep_history")))
    if op == "history":
        return history(cfg, name, req.get("max"))
    if op == "status":
        return cfg.status(name, revision=req.get("revision"))
    if op == "list":
        return cfg.list(all_states=bool(req.get("all")), all_namespaces=bool(req.get("all_namespaces")),
                        name_filter=req.get("filter"))
    if op == "values":
        return cfg.get_values(name, all_values=bool(req.get("all")), revision=req.get("revision"))
    if op == "version":
        return {"version": helm.helm_sdk_version()}
    raise SystemExit("unknown op %r" % op)


def main():
    req = json.loads(sys.argv[1])
    try:
        out = run(req)
    except helm.HelmError as err:
        sys.stderr.write("%s\n" % err)
        sys.exit(1)
    if out is None:
        out = {}
    sys.stdout.write(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
