"""The plugin's stdlib HTTP client against real sockets on 127.0.0.1: keep-alive connections shared by threads and
capped per origin, TLS sessions resumed, a closed kept-alive connection, TLS with a private CA (verified; refused without it), no redirects, timeouts, a CONNECT proxy,
and the proxy/no_proxy choice."""
import os
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from medimaging_plugin import http_client
from medimaging_plugin.http_client import HttpClient, HttpError, proxy_for

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, REPO)
from lab.ca import LabCA  # noqa: E402


class Server:
    """HTTP/1.1 server (keep-alive) that counts TCP connections; /close answers then closes; /slow sleeps."""

    def __init__(self, tls_files=None):
        self.connections = 0
        self.resumed = []  # per TLS connection: did the handshake resume an earlier session
        self.paths = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                server.connections += 1
                if hasattr(self.request, "session_reused"):
                    server.resumed.append(self.request.session_reused)
                super().setup()

            def do_GET(self):
                server.paths.append(self.path)
                if self.path == "/slow":
                    time.sleep(1.0)
                if self.path == "/slowish":
                    time.sleep(0.05)
                status = 302 if self.path == "/redirect" else 200
                body = b'{"ok": true}'
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(body)))
                if self.path == "/close":
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls_files:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls_files)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    lab_ca = LabCA(str(tmp_path_factory.mktemp("ca")))
    lab_ca.ensure()
    return lab_ca


def test_keep_alive_connections_are_shared_by_threads(server):
    client = HttpClient(timeout=5)
    for _ in range(3):
        answer = client.request("GET", server.url + "/a", params={"x": "1 2"})
        assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert server.connections == 1
    assert server.paths == ["/a?x=1+2"] * 3

    # orthanc-python gives each callback a fresh thread state: a new thread per request must still reuse it
    for _ in range(3):
        other = threading.Thread(target=lambda: client.request("GET", server.url + "/b"))
        other.start()
        other.join()
    assert server.connections == 1


def test_concurrent_requests_open_at_most_pool_size_connections(server):
    client = HttpClient(timeout=10, pool_size=3)
    errors, start = [], threading.Barrier(8)

    def work():
        try:
            start.wait(5)
            for _ in range(3):
                assert client.request("GET", server.url + "/slowish").status_code == 200
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(server.paths) == 24
    assert server.connections == 3  # 8 threads waited their turn on 3 kept-alive connections


def test_server_closing_the_connection_is_followed_by_a_new_one(server):
    client = HttpClient(timeout=5)
    assert client.request("GET", server.url + "/close").status_code == 200
    assert client.request("GET", server.url + "/a").status_code == 200
    assert server.connections == 2


def test_idle_connection_closed_by_the_server_is_replaced(server):
    client = HttpClient(timeout=5)
    client.request("GET", server.url + "/a")
    (origin,) = client._origins.values()
    (conn,) = origin.idle
    conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped the idle connection
    assert client.request("GET", server.url + "/b").status_code == 200
    assert server.connections == 2


def test_a_stale_connection_that_looks_alive_is_retried_once(server, monkeypatch):
    client = HttpClient(timeout=5)
    client.request("GET", server.url + "/a")
    (origin,) = client._origins.values()
    (conn,) = origin.idle
    # the close raced with the idle check (it looked alive): the request fails on it, then goes on a fresh one
    monkeypatch.setattr(http_client, "_dropped", lambda conn: False)
    conn.sock.shutdown(socket.SHUT_RDWR)
    assert client.request("GET", server.url + "/b").status_code == 200
    assert server.connections == 2


def test_form_body_and_redirect_not_followed(server):
    client = HttpClient(timeout=5)
    answer = client.request("POST", server.url + "/redirect", data={"grant_type": "client_credentials"})
    assert answer.status_code == 302
    assert answer.headers.get("location") == "/elsewhere"
    assert server.paths == ["/redirect"]


