"""Bearer-token authentication and the two-role authorization of the lab API.

Static tokens name a cluster-admin (group system:masters) and a read-only identity; service-account tokens signed
by the cluster's key authenticate as system:serviceaccount:NS:NAME and may read only (no RBAC evaluation).
"""
import hmac

import jwt

from lab.kube.contracts import UserInfo

READ_VERBS = ("get", "list", "watch")
ADMIN_GROUP = "system:masters"


class Authenticator:
    def __init__(self, static_tokens, tokens=None):
        self.static = dict(static_tokens)      # token -> UserInfo
        self.tokens = tokens                   # ServiceAccountTokens, for signed service-account tokens

    def user(self, header):
        if not header or not header.startswith("Bearer "):
            return None
        token = header[len("Bearer "):].strip()
        for known, user in self.static.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        if self.tokens is None or token.count(".") != 2:
            return None
        try:
            claims = jwt.decode(token, self.tokens.key.public_key(), algorithms=["RS256"], issuer=self.tokens.issuer,
                                options={"verify_aud": False, "require": ["exp", "sub"]})
        except jwt.PyJWTError:
            return None
        namespace = claims.get("kubernetes.io", {}).get("namespace", "")
        groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
        return UserInfo(claims["sub"], groups)


def allowed(user, verb):
    return ADMIN_GROUP in user.groups or verb in READ_VERBS


def rules_for(user):
    """SelfSubjectRulesReview status for the user."""
    verbs = ["*"] if ADMIN_GROUP in user.groups else list(READ_VERBS)
    return {"resourceRules": [{"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["*"]}], "incomplete": False}
