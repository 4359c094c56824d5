"""The DICOMweb side of a lab DICOM service: STOW-RS through the conformance layer, everything else
(QIDO, WADO, delete) forwarded to the service's own Orthanc. Shared by the emulator's proxy (after its
token check) and by lab/azure/dicom_front.py (tests and benchmarks without the emulator)."""
import base64
import http.client
import json
import re

from lab.azure import dicom_conformance
from lab.proc import LOOPBACK

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "authorization", "content-length",
               "proxy-authorization", "te", "trailer", "upgrade", "forwarded", "x-forwarded-host",
               "x-forwarded-proto"}
_STOW_PATH = re.compile(r"studies(?:/([^/]+))?/?")


class OrthancDicomWeb:
    """One Orthanc (DICOMweb plugin at `root`, HTTP basic auth) on 127.0.0.1:port."""

    def __init__(self, port, user, password, root):
        self.port = port
        self.root = root  # e.g. /dicom/ws-svc/v2/
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _call(self, method, target, body=None, headers=None):
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=300)
        try:
            connection.request(method, target, body=body, headers=dict(headers or {},
                                                                       Authorization=self.authorization))
            answer = connection.getresponse()
            return answer.status, answer.read(), answer.getheaders()
        finally:
            connection.close()

    def store(self, data, _outcome):
        """POST /instances. True when stored, False when Orthanc already had it; raises otherwise."""
        status, body, _headers = self._call("POST", "/instances", data, {"Content-Type": "application/dicom"})
        if status != 200:
            raise RuntimeError(f"Orthanc answered {status}")
        return json.loads(body).get("Status") != "AlreadyStored"

    def forward(self, method, rest, query, headers, body, public_host):
        target = self.root + rest + (("?" + query) if query else "")
        headers = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        headers.update({"Host": public_host, "Forwarded": f"host={public_host};proto=https",
                        "X-Forwarded-Host": public_host, "X-Forwarded-Proto": "https"})
        if body:
            headers["Content-Length"] = str(len(body))
        status, data, answer_headers = self._call(method, target, body or None, headers)
        out = {k: v for k, v in answer_headers if k.lower() not in HOP_HEADERS and k.lower() != "www-authenticate"}
        return status, data, out


def serve(backend, method, rest, query, headers, body, public_host, base_url):
    """One DICOMweb request under .../v2/ (rest: the path after it). Returns (status, bytes, headers).
    base_url: the public .../v2 the RetrieveURLs start with."""
    match = _STOW_PATH.fullmatch(rest)
    if method == "POST" and match:
        status, answer = dicom_conformance.stow(
            headers.get("content-type", ""), headers.get("accept", ""), body, base_url, backend.store,
            study_in_path=match.group(1), content_length=len(body))
        if answer is None:
            return status, b"", {}
        if isinstance(answer, str):  # a refusal of the whole request: Azure's error shape
            return status, json.dumps({"error": {"code": "BadRequest" if status == 400 else str(status),
                                                 "message": answer}}).encode(), {"Content-Type": "application/json"}
        return status, json.dumps(answer).encode(), {"Content-Type": dicom_conformance.DICOM_JSON}
    return backend.forward(method, rest, query, headers, body, public_host)
