"""The HTTPS transport: ThreadingHTTPServer with TLS 1.2+, HTTP/1.1 keep-alive, chunked watch streams.

Routes non-resource paths (version, discovery, OpenAPI, the issuer documents, extension paths) and hands resource
paths to Operations after authentication. Every error is a Kubernetes Status body.
"""
import collections
import json
import logging
import select
import ssl
import threading
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.kube.api import discovery, errors
from lab.kube.api.operations import Operations, parse_path

LOG = logging.getLogger("lab.kube.api")
UNAUTHENTICATED = ("/.well-known/openid-configuration", "/openid/v1/jwks", "/healthz", "/livez", "/readyz",
                   "/version")


class ApiApp:
    """Everything a request needs: the store, the authenticator, the operations, extension paths."""

    def __init__(self, store, authenticator, tokens, extra_paths=None):
        self.store, self.authenticator, self.tokens = store, authenticator, tokens
        self.operations = Operations(store, tokens)
        self.extra_paths = dict(extra_paths or {})
        self.body_types = collections.Counter()     # content types of request bodies (tests check protobuf use)

    def non_resource(self, path, query):
        """(status, body, content type) for non-resource paths, or None."""
        registry = self.store.registry
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, b"ok", "text/plain"
        documents = {
            "/version": lambda: discovery.KUBE_VERSION,
            "/.well-known/openid-configuration": self.tokens.discovery,
            "/openid/v1/jwks": self.tokens.jwks,
            "/api": discovery.api_versions,
            "/apis": lambda: discovery.api_group_list(registry),
            "/openapi/v2": discovery.openapi_v2_json,
            "/openapi/v3": lambda: discovery.openapi_v3_root(registry),
        }
        if path in documents:
            return 200, documents[path](), "application/json"
        parts = path.strip("/").split("/")
        if path.startswith("/openapi/v3/"):
            document = discovery.openapi_v3_document(registry, path[len("/openapi/v3/"):])
            if document is None:
                raise errors.ApiError(404, f"no OpenAPI document for {path}")
            return 200, document, "application/json"
        if parts == ["api", "v1"]:
            return 200, discovery.resource_list(registry, "", "v1"), "application/json"
        if len(parts) == 2 and parts[0] == "apis":
            versions = registry.groups().get(parts[1])
            if not versions:
                raise errors.ApiError(404, f"the server could not find the requested resource ({path})")
            return 200, dict(discovery.api_group(parts[1], versions), kind="APIGroup", apiVersion="v1"), \
                "application/json"
        if len(parts) == 3 and parts[0] == "apis":
            if parts[2] not in registry.groups().get(parts[1], []):
                raise errors.ApiError(404, f"the server could not find the requested resource ({path})")
            return 200, discovery.resource_list(registry, parts[1], parts[2]), "application/json"
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-kube-apiserver"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug("%s %s", self.address_string(), format % args)

    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stream(self, events):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                if event is None:
                    if self._client_gone():
                        break
                    continue
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            events.close()

    def _client_gone(self):
        """A watch client that hung up leaves a readable socket with nothing to read (clients send nothing while
        they watch, so reading one byte here loses nothing)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        timeout = self.connection.gettimeout()
        self.connection.settimeout(0)
        try:
            return self.connection.recv(1) == b""
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            self.connection.settimeout(timeout)

    def _handle(self):
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if url.path in app.extra_paths:
                reply = app.extra_paths[url.path](query)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            user = app.authenticator.user(self.headers.get("Authorization"))
            if user is None and url.path not in UNAUTHENTICATED:
                raise errors.ApiError(401, "Unauthorized")
            if url.path == "/openapi/v2" and "protobuf" in (self.headers.get("Accept") or ""):
                # an empty Document: no definitions, so clients use their compiled-in schemas
                self._send(200, b"", discovery.OPENAPI_V2_PROTOBUF)
                return
            answer = app.non_resource(url.path, query)
            if answer is not None:
                self._send(*answer)
                return
            parts = url.path.strip("/").split("/")
            target = parse_path(app.store.registry, parts) if parts[0] in ("api", "apis") and len(parts) > 2 \
                else None
            if target is None:
                raise errors.ApiError(404, f"the server could not find the requested resource ({url.path})")
            content_type = self.headers.get("Content-Type") or "application/json"
            if body:
                app.body_types[content_type.split(";")[0]] += 1
            status, result = app.operations.handle(self.command, target, query, body, content_type, user,
                                                   self.headers.get("Accept", ""))
            if isinstance(result, dict):
                self._send(status, result)
            elif isinstance(result, bytes):
                self._send(status, result, "text/plain")
            else:
                self._stream(result)
        except errors.ApiError as err:
            self._send(err.code, err.status())
        except Exception as err:  # pylint: disable=broad-except - a Status body, never a dropped connection
            LOG.error("internal error on %s %s: %s", self.command, self.path, traceback.format_exc())
            self._send(500, errors.ApiError(500, f"internal error: {err}").status())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app, cert, key):
        super().__init__(address, _Handler)
        self.app = app
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        context.set_alpn_protocols(["http/1.1"])
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = None

    @property
    def port(self):
        return self.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name="kube-api", daemon=True)
        self._thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address):  # clients that hang up mid-watch are normal
        pass
