"""STOW-RS sent by the router itself, for what Orthanc's DICOMweb client cannot do: send bytes that are not
stored in Orthanc (a transcoded copy) and read the answer per instance. Orthanc's client keeps the answer to
itself on both lines (seen in the lab on 1.10.1 and 1.12.7 against a 202 and a 409): the synchronous call fails
with "Error encountered within the plugin engine", the job with FunctionErrorCode 9 (as for a connection error)
and no ErrorDetails; 1.12 only adds the ids sent (Content.Resources). tests/unit/router/
test_stow_answer_client_lines.py holds the recorded answers.

The request carries what Orthanc's own client would: the server's URL and headers from Orthanc's
configuration (DicomWeb.Servers), or the DicomWebOAuth server's URL and current bearer token; TLS is
verified against Orthanc's HttpsCACertificates when set, else the system store.
"""

import base64
import uuid

from ..http_client import HttpError
from ..log import redact
from .errors import DestinationDown
from .stow_answer import per_instance


class RequestRefused(Exception):
    """The destination refused the whole request (400, 406, 413, 415): nothing in it can be stored as sent."""


def static_server(orthanc_config, name):
    """(url, headers) of DicomWeb.Servers[name] as Orthanc's client sends them; None if not configured."""
    entry = ((orthanc_config.get("DicomWeb") or {}).get("Servers") or {}).get(name)
    if isinstance(entry, list) and entry:  # ["url", "user", "password"]
        entry = {"Url": entry[0], "Username": entry[1] if len(entry) > 2 else None,
                 "Password": entry[2] if len(entry) > 2 else None}
    if not isinstance(entry, dict) or not isinstance(entry.get("Url"), str):
        return None
    headers = dict(entry.get("HttpHeaders") or {})
    if entry.get("Username"):
        pair = "%s:%s" % (entry["Username"], entry.get("Password") or "")
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return entry["Url"], headers


def registered_url(api, root, name):
    """The Url Orthanc's DICOMweb client uses now for server `name` ({Root}servers?expand lists it with the
    header names only); None when Orthanc does not say."""
    try:
        entry = (api.get_json(root + "servers?expand") or {}).get(name)
    except Exception:
        return None
    return entry.get("Url") if isinstance(entry, dict) else None


def configured_server(orthanc_config, api, root, name):
    """static_server(), but only while Orthanc still uses that Url: a server replaced at runtime
    (PUT {Root}servers/NAME) has headers the router cannot read, so it is not reached directly."""
    configured = static_server(orthanc_config, name)
    if configured is None:
        return None
    current = registered_url(api, root, name)
    if current is not None and current.rstrip("/") != configured[0].rstrip("/"):
        return None
    return configured


class DirectStow:
    """send([(SOPInstanceUID, bytes)]) -> {SOPInstanceUID: 0 | failure code}."""

    def __init__(self, http, server, resolve, ca_bundle=None):
        self.http = http
        self.server = server
        self.resolve = resolve  # () -> (base url, headers or None while no token is valid) or None: unknown
        self.ca_bundle = ca_bundle

    def available(self):
        return self.resolve() is not None

    def send(self, files):
        target = self.resolve()
        if target is None:
            raise DestinationDown("%s: no URL or credentials known to send STOW-RS directly" % self.server)
        url, headers = target
        if headers is None:
            raise DestinationDown("%s: no valid token yet for STOW-RS" % self.server)
        boundary = uuid.uuid4().hex
        chunks = []
        for _uid, data in files:
            chunks += [b"--", boundary.encode(), b"\r\nContent-Type: application/dicom\r\n\r\n", data, b"\r\n"]
        chunks += [b"--", boundary.encode(), b"--\r\n"]
        headers = dict(headers, Accept="application/dicom+json",
                       **{"Content-Type": 'multipart/related; type="application/dicom"; boundary=' + boundary})
        try:
            answer = self.http.request("POST", url.rstrip("/") + "/studies", headers=headers, data=b"".join(chunks),
                                       ca_bundle=self.ca_bundle)
        except HttpError as exc:
            raise DestinationDown("%s: STOW-RS did not get an answer: %s" % (self.server, redact(exc))) from None
        status = answer.status_code
        if status in (200, 202, 409):
            try:
                body = answer.json()
            except ValueError:
                body = {}
            return per_instance(body, [uid for uid, _data in files])
        if status in (400, 406, 413, 415):
            raise RequestRefused("%s answered HTTP %d to STOW-RS: %s"
                                 % (self.server, status, redact(answer.content[:300].decode("utf-8", "replace"))))
        raise DestinationDown("%s answered HTTP %d to STOW-RS" % (self.server, status))
