"""What both object stores share: one request with retries, timeouts and secret-free errors.

A backend (blob.py, s3.py) only says how to address and sign a request; this class sends it through the
plugin's HttpClient (kept-alive connections shared by Orthanc's threads, at most max_connections, TLS verified
and sessions resumed) and applies the RetryPolicy.
"""

import base64
import hashlib

from ..http_client import HttpClient, HttpError
from ..log import redact
from .errors import ObjectNotFound, StorageError
from .retry import RetryPolicy, is_retryable


def md5_base64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")  # noqa: S324 - integrity, as the API asks


class ObjectStore:
    """put(name, data) / get(name) / delete(name) / head(name). Subclasses implement _prepare()."""

    backend = "?"

    def __init__(self, timeout=30.0, ca_bundle=None, retry=None, http=None, on_retry=None, max_connections=16):
        # https_proxy/no_proxy honoured as for token endpoints (a hospital's egress proxy); plain http never proxied
        self.http = http or HttpClient(timeout, ca_bundle=ca_bundle or None, use_env_proxy=True,
                                       pool_size=max_connections)
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry or (lambda operation: None)

    def _prepare(self, method, name, headers, data):
        """-> (url, headers, secrets to redact). Called per attempt (a token or signature may change)."""
        raise NotImplementedError

    def _error_code(self, response):
        return ""

    def _send(self, operation, method, name, headers=None, data=None, ok=(200,)):
        attempt = 0
        while True:
            url, sent_headers, secrets = self._prepare(method, name, dict(headers or {}), data)
            problem, answer = None, None
            try:
                answer = self.http.request(method, url, headers=sent_headers, data=data)
            except HttpError as exc:
                if exc.tls:
                    raise StorageError("TLS error on %s %s (set CaBundle if the storage uses a private CA)"
                                       % (method, name)) from None
                problem = "cannot reach the storage: %s" % redact(exc, secrets)
            if answer is not None:
                if answer.status_code in ok:
                    return answer
                if answer.status_code == 404 and method in ("GET", "HEAD"):
                    raise ObjectNotFound("%s does not exist" % name, 404)
                code = redact(self._error_code(answer), secrets)[:64]
                problem = "HTTP %d %s" % (answer.status_code, code)
                if not is_retryable(answer.status_code):
                    raise StorageError("%s %s on %s answered %s" % (self.backend, method, name, problem.strip()),
                                       answer.status_code)
            attempt += 1
            if attempt > self.retry.max_retries:
                raise StorageError("%s %s on %s failed after %d attempts: %s" % (
                    self.backend, method, name, attempt, problem.strip()),
                    answer.status_code if answer is not None else None, retryable=True)
            self.on_retry(operation)
            self.retry.wait(attempt, answer.headers if answer is not None else None)

    # ---- the four operations ----
    def put(self, name, data):
        """Write `data` with its Content-MD5 (the service refuses a body that does not match it)."""
        self._send("create", "PUT", name, self._put_headers(data), data, ok=(200, 201))

    def get(self, name):
        return self._send("read", "GET", name).content

    def delete(self, name):
        """True when something was removed; a missing object is not an error (remove is idempotent)."""
        answer = self._send("remove", "DELETE", name, ok=(200, 202, 204, 404))
        return answer.status_code != 404

    def head(self, name):
        """{'size': int, 'md5': hex or None} or raises ObjectNotFound."""
        answer = self._send("head", "HEAD", name)
        return {"size": int(answer.headers.get("Content-Length") or 0), "md5": self._stored_md5(answer)}

    def _put_headers(self, data):
        return {"Content-MD5": md5_base64(data), "Content-Type": "application/octet-stream"}

    def _stored_md5(self, answer):
        value = answer.headers.get("Content-MD5")
        if not value:
            return None
        try:
            return base64.b64decode(value).hex()
        except ValueError:
            return None
