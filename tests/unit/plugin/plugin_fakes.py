"""Fakes for the plugin's unit tests: a clock, a recording HTTP server on 127.0.0.1, an Orthanc API."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from fakes_common import FakeClock, FixedRandom  # noqa: F401 (the plugin's tests import them from here)


class RecordingServer:
    """HTTP server on 127.0.0.1 that records requests and answers from a queue of (status, json)."""

    def __init__(self):
        self.requests = []
        self.answers = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                recorder.requests.append({
                    "method": self.command, "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "form": {k: v[0] for k, v in parse_qs(body).items()}, "body": body})
                status, payload = recorder.answers.pop(0) if recorder.answers else (500, {"error": "no answer queued"})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeOrthancApi:
    """Records PUT/POST; answers GET /plugins and /system; POST answers come from `post_answers`."""

    def __init__(self, plugins=("dicom-web", "python")):
        self.plugins = list(plugins)
        self.puts = []
        self.posts = []
        self.post_answers = []
        self.fail_puts = 0

    def get_json(self, uri):
        if uri == "/plugins":
            return self.plugins
        if uri == "/system":
            return {"Version": "1.10.1", "ApiVersion": 18}
        raise ValueError("unexpected GET " + uri)

    def put(self, uri, body):
        if self.fail_puts:
            self.fail_puts -= 1
            raise ValueError("Internal error")
        self.puts.append((uri, json.loads(body)))
        return b"{}"

    def post(self, uri, body):
        self.posts.append((uri, json.loads(body)))
        answer = self.post_answers.pop(0) if self.post_answers else b"[]"
        if isinstance(answer, Exception):
            raise answer
        return answer
