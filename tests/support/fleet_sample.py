"""A realistic fleet outcome (what the stuck_releases role records per host), for
the HTML report's browser test and docs/make_screenshot.py."""


def _entry(name, ns, status, revision, age, last_good, action, chart="web", version="1.4.2"):
    return {"namespace": ns, "name": name, "revision": revision, "status": status, "age_seconds": age,
            "last_good_revision": last_good, "action": action, "target_revision": last_good,
            "chart": chart, "chart_version": version, "app_version": "2.3.0"}


def results():
    cart = _entry("cart", "shop", "pending-upgrade", 7, 5400, 6, "rollback", chart="cart")
    search = _entry("search", "shop", "pending-rollback", 12, 86400 + 7200, 10, "rollback", chart="search")
    fresh = _entry("payments-api", "payments", "pending-install", 1, 2400, None, "unlock", chart="payments")
    young = _entry("checkout", "shop", "pending-upgrade", 4, 95, 3, None, chart="checkout")
    billing = _entry("billing", "finance", "pending-upgrade", 3, 3 * 3600, 2, "rollback", chart="billing")
    return {
        "prod-eu-1": {"host": "prod-eu-1", "cluster": "prod-eu-1", "ok": True, "msg": "", "remediate": True,
                      "check_mode": False, "stuck": [cart, search], "in_progress": [young],
                      "remediated": [dict(cart, message="rollback: now deployed (rolled back to revision 6)"),
                                     dict(search, message="rollback: now deployed (rolled back to revision 10)")],
                      "errors": []},
        "prod-us-1": {"host": "prod-us-1", "cluster": "prod-us-1", "ok": True, "msg": "", "remediate": True,
                      "check_mode": False, "stuck": [fresh, billing], "in_progress": [],
                      "remediated": [dict(fresh, message="unlock: now failed (revision 1)")],
                      "errors": [dict(billing, reason="release finance/billing on cluster prod-us-1: the record "
                                                      "changed since it was read (a live Helm operation?); "
                                                      "skipped, nothing written")]},
        "staging": {"host": "staging", "cluster": "staging", "ok": False, "remediate": True, "check_mode": False,
                    "msg": "cluster staging: cannot scan Helm releases: API error 401: Unauthorized",
                    "stuck": [], "in_progress": [], "remediated": [], "errors": []},
    }


HOSTS = ["prod-eu-1", "prod-us-1", "staging"]
