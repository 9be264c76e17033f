# SPDX-License-Identifier: GPL-3.0-or-later
"""Bearer-token authentication and a tiny RBAC-like authorizer.

``tokens`` maps a token to ``None`` (full access) or a rule dict::

    {"user": "system:serviceaccount:ops:helm",   # shown in 403 messages
     "verbs": ["get", "list", "watch"],         # allowed verbs (default: all)
     "resources": ["secrets"],                  # allowed resources (default: all)
     "rules": [{"verbs": [...], "resources": [...]}],   # or: RBAC-like rules, any one grants
     "namespaces": ["team-a"],                  # allowed namespaces (default: all)
     "namespaces_deny": ["secret-ns"],          # denied namespaces
     "expired": True}                           # -> 401 for every request

``client_certs`` maps a client certificate's user (its CN, as kube-apiserver reads
certificates signed by its --client-ca-file) to a rule the same way; a verified
certificate of a user not listed authenticates but may do nothing (no RBAC binding).
A request with a bearer token is judged by the token, as kube-apiserver does.

A token restricted to namespaces (allow or deny list) cannot do cluster-scope
requests (``GET /api/v1/secrets``, listing namespaces), as with RoleBindings.
Discovery / OpenAPI need only a valid token (system:discovery).

A request with no credentials at all is, as kube-apiserver's default ``--anonymous-auth=true`` makes
it, the user ``system:anonymous``: it may read /version and /healthz-style paths
(system:public-info-viewer) and is refused everything else with 403 (RBAC), not 401.
``anonymous=False`` is ``--anonymous-auth=false``: such requests get 401. A wrong, unknown or
expired token is always 401.
"""
from __future__ import annotations

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


ANONYMOUS = "system:anonymous"


class AuthError(Exception):
    def __init__(self, code: int, message: str, name: str | None = None, kind: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.name, self.kind = name, kind


class Authorizer:
    def __init__(self, tokens: dict | None, client_certs: dict | None = None, anonymous: bool = True):
        self.tokens = dict(tokens) if tokens is not None else ({} if client_certs is not None else None)
        self.client_certs = dict(client_certs) if client_certs is not None else None
        self.anonymous = anonymous

    @property
    def enabled(self) -> bool:
        return self.tokens is not None

    def authenticate(self, header: str | None, cert_user: str | None = None):
        """Return the rule (None = full access); raise AuthError(401). ``cert_user``: the CN of the
        client certificate the TLS handshake verified, if any."""
        if not self.enabled:
            return None
        if (not header or not header.lower().startswith("bearer ")) and cert_user is not None \
                and self.client_certs is not None:
            rule = self.client_certs.get(cert_user, {"verbs": []})
            return dict(rule, user=rule.get("user", cert_user)) if rule is not None else None
        if not header and self.anonymous:
            return {"user": ANONYMOUS, "verbs": [], "anonymous": True}
        if not header or not header.lower().startswith("bearer "):
            raise AuthError(401, "Unauthorized")
        token = header[7:].strip()
        if token not in self.tokens:
            raise AuthError(401, "Unauthorized")
        rule = self.tokens[token]
        if rule and rule.get("expired"):
            raise AuthError(401, "Unauthorized")
        return rule

    def authorize_path(self, rule: dict | None, verb: str, path: str, public: bool) -> None:
        """A non-resource path: every authenticated user may read it (system:discovery), the anonymous
        user only the public ones."""
        if rule and rule.get("anonymous") and not public:
            raise AuthError(403, f'forbidden: User "{ANONYMOUS}" cannot {verb} path "{path}"')

    def authorize(self, rule: dict | None, verb: str, resource: str, namespace: str | None,
                  name: str | None = None) -> None:
        """Raise AuthError(403) like RBAC would. ``namespace`` None = cluster scope."""
        if not rule:
            return
        # for the cluster-scoped namespaces resource, a named request is scoped to it
        scope_ns = name if resource == "namespaces" and name else namespace
        ok = True
        if rule.get("verbs") is not None and verb not in rule["verbs"]:
            ok = False
        if rule.get("resources") is not None and resource not in rule["resources"]:
            ok = False
        if rule.get("rules") is not None:   # RBAC's rules: any one that grants the verb on the resource
            ok = any(verb in r["verbs"] and resource in r["resources"] for r in rule["rules"])
        limited = rule.get("namespaces") is not None or rule.get("namespaces_deny")
        if limited:
            if scope_ns is None:
                ok = False
            elif rule.get("namespaces") is not None and scope_ns not in rule["namespaces"]:
                ok = False
            elif scope_ns in (rule.get("namespaces_deny") or ()):
                ok = False
        if ok:
            return
        user = rule.get("user", "system:serviceaccount:default:localkube")
        what = f'resource "{resource}" in API group ""'
        where = f' in the namespace "{scope_ns}"' if scope_ns else " at the cluster scope"
        prefix = f'{resource} "{name}" is forbidden' if name else f"{resource} is forbidden"
        raise AuthError(403, f'{prefix}: User "{user}" cannot {verb} {what}{where}', name, resource)
