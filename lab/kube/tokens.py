"""The cluster's service-account token signer (kube-apiserver's --service-account-issuer and -key-file).

RS256 with a key kept in the cluster's state folder; kid is the key's RFC 7638 thumbprint; the claims are the
ones kube-apiserver puts in a TokenRequest token, so the Entra emulator and workloads read them as from a cluster.
"""
import base64
import datetime
import hashlib
import json
import os
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class ServiceAccountTokens:
    """Implements lab.kube.contracts.ServiceAccountTokens; `jwks_uri` is where the API serves the JWKS."""

    def __init__(self, state_dir, issuer, jwks_uri=None):
        self.issuer = issuer.rstrip("/")
        self.jwks_uri = jwks_uri or f"{self.issuer}/openid/v1/jwks"
        key_path = os.path.join(state_dir, "sa.key")
        if os.path.exists(key_path):
            with open(key_path, "rb") as handle:
                self.key = serialization.load_pem_private_key(handle.read(), password=None)
        else:
            os.makedirs(state_dir, exist_ok=True)
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(key_path, self.key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
        numbers = self.key.public_key().public_numbers()
        self._jwk = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
        thumbprint = hashlib.sha256(json.dumps(self._jwk, separators=(",", ":"), sort_keys=True).encode()).digest()
        self.kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode("ascii")

    def issue(self, namespace, service_account, audiences, expiration_seconds, pod=None, sa_uid=""):
        now = int(time.time())
        expiry = now + max(600, int(expiration_seconds or 3600))
        private = {"namespace": namespace, "serviceaccount": {"name": service_account, "uid": sa_uid}}
        if pod:
            private["pod"] = {"name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid", "")}
        claims = {"aud": list(audiences or [self.issuer]), "exp": expiry, "iat": now, "nbf": now,
                  "iss": self.issuer, "jti": str(uuid.uuid4()),
                  "sub": f"system:serviceaccount:{namespace}:{service_account}", "kubernetes.io": private}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        stamp = datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"token": token, "expirationTimestamp": stamp}

    def discovery(self):
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri, "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}

    def jwks(self):
        return {"keys": [dict(self._jwk, use="sig", alg="RS256", kid=self.kid)]}
