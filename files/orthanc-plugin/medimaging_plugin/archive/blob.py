"""Plain HTTPS GETs of blobs (Azure Blob REST: Get Blob), with a SAS or a bearer token.

No Azure SDK: the plugin's interpreter only has pure-Python dependencies. Every request carries
x-ms-version; TLS verification is always on (CaBundle for a private CA); redirects are not followed.
Error messages name the blob and the HTTP status only: never the URL's query (the SAS) nor a token.
"""

import base64
import threading
import time
from urllib.parse import quote

from ..http_client import HttpClient, HttpError
from ..log import redact
from ..tokens.model import TokenError

REFRESH_MARGIN = 120.0  # seconds: a token closer than this to its expiry is renewed before use


class BlobError(Exception):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class BlobNotFound(BlobError):
    pass


class SasCredential:
    """The SAS query string, read at each use (a rotated file or variable is picked up)."""

    kind = "sas"

    def __init__(self, source, environ):
        self.source = source
        self.environ = environ

    def apply(self, headers):
        try:
            value = self.source.read(self.environ).strip().lstrip("?")
        except (OSError, ValueError) as exc:
            raise BlobError("cannot read the SAS token (%s): %s" % (self.source.describe(), type(exc).__name__)) from None
        if not value:
            raise BlobError("the SAS token (%s) is empty" % self.source.describe())
        return value, [value]


class BearerCredential:
    """A token from a tokens/providers.py provider, renewed REFRESH_MARGIN before its expiry (half its
    lifetime for short-lived tokens). When renewal fails, the current token is used while it is still
    valid, and renewal is tried again at most every RETRY_SECONDS: a blip of the token endpoint near the
    end of a token's life must not fail restores the storage would still accept."""

    kind = "bearer"
    RETRY_SECONDS = 10.0
    EXPIRY_SAFETY = 10.0  # seconds: a token this close to expiry could lapse during the request

    def __init__(self, provider, clock=time.time):
        self.provider = provider
        self.clock = clock
        self._token = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def token(self):
        with self._lock:
            now = self.clock()
            if self._token is None or now >= self._renew_at:
                try:
                    self._token = self.provider.acquire(now)
                    lifetime = self._token.expires_at - now
                    self._renew_at = self._token.expires_at - min(REFRESH_MARGIN, lifetime / 2.0)
                except TokenError as exc:
                    if self._token is None or self._token.expires_at - self.EXPIRY_SAFETY <= now:
                        raise BlobError("cannot get a storage token: %s" % redact(exc)) from None
                    self._renew_at = now + self.RETRY_SECONDS
            return self._token.value

    def apply(self, headers):
        value = self.token()
        headers["Authorization"] = "Bearer " + value
        return None, [value]


class BlobReader:
    """GET {ContainerUrl}/{name}[?SAS] -> bytes. One kept-alive connection per thread, no proxy."""

    def __init__(self, container_url, credential, api_version, ca_bundle=None, timeout=30.0):
        self.container_url = container_url.rstrip("/")
        self.credential = credential
        self.api_version = api_version
        self.http = HttpClient(timeout, ca_bundle=ca_bundle or None)

    def get(self, name):
        """(bytes, content_md5_hex or None). Raises BlobNotFound (404) or BlobError."""
        headers = {"x-ms-version": self.api_version, "Accept": "*/*"}
        query, secrets = self.credential.apply(headers)
        url = "%s/%s" % (self.container_url, quote(name, safe="/"))
        if query:
            url += "?" + query
        try:
            response = self.http.request("GET", url, headers=headers)
        except HttpError as exc:
            if exc.tls:
                raise BlobError("TLS error reading blob %s (set CaBundle if the storage uses a private CA)"
                                % name) from None
            raise BlobError("cannot reach the storage for blob %s: %s" % (name, redact(exc, secrets))) from None
        if response.status_code == 404:
            raise BlobNotFound("blob %s does not exist" % name, 404)
        if response.status_code != 200:
            code = response.headers.get("x-ms-error-code", "")[:64]
            message = "reading blob %s answered HTTP %d %s" % (name, response.status_code, redact(code, secrets))
            raise BlobError(message, response.status_code)
        stored_md5 = None
        header = response.headers.get("Content-MD5")
        if header:
            try:
                stored_md5 = base64.b64decode(header).hex()
            except ValueError:
                stored_md5 = None
        return response.content, stored_md5
