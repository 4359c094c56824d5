"""Orthanc Python script for the lab's "cloud" Orthanc: its DICOMweb API demands a valid bearer token.

Like a cloud DICOM service, every request under GUARD_PATH_PREFIX (default /dicom-web/) must carry
an RS256 JWT that verifies against the token server's JWKS, is unexpired, and has the expected iss
and aud. Other paths stay open so tests can inspect the cloud side. Settings come from the
environment of the Orthanc process:
  GUARD_JWKS_URL, GUARD_ISSUER, GUARD_AUDIENCE, GUARD_CA_FILE (optional), GUARD_PATH_PREFIX.
GET /guard/stats answers {"accepted": n, "rejected": {reason: n}, "distinct_tokens": n}: counts and
a count of distinct accepted tokens (kept as hashes, never a token).
"""

import hashlib
import json
import os
import sys
import threading

import orthanc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import jwt_verify  # noqa: E402  (lab/jwt_verify.py, standard library only)

PREFIX = os.environ.get("GUARD_PATH_PREFIX", "/dicom-web/")
ISSUER = os.environ["GUARD_ISSUER"]
AUDIENCE = os.environ["GUARD_AUDIENCE"]
KEYS = jwt_verify.JwksCache(os.environ["GUARD_JWKS_URL"], cafile=os.environ.get("GUARD_CA_FILE") or None,
                            min_refresh=1.0)
_stats = {"accepted": 0, "rejected": {}}
_seen = set()
_lock = threading.Lock()


def _count(reason=None, token=None):
    with _lock:
        if reason is None:
            _stats["accepted"] += 1
            _seen.add(hashlib.sha256(token.encode()).hexdigest())
        else:
            _stats["rejected"][reason] = _stats["rejected"].get(reason, 0) + 1


def incoming_filter(uri, **request):
    if not uri.startswith(PREFIX):
        return True
    header = (request.get("headers") or {}).get("authorization", "")
    if not header.lower().startswith("bearer "):
        _count("no bearer token")
        return False
    try:
        token = header[7:].strip()
        jwt_verify.verify(token, KEYS, ISSUER, AUDIENCE)
    except jwt_verify.InvalidToken as exc:
        _count(str(exc))
        orthanc.LogWarning("guard: refused %s %s: %s" % (request.get("method"), uri, exc))
        return False
    _count(token=token)
    return True


def stats(output, uri, **request):
    with _lock:
        body = json.dumps(dict(_stats, distinct_tokens=len(_seen)))
    output.AnswerBuffer(body, "application/json")


orthanc.RegisterIncomingHttpRequestFilter(incoming_filter)
orthanc.RegisterRestCallback("/guard/stats", stats)
