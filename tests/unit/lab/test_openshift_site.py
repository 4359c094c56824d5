"""lab/openshift_site.py: the cloud link the OpenShift scenario's outage drill cuts, against a TLS echo server on
127.0.0.1, the link on 127.0.0.2 (as a cluster gateway would be). No podman, no network beyond loopback."""
import socket
import ssl
import threading

import pytest

from lab.ca import LabCA
from lab.openshift_site import CloudLink, TcpRelay

GATEWAY = "127.0.0.2"


@pytest.fixture(name="echo")
def fixture_echo(tmp_path):
    """A TLS echo server on 127.0.0.1 with a lab-CA certificate naming 127.0.0.1: (port, CA folder, client context)."""
    ca = LabCA(str(tmp_path))
    ca.ensure()
    cert, key = ca.issue_server_cert("upstream", sans=("127.0.0.1",))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    listening = socket.create_server(("127.0.0.1", 0))

    def one(client):
        try:
            with server.wrap_socket(client, server_side=True) as tls:
                while data := tls.recv(100):
                    tls.sendall(data)
        except OSError:
            pass

    def serve():
        while True:
            try:
                client, _ = listening.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listening.getsockname()[1], str(tmp_path), ssl.create_default_context(cafile=ca.cert_path)
    listening.close()


def call(port, context, timeout=10):
    """A TLS round trip through the gateway address, verifying the certificate names the gateway (10 s: the relay's
    threads share 2 cores with CI's other parts)."""
    with socket.create_connection((GATEWAY, port), timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=GATEWAY) as tls:
            tls.sendall(b"ping")
            return tls.recv(10)


def test_the_link_carries_tls_cuts_by_refusal_or_silence_and_heals(echo):
    port, ca_dir, context = echo
    link = CloudLink(GATEWAY, port, ca_dir).start()
    try:
        assert call(port, context) == b"ping"
        kept = context.wrap_socket(socket.create_connection((GATEWAY, port), timeout=10), server_hostname=GATEWAY)
        kept.sendall(b"a")
        assert kept.recv(10) == b"a"

        link.cut("reject")
        with pytest.raises(ConnectionRefusedError):
            call(port, context)
        try:                                   # an open connection ends too (a kept-alive client sees the cut)
            kept.sendall(b"b")
            assert kept.recv(10) == b""
        except OSError:
            pass
        kept.close()

        link.cut("drop")
        with pytest.raises((TimeoutError, socket.timeout)):
            call(port, context, timeout=1)     # accepted, never answered

        link.heal()
        assert call(port, context) == b"ping"
        with pytest.raises(ValueError):
            link.cut("unplug")
    finally:
        link.shutdown()
    with pytest.raises(ConnectionRefusedError):
        call(port, context)


def test_the_database_relay_is_plain_tcp(echo):
    port, _ca_dir, context = echo
    relay = TcpRelay(GATEWAY, port).start()
    try:
        with socket.create_connection((GATEWAY, port), timeout=3) as sock:
            with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:   # TLS end to end: upstream's name
                tls.sendall(b"pg")
                assert tls.recv(10) == b"pg"
    finally:
        relay.stop()
