"""A lab DICOM service without the emulator: the same conformance layer and forwarding as the emulator's
DICOM service (lab/azure/dicom_backend.py) on plain HTTP at 127.0.0.1, in front of an Orthanc the caller
started (DicomWeb.Root "/dicom-web/"). For the router's integration tests and benchmarks, which need Azure's
STOW rules but not ARM or Entra ID. `token`, when given, is the bearer every request must carry.

  front = DicomFront(orthanc_port, ("user", "password") or None, token="t").start()
  front.url -> http://127.0.0.1:PORT/v2/    stats: {"stow_requests": n, "failure_reasons": {code: n}, "warned": n}

failure_reasons counts instances, each once per reason: the router sends a batch Orthanc's client saw refused
again itself to read the reasons, and that is still one refused instance.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.azure.dicom_backend import OrthancDicomWeb, serve
from lab.azure.dicom_changefeed import ChangeFeed
from lab.azure.web import HttpError, _read_chunked as read_chunked  # the emulator's reader, one copy
from lab.proc import LOOPBACK


class DicomFront:
    def __init__(self, orthanc_port, auth=None, token=None, root="/dicom-web/"):
        user, password = auth or ("none", "none")
        self.backend = OrthancDicomWeb(orthanc_port, user, password, root)
        self.token = token
        self.feed = ChangeFeed()  # in memory: the front lives as long as its test
        self.stats = {"stow_requests": 0, "failure_reasons": {}, "warned": 0}
        self._refused = set()  # (SOPInstanceUID, FailureReason) already counted
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # Orthanc's DICOMweb client
                    try:
                        body = read_chunked(self.rfile)
                    except HttpError:
                        self.send_error(413)
                        return
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                status, data, headers = front.answer(self.command, self.path, {k.lower(): v for k, v in
                                                                              self.headers.items()}, body)
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://%s:%d/v2/" % (LOOPBACK, self.httpd.server_address[1])

    def answer(self, method, target, headers, body):
        path, _, query = target.partition("?")
        if not path.startswith("/v2/"):
            return 404, b'{"error": "DICOMweb lives under /v2/"}', {"Content-Type": "application/json"}
        if self.token and headers.get("authorization") != "Bearer " + self.token:
            return 401, b'{"error": "a valid bearer token is required"}', {"Content-Type": "application/json"}
        status, data, out = serve(self.backend, method, path[len("/v2/"):], query, headers, body,
                                  "%s:%d" % (LOOPBACK, self.httpd.server_address[1]), self.url.rstrip("/"),
                                  feed=self.feed)
        if method in ("POST", "PUT") and out.get("Content-Type") == "application/dicom+json":
            self._count(data)
        return status, data, out

    def _count(self, data):
        answer = json.loads(data)
        failed = answer.get("00081198", {}).get("Value", [])
        warned = [item for item in answer.get("00081199", {}).get("Value", []) if "00081196" in item]
        with self._lock:
            self.stats["stow_requests"] += 1
            self.stats["warned"] += len(warned)
            for item in failed:
                code = str(item["00081197"]["Value"][0])
                key = ((item.get("00081155", {}).get("Value") or [None])[0], code)
                if key[0] is not None and key in self._refused:
                    continue
                self._refused.add(key)
                self.stats["failure_reasons"][code] = self.stats["failure_reasons"].get(code, 0) + 1

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
