"""The DICOMweb side of a lab DICOM service: STOW-RS (POST) and its upsert (PUT) through the conformance layer,
QIDO-RS through Azure's query limits (dicom_qido), DELETE of a study, series or instance, the change feed
(dicom_changefeed) that records every create and delete; everything else (WADO) forwarded to the service's own
Orthanc. Shared by the emulator's proxy (after its token check) and by lab/azure/dicom_front.py (tests and
benchmarks without the emulator)."""
import base64
import http.client
import json
import re
from urllib.parse import parse_qsl, quote

from lab.azure import dicom_changefeed, dicom_conformance, dicom_qido
from lab.proc import LOOPBACK

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "authorization", "content-length",
               "proxy-authorization", "te", "trailer", "upgrade", "forwarded", "x-forwarded-host",
               "x-forwarded-proto"}
_STOW_PATH = re.compile(r"studies(?:/([^/]+))?/?")
_DELETE_PATH = re.compile(r"studies/([^/]+)(?:/series/([^/]+)(?:/instances/([^/]+))?)?/?")
_JSON = {"Content-Type": "application/json"}


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

    def upsert(self, data, outcome):
        """Store, replacing an instance with the same SOP Instance UID. Always True (stored)."""
        for orthanc_id in self.lookup(outcome.sop_uid, "Instance"):
            status, _body, _headers = self._call("DELETE", "/instances/" + orthanc_id)
            if status not in (200, 404):
                raise RuntimeError(f"Orthanc answered {status} to deleting the instance being replaced")
        if not self.store(data, outcome):
            raise RuntimeError("Orthanc kept the instance being replaced")
        return True

    def lookup(self, uid, level):
        """Orthanc ids of the resources of `level` (Study, Series, Instance) with that DICOM UID."""
        status, body, _headers = self._call("POST", "/tools/lookup", uid.encode())
        if status != 200:
            raise RuntimeError(f"Orthanc answered {status} to /tools/lookup")
        return [item["ID"] for item in json.loads(body) if item.get("Type") == level]

    def instances_under(self, study, series=None, sop=None):
        """[(study, series, sop)] Orthanc holds under a study, series or instance."""
        path = "studies/%s/instances" % quote(study) if series is None else \
            "studies/%s/series/%s/instances" % (quote(study), quote(series))
        status, body, _headers = self._call("GET", self.root + path + "?includefield=0020000E,00080018",
                                            headers={"Accept": "application/dicom+json"})
        if status == 204 or status == 404 or not body.strip():
            return []
        if status != 200:
            raise RuntimeError(f"Orthanc answered {status} to QIDO-RS")
        found = [(study, _first(item, "0020000E"), _first(item, "00080018")) for item in json.loads(body)]
        return [item for item in found if (series is None or item[1] == series) and (sop is None or item[2] == sop)]

    def delete(self, study, series=None, sop=None):
        """Delete a study, series or instance. Returns [(study, series, sop)] deleted."""
        found = self.instances_under(study, series, sop)
        for _study, _series, uid in found:
            for orthanc_id in self.lookup(uid, "Instance"):
                self._call("DELETE", "/instances/" + orthanc_id)
        return found

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


def _first(item, tag):
    values = (item.get(tag) or {}).get("Value") or [None]
    return values[0]


def _error(status, message):
    code = {400: "BadRequest", 404: "NotFound"}.get(status, str(status))
    return status, json.dumps({"error": {"code": code, "message": message}}).encode(), dict(_JSON)


def _recording(store, feed):
    """store(), plus a change-feed entry for every instance it stored."""
    if feed is None:
        return store

    def record(data, outcome):
        stored = store(data, outcome)
        if stored:
            feed.record("create", outcome.study_uid, outcome.series_uid, outcome.sop_uid, _metadata(outcome))
        return stored
    return record


def _metadata(outcome):
    """The instance's DICOM JSON for the feed; None when pydicom cannot write it (the instance is stored all the
    same: a feed entry must never turn a stored instance into a failure)."""
    try:
        return outcome.dataset.to_json_dict(suppress_invalid_tags=True) if outcome.dataset is not None else None
    except Exception:  # pylint: disable=broad-except
        return None


def _changefeed(feed, rest, query):
    if feed is None:
        return _error(404, "This DICOM service keeps no change feed.")
    params = dict(parse_qsl(query, keep_blank_values=True))
    try:
        if rest.rstrip("/") == "changefeed/latest":
            include = dicom_changefeed.parse_query(
                {k: v for k, v in params.items() if k.lower() == "includemetadata"})["include_metadata"]
            latest = feed.latest(include)
            return (204, b"", {}) if latest is None else (200, json.dumps(latest).encode(), dict(_JSON))
        return 200, json.dumps(feed.read(**dicom_changefeed.parse_query(params))).encode(), dict(_JSON)
    except dicom_changefeed.FeedQueryError as refused:
        return _error(400, str(refused))


def _delete(backend, feed, match):
    study, series, sop = match.groups()
    for uid in (u for u in (study, series, sop) if u is not None):
        if not dicom_conformance.valid_uid(uid):
            return _error(400, "The identifier '%s' does not conform to the UID format." % uid)
    deleted = backend.delete(study, series, sop)
    if not deleted:
        level = "instance" if sop else "series" if series else "study"
        return _error(404, "The specified %s cannot be found." % level)
    for item in deleted:
        if feed is not None:
            feed.record("delete", *item)
    return 204, b"", {}


def serve(backend, method, rest, query, headers, body, public_host, base_url, feed=None):
    """One DICOMweb request under .../v2/ (rest: the path after it). Returns (status, bytes, headers).
    base_url: the public .../v2 the RetrieveURLs start with; feed: the service's ChangeFeed, or None."""
    if method == "GET" and rest.rstrip("/") in ("changefeed", "changefeed/latest"):
        return _changefeed(feed, rest, query)
    match = _STOW_PATH.fullmatch(rest)
    if method in ("POST", "PUT") and match:
        store = backend.upsert if method == "PUT" else backend.store
        status, answer = dicom_conformance.stow(
            headers.get("content-type", ""), headers.get("accept", ""), body, base_url, _recording(store, feed),
            study_in_path=match.group(1), content_length=len(body))
        if answer is None:
            return status, b"", {}
        if isinstance(answer, str):  # a refusal of the whole request: Azure's error shape
            return _error(status, answer)
        return status, json.dumps(answer).encode(), {"Content-Type": dicom_conformance.DICOM_JSON}
    match = _DELETE_PATH.fullmatch(rest)
    if method == "DELETE" and match:
        return _delete(backend, feed, match)
    if dicom_qido.is_search(method, rest):
        try:
            query = dicom_qido.check(rest, query)
        except dicom_qido.QueryRefused as refused:
            return _error(400, str(refused))
    return backend.forward(method, rest, query, headers, body, public_host)
