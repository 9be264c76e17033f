# SPDX-License-Identifier: GPL-3.0-or-later
"""A realistic fleet outcome (what the stuck_releases role records per host: helm_unstick's one release
model), for the HTML report's browser test and docs/make_screenshot.py."""


def _entry(name, ns, status, revision, age, last_good, action, state, chart="web", version="1.4.2", **kw):
    out = {"namespace": ns, "name": name, "revision": revision, "status": status, "age_seconds": age,
           "last_good_revision": last_good, "action": action, "target_revision": last_good,
           "chart": chart, "chart_version": version, "app_version": "2.3.0", "state": state}
    out.update(kw)
    return out


def _record(host, releases, check_mode=False, **kw):
    out = {"host": host, "cluster": host, "server": "https://api.%s.example.com:6443" % host, "checked": True,
           "msg": "", "refused": "", "remediate": True, "check_mode": check_mode, "actor": "ops@awx-ee-7f9c",
           "duration_seconds": 2.4, "warnings": [], "releases": releases}
    out.update(kw)
    return out


def results(check_mode=False):
    """Three clusters; ``check_mode`` gives what `remediate.yml --check` records (nothing changed)."""
    done = "would_remediate" if check_mode else "remediated"

    def said(text):
        return ("check mode: would " + text) if check_mode else text

    cart = _entry("cart", "shop", "pending-upgrade", 7, 5400, 6, "rollback", done, chart="cart",
                  message=said("roll back to revision 6") if check_mode
                  else "rollback: now deployed (rolled back to revision 6, now revision 8)")
    search = _entry("search", "shop", "pending-rollback", 12, 86400 + 7200, 10, "rollback", done, chart="search",
                    message=said("roll back to revision 10") if check_mode
                    else "rollback: now deployed (rolled back to revision 10, now revision 13)")
    young = _entry("checkout", "shop", "pending-upgrade", 4, 95, 3, None, "in_progress", chart="checkout")
    fresh = _entry("payments-api", "payments", "pending-install", 1, 2400, None, "unlock", done, chart="payments",
                   message=said("mark revision 1 failed (unlock)") if check_mode
                   else "unlock: now failed (revision 1)")
    billing = _entry("billing", "finance", "pending-upgrade", 3, 3 * 3600, 2, "rollback",
                     "would_remediate" if check_mode else "refused", chart="billing",
                     **({"message": said("roll back to revision 2")} if check_mode else
                        {"reason": "release finance/billing on cluster prod-us-1: the record changed since it was "
                                   "read (a live Helm operation?); skipped, nothing written"}))
    return {
        "prod-eu-1": _record("prod-eu-1", [cart, search, young], check_mode),
        "prod-us-1": _record("prod-us-1", [fresh, billing], check_mode),
        "staging": _record("staging", [], check_mode, checked=False,
                           msg="cluster staging (https://api.staging.example.com:6443): cannot scan Helm releases: "
                               "API error 401: Unauthorized"),
    }


HOSTS = ["prod-eu-1", "prod-us-1", "staging"]
