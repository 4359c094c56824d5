"""The managed identity endpoint of an environment, as Container Apps serves it to replicas: plain HTTP at Azure's own
address (IDENTITY_ENDPOINT=http://localhost:42356/msi/token: loopback, so clients that refuse plain http elsewhere
accept it), served on <gateway>:42356 where private_access.connect sends the replica's 127.0.0.1:42356; GET ?resource=...&api-version=2019-08-01 with the replica's
X-IDENTITY-HEADER; client_id / mi_res_id / object_id pick a user-assigned identity. Tokens come from the
emulator's Entra (lab.azure.entra.managed_identity), so audiences, RBAC and the request log are the emulator's.
"""
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.azure.web import HttpError, Request

PORT = 42356  # the port Azure Container Apps uses for its identity endpoint
API_VERSION = "2019-08-01"
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
_SERVERS = {}
_LOCK = threading.Lock()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # The gateway address exists only while a container is attached: bind before it does.
        self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        super().server_bind()


def _handler(ctx):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - http.server's name
            started = time.monotonic()
            request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
            try:
                if request.path.rstrip("/") != "/msi/token":
                    raise HttpError(404, "NotFound", "not found", body={"statusCode": 404, "message": "Not found"})
                if request.query.get("api-version") != API_VERSION:
                    raise HttpError(400, "BadRequest", "api-version", body={
                        "statusCode": 400, "message": f"api-version {request.query.get('api-version')!r} is not "
                        f"supported: use {API_VERSION}."})
                response = ctx.entra.managed_identity(request)
                status, body = response.status, response.data
            except HttpError as err:
                answer = err.response()
                status, body = answer.status, answer.data
            ctx.log_request(request, status, time.monotonic() - started)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def ensure(ctx, gateway):
    """Serve the endpoint on gateway:42356 (once per environment network); returns its URL as replicas see it."""
    with _LOCK:
        if gateway not in _SERVERS:
            server = _Server((gateway, PORT), _handler(ctx))
            _SERVERS[gateway] = server
            threading.Thread(target=server.serve_forever, name=f"msi-{gateway}", daemon=True).start()
    return f"http://localhost:{PORT}/msi/token"


def stop(gateway):
    with _LOCK:
        server = _SERVERS.pop(gateway, None)
    if server is not None:
        server.shutdown()
        server.server_close()
