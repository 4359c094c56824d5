"""Azure Blob (REST: Put Blob, Get Blob, Delete Blob, Get Blob Properties) over the plugin's HttpClient.

Credentials, best first: a bearer token from the plugin's token providers (managed identity, workload identity,
client credentials; scope https://storage.azure.com/.default); as a fallback only, a SAS or an account key read
from a file (SasTokenFile, ConnectionStringFile), re-read at each request so rotation needs no restart.
Shared Key signing follows "Authorize with Shared Key" (the 2009-09-19+ string to sign).
"""

import base64
import email.utils
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

from ..archive.blob import BearerCredential, BlobError, SasCredential
from .errors import StorageError
from .object_store import ObjectStore

__all__ = ["BearerCredential", "SasCredential", "SharedKeyCredential", "BlobStore", "parse_connection_string"]


def parse_connection_string(text):
    """'Key=Value;...' -> dict. Values may contain '=' (base64 keys, SAS)."""
    out = {}
    for part in text.strip().split(";"):
        if part.strip():
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError("connection string part without '='")
            out[key.strip()] = value.strip()
    return out


def string_to_sign(method, url, headers, account):
    """Shared Key string to sign for the Blob service."""
    lower = {k.lower(): str(v) for k, v in headers.items()}
    length = lower.get("content-length", "")
    standard = [method, lower.get("content-encoding", ""), lower.get("content-language", ""),
                "" if length == "0" else length, lower.get("content-md5", ""), lower.get("content-type", ""),
                "", lower.get("if-modified-since", ""), lower.get("if-match", ""), lower.get("if-none-match", ""),
                lower.get("if-unmodified-since", ""), lower.get("range", "")]
    ms = "".join("%s:%s\n" % (k, " ".join(lower[k].split())) for k in sorted(lower) if k.startswith("x-ms-"))
    parts = urlsplit(url)
    resource = "/%s%s" % (account, parts.path or "/")
    params = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        params.setdefault(key.lower(), []).append(value)
    for key in sorted(params):
        resource += "\n%s:%s" % (key, ",".join(sorted(params[key])))
    return "\n".join(standard) + "\n" + ms + resource


class SharedKeyCredential:
    """AccountName + AccountKey from a connection string file (a fallback: the key is a stored secret)."""

    kind = "shared_key"

    def __init__(self, source, environ, clock=None):
        self.source, self.environ = source, environ
        self.clock = clock

    def _account(self):
        try:
            values = parse_connection_string(self.source.read(self.environ))
            return values["AccountName"], values["AccountKey"]
        except (OSError, ValueError, KeyError) as exc:
            raise BlobError("cannot read AccountName/AccountKey from the connection string (%s): %s"
                            % (self.source.describe(), type(exc).__name__)) from None

    def sign(self, method, url, headers):
        account, key = self._account()
        headers["x-ms-date"] = email.utils.formatdate(self.clock() if self.clock else None, usegmt=True)
        text = string_to_sign(method, url, headers, account)
        try:
            secret = base64.b64decode(key)
        except ValueError:
            raise BlobError("the AccountKey in %s is not base64" % self.source.describe()) from None
        signature = base64.b64encode(hmac.new(secret, text.encode("utf-8"), hashlib.sha256).digest()).decode()
        headers["Authorization"] = "SharedKey %s:%s" % (account, signature)
        return [key, signature]


class BlobStore(ObjectStore):
    backend = "azure_blob"

    def __init__(self, container_url, credential, api_version, **kwargs):
        super().__init__(**kwargs)
        self.container_url = container_url.rstrip("/")
        self.credential = credential
        self.api_version = api_version

    def _prepare(self, method, name, headers, data):
        headers["x-ms-version"] = self.api_version
        if method == "PUT":
            headers["x-ms-blob-type"] = "BlockBlob"
            headers["Content-Length"] = str(len(data))
        url = "%s/%s" % (self.container_url, quote(name, safe="/"))
        try:
            if isinstance(self.credential, SharedKeyCredential):
                return url, headers, self.credential.sign(method, url, headers)
            query, secrets = self.credential.apply(headers)
        except BlobError as exc:
            raise StorageError(str(exc)) from None
        return (url + "?" + query) if query else url, headers, secrets

    def _error_code(self, response):
        return response.headers.get("x-ms-error-code", "")
