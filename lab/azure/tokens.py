"""Entra ID's signing side: one RS256 key (kept on disk), its JWKS, issuing and verifying access tokens.

Access tokens look like the v1 tokens Entra issues for Azure resources (ARM, DICOM, Storage):
iss https://sts.windows.net/<tenant>/ (Azurite's OAuth check accepts only Microsoft issuers),
aud = the resource the scope names, oid/sub = the principal's object id, appid = its client id.
"""
import base64
import hashlib
import os
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64url_uint(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def access_token_issuer(tenant_id):
    return f"https://sts.windows.net/{tenant_id}/"


class TokenError(Exception):
    """A presented token is not acceptable; `reason` says why (never the token itself)."""

    def __init__(self, reason, code="invalid_token"):
        super().__init__(reason)
        self.reason, self.code = reason, code


class SigningKey:
    def __init__(self, path):
        if os.path.exists(path):
            with open(path, "rb") as handle:
                self.key = serialization.load_pem_private_key(handle.read(), password=None)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e)}
        thumb_input = '{"e":"%s","kty":"RSA","n":"%s"}' % (self.jwk["e"], self.jwk["n"])
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(thumb_input.encode()).digest()).rstrip(b"=").decode()
        self.jwk["kid"] = self.kid
        self.jwk["x5t"] = self.kid

    def jwks(self):
        return {"keys": [dict(self.jwk)]}


class TokenService:
    def __init__(self, key, tenant_id, lifetime=3600):
        self.key, self.tenant_id, self.lifetime = key, tenant_id, int(lifetime)
        self.issuer = access_token_issuer(tenant_id)

    def issue(self, principal, audience, appidacr="1", extra=None):
        """principal: dict with objectId and clientId (and resourceId for managed identities)."""
        now = int(time.time())
        claims = {
            "aud": audience, "iss": self.issuer, "iat": now, "nbf": now, "exp": now + self.lifetime,
            "appid": principal["clientId"], "appidacr": appidacr, "idp": self.issuer, "idtyp": "app",
            "oid": principal["objectId"], "sub": principal["objectId"], "tid": self.tenant_id,
            "uti": uuid.uuid4().hex[:22], "ver": "1.0",
        }
        if principal.get("resourceId"):
            claims["xms_mirid"] = principal["resourceId"]
        claims.update(extra or {})
        token = jwt.encode(claims, self.key.key, algorithm="RS256", headers={"kid": self.key.kid, "x5t": self.key.kid})
        return token, claims["exp"]

    def verify(self, token, audiences):
        """Claims of a token this lab issued, for one of `audiences`; TokenError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise TokenError(f"the token is not a JWT ({err})") from err
        if header.get("kid") != self.key.kid:
            raise TokenError("the token was not signed by this tenant's key")
        try:
            claims = jwt.decode(token, self.key.key.public_key(), algorithms=["RS256"], issuer=self.issuer,
                                options={"verify_aud": False, "require": ["exp", "iat", "aud", "oid", "tid"]},
                                leeway=30)
        except jwt.ExpiredSignatureError as err:
            raise TokenError("the token is expired", code="ExpiredAuthenticationToken") from err
        except jwt.PyJWTError as err:
            raise TokenError(f"the token is invalid ({err})") from err
        if claims["tid"] != self.tenant_id:
            raise TokenError("the token was issued for another tenant", code="InvalidAuthenticationTokenTenant")
        if claims["aud"] not in audiences:
            raise TokenError(f"the token was obtained for the wrong audience or resource '{claims['aud']}'",
                             code="InvalidAuthenticationTokenAudience")
        return claims
