"""The Service forwarders over real sockets on 127.0.0.1: round-robin over the endpoints, a failed endpoint
skipped, an endpoint change that leaves open connections alone, refusal without endpoints."""
import socket
import socketserver
import threading

import pytest

from lab.kube.kubelet.forwarder import Forwarders


class Named(socketserver.ThreadingTCPServer):
    """Answers every line with its name, so a client sees which endpoint it reached."""
    daemon_threads = allow_reuse_address = True

    def __init__(self, name):
        self.name = name.encode()
        super().__init__(("127.0.0.1", 0), Reply)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Reply(socketserver.StreamRequestHandler):
    def handle(self):
        for _line in self.rfile:
            self.wfile.write(self.server.name + b"\n")


def ask(connection):
    connection.sendall(b"who\n")
    return connection.makefile("rb").readline().strip().decode()


@pytest.fixture
def forwarders():
    running = Forwarders("test")
    yield running
    running.shutdown()


def test_round_robin_failover_and_endpoint_changes(forwarders):
    one, two = Named("one"), Named("two")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))                 # a port nobody listens on
    backends = [("127.0.0.1", one.server_address[1]), ("127.0.0.1", dead.getsockname()[1]),
                ("127.0.0.1", two.server_address[1])]
    port = forwarders.listen("svc", "127.0.0.1", 0, backends)
    seen = []
    for _ in range(6):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            seen.append(ask(connection))
    assert set(seen) == {"one", "two"} and seen.count("one") >= 2 and seen.count("two") >= 2
    kept = socket.create_connection(("127.0.0.1", port), timeout=5)
    first = ask(kept)
    forwarders.set_backends("svc", [("127.0.0.1", two.server_address[1])])
    assert ask(kept) == first                   # an open connection keeps its endpoint
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        assert ask(connection) == "two"
    kept.close()
    forwarders.set_backends("svc", [])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        assert connection.recv(10) == b""       # no Ready endpoint: closed at once
    assert forwarders.listen("svc", "127.0.0.1", 0, []) == port     # listening again keeps the port
    forwarders.close("svc")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    for server in (one, two):
        server.shutdown()
    dead.close()
