"""Replica readiness as the lab judges it: the probe a revision waits for, and real TCP/HTTP checks against a local
server standing in for a replica."""
import http.server
import socket
import threading

import pytest

from lab.azure.container_apps import health


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        status = 200 if self.path == "/ready" else 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def replica():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_readiness_probe_wins_and_without_probes_the_target_port_is_checked():
    container = {"probes": [{"type": "Liveness", "tcpSocket": {"port": 1}}, {"type": "Readiness",
                                                                              "httpGet": {"port": 2}}]}
    assert health.probe_of(container, 8042)["type"] == "Readiness"
    assert health.probe_of({}, 8042) == {"type": "Readiness", "tcpSocket": {"port": 8042}}
    assert health.probe_of({}, None) is None
    assert health.deadline_seconds({"initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 10}) == 110
    assert health.deadline_seconds({"periodSeconds": 1, "failureThreshold": 1}) == 20  # boot time for any image
    # a Startup probe's budget comes first: kubelet waits for the container to start, then for readiness
    starting = {"probes": [{"type": "Startup", "tcpSocket": {"port": 8042}, "periodSeconds": 10, "failureThreshold": 10},
                           {"type": "Readiness", "tcpSocket": {"port": 8042}, "periodSeconds": 5, "failureThreshold": 3}]}
    assert health.start_deadline_seconds(starting, 8042) == 100 + 20
    assert health.start_deadline_seconds({}, 8042) == 30   # the default TCP probe: 10 s x 3


def test_checks_against_a_real_server(replica):
    assert health.check("127.0.0.1", {"tcpSocket": {"port": replica}})[0]
    assert not health.check("127.0.0.1", {"tcpSocket": {"port": closed_port()}})[0]
    assert health.check("127.0.0.1", {"httpGet": {"port": replica, "path": "/ready"}})[0]
    ok, why = health.check("127.0.0.1", {"httpGet": {"port": replica, "path": "/starting"}})
    assert not ok and "503" in why
    assert health.check("127.0.0.1", None) == (True, "running")
