"""The AKS flavour's TLS gateway (lab/kube/flavours/gateway_tls.py) under many short connections, in a process of its
own: it once closed an SSL socket while the other copy thread was inside OpenSSL on it, and the process died of a
segmentation fault; then a one-thread pump blocked reading the upstream's session tickets before the client had
sent its request. Every request must get its answer and the gateway must still run afterwards."""
import http.server
import os
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lab.ca import LabCA
from lab.proc import LOOPBACK, free_port, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BODY = b"x" * 20000  # larger than one TLS record: both copy threads are busy when the client goes away


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def _upstream(cert, key):
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _gateway(port, upstream_port, cert, key, ca):
    script = textwrap.dedent(f"""
        import time
        from lab.kube.flavours.gateway_tls import GatewayTls
        GatewayTls({LOOPBACK!r}, {port}, {upstream_port}, {cert!r}, {key!r}, {ca!r}).start()
        time.sleep(300)
    """)
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO)


def _one(port, context, early_close, late):
    with context.wrap_socket(__import__("socket").create_connection((LOOPBACK, port), timeout=20),
                             server_hostname=LOOPBACK) as tls:
        if late:
            time.sleep(0.3)              # the upstream's TLS 1.3 session tickets arrive before the request
        tls.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        if early_close:
            tls.recv(100)                # go away in the middle of the answer
            return True
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data.endswith(BODY)


def test_many_short_connections_all_answered_and_the_gateway_survives(tmp_path):
    ca = LabCA(str(tmp_path / "ca"))
    ca.ensure()
    cert, key = ca.issue_server_cert("gateway-test")
    upstream = _upstream(cert, key)
    port = free_port()
    gateway = _gateway(port, upstream.server_address[1], cert, key, ca.cert_path)
    try:
        wait_for_port(LOOPBACK, port, timeout=30, pid=gateway.pid)
        context = ssl.create_default_context(cafile=ca.cert_path)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: _one(port, context, early_close=i % 3 == 0, late=i % 10 == 1),
                                    range(300)))
        assert all(results), f"{results.count(False)} of 300 answers incomplete"
        assert gateway.poll() is None, f"the gateway died (exit {gateway.returncode})"
    finally:
        gateway.kill()
        gateway.wait()
        upstream.shutdown()
