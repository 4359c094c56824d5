"""A small HTTP(S) client on the standard library, for token endpoints and Blob reads.

Why not `requests`: inside Orthanc every imported module stays resident, and requests with urllib3,
idna and charset_normalizer cost about 9 MiB of Orthanc's memory; http.client and ssl cost about 2.
It also means TLS goes through the system's OpenSSL and CA store (Debian security updates, a
hospital's private CA installed system-wide) instead of certifi's bundle.

What it does: one keep-alive connection per thread and origin; TLS verification always on (a CA
bundle file replaces the system store, as with requests' verify=path); redirects never followed;
HTTPS through a CONNECT proxy when asked (the token endpoint from a hospital network).
"""

import http.client
import json
import os
import socket
import ssl
import threading
from urllib.parse import urlencode, urlsplit


class HttpError(Exception):
    """The request did not get an answer (connection refused, timeout, TLS failure, proxy refusal)."""

    def __init__(self, message, tls=False):
        super().__init__(message)
        self.tls = tls


class Response:
    def __init__(self, status, headers, body):
        self.status_code = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.content = body

    def json(self):
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.content.decode("utf-8"))


def proxy_for(url, environ):
    """The https_proxy/http_proxy URL to use for `url`, or None (no_proxy honoured: '*', host suffixes)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    no_proxy = environ.get("no_proxy", environ.get("NO_PROXY", ""))
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")))):
            return None
    name = "%s_proxy" % parts.scheme
    return environ.get(name) or environ.get(name.upper()) or None


class HttpClient:
    """request(method, url, ...) -> Response. Safe to share between threads (connections are per thread)."""

    def __init__(self, timeout, ca_bundle=None, use_env_proxy=False, environ=None):
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.use_env_proxy = use_env_proxy
        self.environ = os.environ if environ is None else environ
        self._contexts = {}
        self._contexts_lock = threading.Lock()
        self._local = threading.local()

    def _tls_context(self, ca_bundle):
        with self._contexts_lock:
            context = self._contexts.get(ca_bundle)
            if context is None:
                # cafile given: only that bundle is trusted; otherwise the system store.
                context = self._contexts[ca_bundle] = ssl.create_default_context(cafile=ca_bundle or None)
            return context

    def _connection(self, scheme, netloc, ca_bundle):
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        key = (scheme, netloc, ca_bundle)
        conn = pool.get(key)
        if conn is None:
            conn = pool[key] = self._open(scheme, netloc, ca_bundle)
        return key, conn

    def _open(self, scheme, netloc, ca_bundle):
        proxy = proxy_for("%s://%s/" % (scheme, netloc), self.environ) if self.use_env_proxy else None
        if scheme == "https":
            context = self._tls_context(ca_bundle)
            if proxy:
                target = urlsplit(proxy)
                conn = http.client.HTTPSConnection(target.hostname, target.port or 8080, timeout=self.timeout,
                                                   context=context)
                conn.set_tunnel(*_host_port(netloc, 443))
                return conn
            return http.client.HTTPSConnection(netloc, timeout=self.timeout, context=context)
        if scheme == "http":
            return http.client.HTTPConnection(netloc, timeout=self.timeout)
        raise HttpError("unsupported URL scheme %r (use https)" % scheme)

    def _drop(self, key):
        conn = self._local.pool.pop(key, None)
        if conn is not None:
            conn.close()

    def request(self, method, url, headers=None, params=None, data=None, ca_bundle=None):
        """data: bytes, or a dict sent as application/x-www-form-urlencoded. ca_bundle overrides the client's."""
        parts = urlsplit(url)
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(params) if params else "") if q)
        if query:
            target += "?" + query
        headers = dict(headers or {})
        if isinstance(data, dict):
            data = urlencode(data).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        key, conn = self._connection(parts.scheme, parts.netloc, ca_bundle or self.ca_bundle)
        # A kept-alive connection the server has closed fails on first use: one retry on a fresh one.
        for attempt in (1, 2):
            fresh = conn.sock is None
            try:
                conn.request(method, target, body=data, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(key)
                if fresh or attempt == 2:
                    raise HttpError("%s: %s" % (parts.netloc, type(exc).__name__)) from None
                key, conn = self._connection(parts.scheme, parts.netloc, ca_bundle or self.ca_bundle)
                continue
            except ssl.SSLError as exc:
                self._drop(key)
                raise HttpError("%s: TLS error: %s" % (parts.netloc, getattr(exc, "reason", None) or exc),
                                tls=True) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                reason = "timed out" if isinstance(exc, socket.timeout) else type(exc).__name__
                raise HttpError("%s: %s" % (parts.netloc, reason)) from None
            if answer.will_close:
                self._drop(key)
            return Response(answer.status, answer.headers, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self):
        """Close this thread's connections."""
        for key in list(getattr(self._local, "pool", {})):
            self._drop(key)


def _host_port(netloc, default_port):
    host, _colon, port = netloc.rpartition(":")
    if host and port.isdigit():
        return host.strip("[]"), int(port)
    return netloc.strip("[]"), default_port
