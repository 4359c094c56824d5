"""The lab CA signs server certificates that clients verify for 127.0.0.1 and localhost, and client certificates."""
import socket
import ssl
import threading

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from lab.ca import LabCA


def test_server_certificate_verifies_against_the_ca(tmp_path):
    ca = LabCA(str(tmp_path))
    assert ca.ensure() is True and ca.ensure() is False
    cert, key = ca.issue_server_cert("server")
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=ca.cert_path)
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            tls.send(b"x")
    thread.join(5)
    listener.close()


def test_existing_certificate_is_reused_while_it_covers_the_names(tmp_path):
    ca = LabCA(str(tmp_path))
    ca.ensure()
    first = open(ca.issue_server_cert("server")[0], "rb").read()
    assert open(ca.issue_server_cert("server")[0], "rb").read() == first
    assert open(ca.issue_server_cert("server", sans=("localhost", "127.0.0.1", "lab.local"))[0], "rb").read() != first


def test_client_certificate_authenticates_to_a_server_that_requires_one(tmp_path):
    ca = LabCA(str(tmp_path))
    ca.ensure()
    server_cert, server_key = ca.issue_server_cert("server")
    client_cert, client_key = ca.issue_client_cert("scu", common_name="TLSSCU")
    assert (tmp_path / "scu.key").stat().st_mode & 0o777 == 0o600
    with open(client_cert, "rb") as handle:
        first = handle.read()
    assert ca.issue_client_cert("scu") == (client_cert, client_key)
    with open(client_cert, "rb") as handle:
        assert handle.read() == first  # reused while valid
    usage = x509.load_pem_x509_certificate(first).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_cert, server_key)
    server_ctx.load_verify_locations(ca.cert_path)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    seen = {}

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            seen["subject"] = dict(item[0] for item in tls.getpeercert()["subject"])
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=ca.cert_path)
    client_ctx.load_cert_chain(client_cert, client_key)
    with socket.create_connection(listener.getsockname()) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.send(b"x")
    thread.join(5)
    listener.close()
    assert seen["subject"]["commonName"] == "TLSSCU"
