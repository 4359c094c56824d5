"""AWS Signature Version 4 with hashlib/hmac (the plugin has no third-party dependencies).

Follows AWS's "Create a signed AWS API request" guide: canonical request -> string to sign -> signing key
HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") -> Authorization header.
Checked against AWS's published SigV4 test suite (tests/unit/plugin_storage/test_sigv4.py).
"""

import hashlib
import hmac
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, date, region, service):
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def uri_encode(text, encode_slash=True):
    """RFC 3986 unreserved characters stay; everything else is %XX (upper case)."""
    return quote(text, safe="-_.~" if encode_slash else "-_.~/")


def canonical_uri(path, service):
    """S3 signs the path encoded once (whether or not the caller already encoded it); other services normalise
    and encode twice."""
    if service == "s3":
        return uri_encode(unquote(path or "/"), encode_slash=False)
    segments = []
    for segment in (path or "/").split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    normalised = "/" + "/".join(segments)
    if path.endswith("/") and normalised != "/":
        normalised += "/"
    return uri_encode(uri_encode(normalised, encode_slash=False), encode_slash=False)


def canonical_query(params):
    """params: [(name, value)] already decoded; sorted by encoded name then value."""
    pairs = sorted((uri_encode(k), uri_encode(v)) for k, v in params)
    return "&".join("%s=%s" % pair for pair in pairs)


def _canonical_headers(headers):
    folded = {}
    for name, value in headers.items():
        key = name.strip().lower()
        text = " ".join(str(value).strip().split())
        folded[key] = folded[key] + "," + text if key in folded else text
    names = sorted(folded)
    return "".join("%s:%s\n" % (n, folded[n]) for n in names), ";".join(names)


def canonical_request(method, path, params, headers, payload_hash, service):
    header_block, signed = _canonical_headers(headers)
    text = "\n".join([method, canonical_uri(path, service), canonical_query(params), header_block, signed,
                      payload_hash])
    return text, signed


def sign(method, path, params, headers, payload_hash, credentials, region, service, amz_date):
    """The Authorization header value. `headers` must already hold host and x-amz-date (and x-amz-content-sha256
    and x-amz-security-token when used): every header given is signed."""
    request, signed = canonical_request(method, path, params, headers, payload_hash, service)
    date = amz_date[:8]
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    to_sign = "\n".join([ALGORITHM, amz_date, scope, sha256_hex(request.encode("utf-8"))])
    signature = hmac.new(signing_key(credentials.secret_key, date, region, service), to_sign.encode("utf-8"),
                         hashlib.sha256).hexdigest()
    return "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, credentials.access_key, scope, signed, signature)
