"""lab/jwt_verify.py (the cloud guard's verifier) against tokens signed by PyJWT/cryptography."""
import base64
import json
import os
import sys

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from lab.jwt_verify import InvalidToken, verify  # noqa: E402

NOW = 1_700_000_000
ISS, AUD = "https://localhost:9999", "https://dicom.healthcareapis.azure.com"


@pytest.fixture(scope="module")
def signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, other, {"k1": (numbers.n, numbers.e)}


def make(key, kid="k1", alg="RS256", **claims):
    body = {"iss": ISS, "aud": AUD, "exp": NOW + 60, "nbf": NOW - 10}
    body.update(claims)
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def test_valid_token(signer):
    key, _, keys = signer
    assert verify(make(key), keys, ISS, AUD, now=NOW)["aud"] == AUD
    assert verify(make(key, aud=["x", AUD]), keys, ISS, AUD, now=NOW)


@pytest.mark.parametrize("change,reason", [
    (dict(exp=NOW), "expired"),
    (dict(nbf=NOW + 30), "not yet valid"),
    (dict(iss="https://evil"), "wrong issuer"),
    (dict(aud="https://other"), "wrong audience"),
])
def test_claims_are_enforced(signer, change, reason):
    key, _, keys = signer
    with pytest.raises(InvalidToken, match=reason):
        verify(make(key, **change), keys, ISS, AUD, now=NOW)


def test_signature_kid_and_alg_are_enforced(signer):
    key, other, keys = signer
    with pytest.raises(InvalidToken, match="bad signature"):
        verify(make(other), keys, ISS, AUD, now=NOW)
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verify(make(key, kid="k2"), keys, ISS, AUD, now=NOW)
    with pytest.raises(InvalidToken, match="alg must be RS256"):
        verify(jwt.encode({"iss": ISS, "aud": AUD, "exp": NOW + 60}, "k" * 32, algorithm="HS256",
                          headers={"kid": "k1"}), keys, ISS, AUD, now=NOW)
    header, payload, sig = make(key).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["aud"] = "https://tampered"
    tampered = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="bad signature"):
        verify("%s.%s.%s" % (header, tampered, sig), keys, ISS, "https://tampered", now=NOW)
    unsigned = "%s.%s." % (base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode(), payload)
    with pytest.raises(InvalidToken):
        verify(unsigned, keys, ISS, AUD, now=NOW)