def test_refused_and_timeout_are_http_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HttpError) as refused:
        HttpClient(timeout=2).request("GET", "http://127.0.0.1:%d/" % port)
    assert "ConnectionRefusedError" in str(refused.value) and not refused.value.tls


def test_timeout_is_reported(server):
    with pytest.raises(HttpError, match="timed out"):
        HttpClient(timeout=0.3).request("GET", server.url + "/slow")


def test_tls_private_ca_is_trusted_only_when_given(ca):
    cert, key = ca.issue_server_cert("http-client-test")
    tls = Server(tls_files=(cert, key))
    try:
        assert HttpClient(timeout=5, ca_bundle=ca.cert_path).request("GET", tls.url + "/a").status_code == 200
        with pytest.raises(HttpError) as refused:
            HttpClient(timeout=5).request("GET", tls.url + "/a")
        assert refused.value.tls
        # a per-request bundle overrides the client's (the token providers pass their server's CaBundle)
        assert HttpClient(timeout=5).request("GET", tls.url + "/a", ca_bundle=ca.cert_path).status_code == 200
    finally:
        tls.close()


def test_new_tls_connections_resume_the_origins_session(ca):
    cert, key = ca.issue_server_cert("http-client-test")
    tls = Server(tls_files=(cert, key))
    try:
        client = HttpClient(timeout=5, ca_bundle=ca.cert_path)
        assert client.request("GET", tls.url + "/a").status_code == 200
        client.close()  # the next request needs a new connection
        assert client.request("GET", tls.url + "/b").status_code == 200
        assert client.request("GET", tls.url + "/c").status_code == 200
        assert tls.connections == 2
        assert tls.resumed == [False, True]  # the second handshake was abbreviated
    finally:
        tls.close()


class ConnectProxy:
    """A CONNECT-only proxy on 127.0.0.1 that relays bytes and records the targets it was asked for."""

    def __init__(self):
        self.targets = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        target = head.split(b" ")[1].decode()
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            ready, _, _ = select.select(sockets, [], [], 5)
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if sock is client else client).sendall(data)

    def close(self):
        self.listener.close()


def test_https_through_connect_proxy_from_environment(ca):
    cert, key = ca.issue_server_cert("http-client-test")
    tls, proxy = Server(tls_files=(cert, key)), ConnectProxy()
    try:
        client = HttpClient(timeout=5, ca_bundle=ca.cert_path, use_env_proxy=True,
                            environ={"HTTPS_PROXY": proxy.url})
        assert client.request("GET", tls.url + "/a").json() == {"ok": True}
        assert proxy.targets == ["127.0.0.1:%d" % tls.port]
        # without use_env_proxy the same environment is ignored
        direct = HttpClient(timeout=5, ca_bundle=ca.cert_path, environ={"HTTPS_PROXY": proxy.url})
        assert direct.request("GET", tls.url + "/a").status_code == 200
        assert len(proxy.targets) == 1
    finally:
        tls.close()
        proxy.close()


@pytest.mark.parametrize("url, environ, expected", [
    ("https://login.example/t", {"https_proxy": "http://p:3128"}, "http://p:3128"),
    ("https://login.example/t", {"HTTPS_PROXY": "http://P:1"}, "http://P:1"),
    ("https://login.example/t", {"http_proxy": "http://p:3128"}, None),
    ("https://login.example/t", {"https_proxy": "http://p:1", "no_proxy": "example"}, None),
    ("https://login.example/t", {"https_proxy": "http://p:1", "no_proxy": "other.example, ,"}, "http://p:1"),
    ("https://login.example/t", {"https_proxy": "http://p:1", "no_proxy": "login.example"}, None),
    ("https://a.login.example/t", {"https_proxy": "http://p:1", "NO_PROXY": ".login.example"}, None),
    ("https://xlogin.example/t", {"https_proxy": "http://p:1", "no_proxy": "login.example"}, "http://p:1"),
    ("https://login.example/t", {"https_proxy": "http://p:1", "no_proxy": "*"}, None),
])
def test_proxy_choice(url, environ, expected):
    assert proxy_for(url, environ) == expected
