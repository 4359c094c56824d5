"""The emulator's HTTPS server: the standard library's ThreadingHTTPServer behind TLS 1.2+.

Why the standard library: no extra dependency, threads suit the blocking work some requests do
(proxying to Orthanc, provisioning a data plane), and the traffic is a lab's, not production's.
"""
import json
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 512 * 1024 * 1024


class HttpError(Exception):
    """An answer other than success, in the shape of the part of Azure that raised it."""

    def __init__(self, status, code, message, headers=None, body=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        self.body = body

    def response(self):
        body = self.body if self.body is not None else {"error": {"code": self.code, "message": self.message}}
        return Response(self.status, body, self.headers)


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method
        parts = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parts.path)
        self.raw_path = parts.path
        self.query_string = parts.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.principal = None  # set once a token is verified: the request log records who asked

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        if not self.body:
            return None
        try:
            return json.loads(self.body, parse_constant=_no_constant)
        except RecursionError:  # nesting deep enough to exhaust the parser's stack: a client mistake, not a crash
            raise HttpError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                            "deserialized: it is nested too deeply.") from None
        except ValueError as err:
            raise HttpError(400, "InvalidRequestContent",
                            f"The request content was invalid and could not be deserialized: {err}") from err

    def json_object(self):
        """The body as a JSON object ({} when empty or null): a list or a scalar is the client's mistake, a 400."""
        value = self.json()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise HttpError(400, "InvalidRequestContent", "The request content was invalid: a JSON object is "
                            f"required, got {type(value).__name__}.")
        return value

    def form(self):
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(400, "invalid_request", "The request body is not UTF-8 form data.") from None
        return {k: v[-1] for k, v in urllib.parse.parse_qs(text).items()}


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON value")


class Response:
    def __init__(self, status, body=None, headers=None, content_type="application/json; charset=utf-8"):
        self.status = status
        self.headers = dict(headers or {})
        if body is None:
            self.data = b""
        elif isinstance(body, bytes):
            self.data = body
        else:
            self.data = json.dumps(body).encode("utf-8")
            self.headers.setdefault("Content-Type", content_type)


def _read_chunked(rfile):
    chunks = []
    total = 0
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise HttpError(413, "RequestEntityTooLarge", "request body too large")
        chunks.append(rfile.read(size))
        rfile.readline()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "medimaging-lab-azure"

    def setup(self):
        super().setup()
        self.connection.settimeout(120)
        self.connection.do_handshake()

    def log_message(self, *args):  # the JSONL request log replaces stderr noise
        pass

    def _handle(self):
        started = time.monotonic()
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise HttpError(413, "RequestEntityTooLarge", "request body too large")
                body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, self.path, headers, body)
            request.client_address = self.client_address[0]  # private endpoints: lab/azure/container_apps
        except HttpError as err:
            self._send(err.response())
            return
        except ValueError:  # a Content-Length or chunk size that is not a number
            self._send(HttpError(400, "InvalidRequestContent", "The request framing (Content-Length or chunk "
                                 "sizes) is invalid.").response())
            self.close_connection = True
            return
        try:
            response = self.server.app(request)
        except HttpError as err:
            response = err.response()
        except Exception as err:  # noqa: BLE001 - any bug becomes an ARM-shaped 500, logged
            self.server.app.log_exception(request, err)
            response = Response(500, {"error": {"code": "InternalServerError",
                                                "message": f"lab emulator error: {type(err).__name__}: {err}"}})
        self.server.app.log_request(request, response.status, time.monotonic() - started)
        self._send(response, head=self.command == "HEAD")

    def _send(self, response, head=False):
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.data)))
        self.send_header("x-ms-request-id", self.server.app.new_request_id())
        self.end_headers()
        if response.data and not head:
            self.wfile.write(response.data)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class LabHttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, app, cert, key):
        super().__init__(address, _Handler)
        self.app = app
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        # The handshake happens in the request thread (first read), so a slow client never blocks accept().
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):  # TLS resets from clients that gave up: not our problem
        pass

