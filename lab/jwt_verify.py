"""RS256 JWT verification with the standard library only, against a JWKS fetched over HTTPS.

The lab's "cloud" Orthanc loads it inside its embedded Python (lab/dicom_guard), where no
third-party package is available, so RSA PKCS#1 v1.5 verification is done here by re-encoding
the expected digest and comparing (RFC 8017 section 8.2.2), never by parsing the signature block.
It checks what a cloud DICOM service checks: alg, signature (kid in JWKS), exp, nbf, iss, aud.
"""

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
import urllib.request

# DER prefix of DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class InvalidToken(Exception):
    """The token is not acceptable; the message says why and never contains the token."""


def _b64url(data):
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _int(data):
    return int.from_bytes(_b64url(data), "big")


def rsa_pkcs1_sha256_verify(n, e, message, signature):
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


class JwksCache:
    """Keys by kid from a JWKS URL; refetched (at most every `min_refresh` s) on an unknown kid."""

    def __init__(self, url, cafile=None, min_refresh=5.0, timeout=5.0):
        self.url = url
        self.context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._keys = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _fetch(self):
        with urllib.request.urlopen(self.url, timeout=self.timeout, context=self.context) as answer:  # noqa: S310
            jwks = json.loads(answer.read())
        keys = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and "kid" in jwk:
                keys[jwk["kid"]] = (_int(jwk["n"]), _int(jwk["e"]))
        self._keys = keys
        self._fetched = time.monotonic()

    def get(self, kid):
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched >= self.min_refresh:
                try:
                    self._fetch()
                except OSError as exc:
                    raise InvalidToken("cannot fetch JWKS: %s" % type(exc).__name__) from None
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key


def verify(token, keys, issuer, audience, now=None, leeway=0):
    """Return the claims of a valid token or raise InvalidToken. `keys`: a JwksCache or {kid: (n, e)}."""
    now = time.time() if now is None else now
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWS compact token")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except ValueError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") != "RS256":
        raise InvalidToken("alg must be RS256")
    kid = header.get("kid")
    n, e = keys.get(kid) if isinstance(keys, JwksCache) else keys.get(kid, (None, None))
    if n is None:
        raise InvalidToken("unknown signing key")
    if not rsa_pkcs1_sha256_verify(n, e, (parts[0] + "." + parts[1]).encode("ascii"), signature):
        raise InvalidToken("bad signature")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or now >= exp + leeway:
        raise InvalidToken("expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and now < nbf - leeway:
        raise InvalidToken("not yet valid")
    if claims.get("iss") != issuer:
        raise InvalidToken("wrong issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise InvalidToken("wrong audience")
    return claims
