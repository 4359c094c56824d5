"""A small HTTP(S) client on the standard library, for token endpoints, object storage and Blob reads.

Why not `requests`: inside Orthanc every imported module stays resident, and requests with urllib3,
idna and charset_normalizer cost about 9 MiB of Orthanc's memory; http.client and ssl cost about 2.
It also means TLS goes through the system's OpenSSL and CA store (Debian security updates, a
hospital's private CA installed system-wide) instead of certifi's bundle.

What it does: kept-alive connections in a small pool per origin SHARED by all threads, at most
`pool_size` open at once (a thread waits up to the timeout for one); new TLS connections resume the
origin's last TLS session (no full handshake); TLS verification always on (a CA bundle file replaces
the system store, as with requests' verify=path); redirects never followed; HTTPS through a CONNECT
proxy when asked (the token endpoint from a hospital network).

Why shared and not per thread: orthanc-python gives each callback from one of Orthanc's threads a fresh
Python thread state, so threading.local() is empty at every storage or REST callback; per-thread
connections meant one TCP + TLS handshake per object stored or read.
"""

import collections
import http.client
import json
import os
import select
import socket
import ssl
import threading
from urllib.parse import urlencode, urlsplit

DEFAULT_POOL_SIZE = 8


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


class _Origin:
    """The connections to one origin: idle ones (most recently used first), a cap on open ones, the TLS session
    new connections resume."""

    def __init__(self, size):
        self.idle = collections.deque()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(size)
        self.tls_session = None

    def take(self):
        """An idle connection the server has not closed, or None."""
        while True:
            with self.lock:
                if not self.idle:
                    return None
                conn = self.idle.pop()
            if not _dropped(conn):
                return conn
            conn.close()

    def give_back(self, conn):
        # The session of each new TLS connection, once: reading SSLSocket.session copies it (certificates
        # included) and costs about a millisecond, too much to repeat at every request.
        session = None
        if not getattr(conn, "session_taken", True):
            conn.session_taken = True
            session = conn.sock.session
        with self.lock:
            if session is not None:
                self.tls_session = session
            self.idle.append(conn)

    def close(self):
        with self.lock:
            conns, self.idle = list(self.idle), collections.deque()
        for conn in conns:
            conn.close()


def _dropped(conn):
    """True when an idle connection cannot carry a request: closed, or readable (the server closed it or sent
    something unasked). Any unread byte would corrupt the next answer, so such a connection is never reused."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _ResumingHTTPSConnection(http.client.HTTPSConnection):
    """HTTPSConnection whose handshake offers the origin's last TLS session (an abbreviated handshake: no
    certificate chain, no key exchange signature) when it has one."""

    def __init__(self, *args, origin=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._origin = origin
        self.session_taken = False  # the origin keeps this connection's TLS session once it carried a request

    def connect(self):
        http.client.HTTPConnection.connect(self)  # TCP, and the CONNECT tunnel when set
        server_hostname = self._tunnel_host or self.host
        session = self._origin.tls_session if self._origin is not None else None
        self.sock = self._context.wrap_socket(self.sock, server_hostname=server_hostname, session=session)


class HttpClient:
    """request(method, url, ...) -> Response. Safe to share between threads (one pool per origin for all)."""

    def __init__(self, timeout, ca_bundle=None, use_env_proxy=False, environ=None, pool_size=DEFAULT_POOL_SIZE):
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.use_env_proxy = use_env_proxy
        self.environ = os.environ if environ is None else environ
        self.pool_size = max(1, int(pool_size))
        self._contexts = {}
        self._origins = {}
        self._lock = threading.Lock()

    def _tls_context(self, ca_bundle):
        with self._lock:
            context = self._contexts.get(ca_bundle)
            if context is None:
                # cafile given: only that bundle is trusted; otherwise the system store.
                context = self._contexts[ca_bundle] = ssl.create_default_context(cafile=ca_bundle or None)
            return context

    def _origin(self, key):
        with self._lock:
            origin = self._origins.get(key)
            if origin is None:
                origin = self._origins[key] = _Origin(self.pool_size)
            return origin

    def _open(self, scheme, netloc, ca_bundle, origin):
        proxy = proxy_for("%s://%s/" % (scheme, netloc), self.environ) if self.use_env_proxy else None
        if scheme == "https":
            context = self._tls_context(ca_bundle)
            if proxy:
                target = urlsplit(proxy)
                conn = _ResumingHTTPSConnection(target.hostname, target.port or 8080, timeout=self.timeout,
                                                context=context, origin=origin)
                conn.set_tunnel(*_host_port(netloc, 443))
                return conn
            return _ResumingHTTPSConnection(netloc, timeout=self.timeout, context=context, origin=origin)
        if scheme == "http":
            return http.client.HTTPConnection(netloc, timeout=self.timeout)
        raise HttpError("unsupported URL scheme %r (use https)" % scheme)

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
        if parts.scheme not in ("http", "https"):
            raise HttpError("unsupported URL scheme %r (use https)" % parts.scheme)
        bundle = ca_bundle or self.ca_bundle
        origin = self._origin((parts.scheme, parts.netloc, bundle))
        if not origin.slots.acquire(timeout=self.timeout):
            raise HttpError("%s: all %d connections stayed busy for %ss"
                            % (parts.netloc, self.pool_size, self.timeout))
        try:
            return self._exchange(origin, parts, bundle, method, target, headers, data)
        finally:
            origin.slots.release()

    def _exchange(self, origin, parts, bundle, method, target, headers, data):
        conn = origin.take()
        # A kept-alive connection the server has closed fails on first use: one retry on a fresh one.
        for attempt in (1, 2):
            fresh = conn is None
            if fresh:
                conn = self._open(parts.scheme, parts.netloc, bundle, origin)
            try:
                conn.request(method, target, body=data, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if fresh or attempt == 2:
                    raise HttpError("%s: %s" % (parts.netloc, type(exc).__name__)) from None
                conn = None
                continue
            except ssl.SSLError as exc:
                conn.close()
                raise HttpError("%s: TLS error: %s" % (parts.netloc, getattr(exc, "reason", None) or exc),
                                tls=True) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                reason = "timed out" if isinstance(exc, socket.timeout) else type(exc).__name__
                raise HttpError("%s: %s" % (parts.netloc, reason)) from None
            if answer.will_close:
                conn.close()
            else:
                origin.give_back(conn)
            return Response(answer.status, answer.headers, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self):
        """Close the idle connections (a request in flight keeps its own until it ends)."""
        with self._lock:
            origins = list(self._origins.values())
        for origin in origins:
            origin.close()


def _host_port(netloc, default_port):
    host, _colon, port = netloc.rpartition(":")
    if host and port.isdigit():
        return host.strip("[]"), int(port)
    return netloc.strip("[]"), default_port
