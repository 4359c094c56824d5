"""Restore against a fake Blob server on 127.0.0.1: MD5 refusal, skips, counts, headers, no secrets out."""
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from medimaging_plugin.archive import rest
from medimaging_plugin.archive.blob import BearerCredential, BlobError, BlobReader
from medimaging_plugin.archive.feature import ArchiveFeature
from medimaging_plugin.archive.manifest import SCHEMA
from medimaging_plugin.metrics_core import Registry
from medimaging_plugin.tokens.model import Token, TokenError

STUDY, SERIES = "1.2.840.99.1", "1.2.840.99.1.1"
SAS = "sv=2025-11-05&sr=c&sp=r&sig=TOPSECRETSIGNATURE"


def md5(data):
    return hashlib.md5(data).hexdigest()  # noqa: S324


class FakeBlobServer:
    """Serves {name: bytes} under /acct/archive/; records (path, query, headers) of each GET."""

    def __init__(self):
        self.blobs, self.requests = {}, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                fake.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
                name = parts.path[len("/acct/archive/"):]
                data = fake.blobs.get(name)
                if data is None:
                    self.send_response(404)
                    self.send_header("x-ms-error-code", "BlobNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def container_url(self):
        return "http://127.0.0.1:%d/acct/archive" % self.httpd.server_address[1]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeOrthanc:
    """OrthancArchiveApi stand-in: instances by SOP; store() records what it was given."""

    def __init__(self):
        self.present = {}  # sop -> md5
        self.stored = []

    def study_ids(self, uid):
        return ["study-1"] if self.present else []

    def instances(self, study_id):
        return [{"ID": "i-" + sop, "MainDicomTags": {"SOPInstanceUID": sop}} for sop in self.present]

    def instance_md5(self, instance_id):
        if instance_id.startswith("stored-"):
            return md5(self.stored[int(instance_id.split("-")[1])])
        return self.present.get(instance_id[2:])

    def store(self, data):
        self.stored.append(bytes(data))
        return {"ID": "stored-%d" % (len(self.stored) - 1), "Status": "Success"}


@pytest.fixture
def server():
    fake = FakeBlobServer()
    yield fake
    fake.stop()


def publish(server, count=3, study=STUDY):
    files = {"%s.%d" % (SERIES, n): b"DICM-fake-%d-" % n + bytes(range(256)) * (n + 1) for n in range(count)}
    instances = []
    for sop, data in files.items():
        blob = "%s/%s/%s.dcm" % (study, SERIES, sop)
        server.blobs[blob] = data
        instances.append({"SeriesInstanceUID": SERIES, "SOPInstanceUID": sop, "blob": blob, "size": len(data),
                          "md5": md5(data)})
    manifest = {"schema": SCHEMA, "StudyInstanceUID": study, "instance_count": count, "instances": instances}
    server.blobs[study + "/manifest.json"] = json.dumps(manifest).encode()
    return files


def make_feature(server, orthanc, registry=None):
    config = {"MedimagingArchive": {"ContainerUrl": server.container_url, "SasTokenEnv": "ARCHIVE_SAS",
                                    "ApiVersion": "2025-11-05", "Concurrency": 2}}
    feature = ArchiveFeature.from_config(orthanc, config, {"ARCHIVE_SAS": "?" + SAS},
                                         registry=registry or Registry())
    feature.start()
    assert feature.state == "running", feature.error
    return feature


def post(feature, body):
    handler = dict(rest.routes(feature))[r"/medimaging/archive/restore"]
    status, content_type, payload = handler("POST", [], json.dumps(body).encode())
    assert content_type == "application/json"
    return status, json.loads(payload)


def test_restore_counts_headers_and_metrics(server):
    files = publish(server)
    orthanc, registry = FakeOrthanc(), Registry()
    feature = make_feature(server, orthanc, registry)
    status, answer = post(feature, {"StudyInstanceUID": STUDY})
    assert status == 200, answer
    assert (answer["restored"], answer["already_present"], answer["failed"]) == (3, 0, 0)
    assert answer["bytes"] == sum(len(d) for d in files.values())
    assert sorted(orthanc.stored) == sorted(files.values())
    for path, query, headers in server.requests:
        assert headers["x-ms-version"] == "2025-11-05" and query["sig"] == ["TOPSECRETSIGNATURE"]
    assert server.requests[0][0] == "/acct/archive/%s/manifest.json" % STUDY
    assert registry.get_sample_value("medimaging_archive_restores_total", {"result": "ok"}) == 1
    assert registry.get_sample_value("medimaging_archive_restored_bytes_total") == answer["bytes"]
    status_text = json.dumps(feature.status())
    assert "TOPSECRET" not in json.dumps(answer) and "TOPSECRET" not in status_text

    # second time: everything is already present, nothing fetched but the manifest
    orthanc.present = {sop: md5(data) for sop, data in files.items()}
    before = len(server.requests)
    status, again = post(feature, {"StudyInstanceUID": STUDY})
    assert status == 200 and (again["restored"], again["already_present"], again["failed"]) == (0, 3, 0)
    assert len(server.requests) == before + 1


def test_blob_with_wrong_md5_is_never_stored(server, caplog):
    files = publish(server)
    tampered = "%s/%s/%s.1.dcm" % (STUDY, SERIES, SERIES)
    server.blobs[tampered] = server.blobs[tampered][:-1] + b"X"
    orthanc = FakeOrthanc()
    status, answer = post(make_feature(server, orthanc), {"StudyInstanceUID": STUDY})
    assert status == 502 and (answer["restored"], answer["failed"]) == (2, 1)
    assert answer["errors"][0]["blob"] == tampered and "refused, not stored" in answer["errors"][0]["error"]
    assert server.blobs[tampered] not in orthanc.stored and len(orthanc.stored) == 2
    assert files["%s.1" % SERIES] not in orthanc.stored
    assert "TOPSECRET" not in caplog.text


def test_local_instance_with_other_md5_is_not_overwritten_and_missing_blob_fails(server):
    files = publish(server)
    del server.blobs["%s/%s/%s.2.dcm" % (STUDY, SERIES, SERIES)]
    orthanc = FakeOrthanc()
    orthanc.present = {"%s.0" % SERIES: "0" * 32}
    status, answer = post(make_feature(server, orthanc), {"StudyInstanceUID": STUDY})
    assert status == 502 and (answer["restored"], answer["already_present"], answer["failed"]) == (1, 0, 2)
    reasons = sorted(e["error"] for e in answer["errors"])
    assert "does not exist" in reasons[0] and "not overwritten" in reasons[1]
    assert orthanc.stored == [files["%s.1" % SERIES]]


def test_bad_requests_and_missing_manifest(server):
    feature = make_feature(server, FakeOrthanc())
    for body in ({}, {"StudyInstanceUID": "1.2/../../x"}, {"StudyInstanceUID": "1.2?comp=list"}, ["1.2"]):
        status, answer = post(feature, body)
        assert status == 400 and "DICOM UID" in answer["error"]
    assert not server.requests  # an invalid UID never reaches a URL
    status, answer = post(feature, {"StudyInstanceUID": "1.2.3"})
    assert status == 404 and answer["result"] == "not_found"
    handler = dict(rest.routes(feature))[r"/medimaging/archive/restore"]
    assert handler("GET", [], b"")[0] == 405


def test_tampered_manifest_pointing_elsewhere_is_refused(server):
    publish(server)
    manifest = json.loads(server.blobs[STUDY + "/manifest.json"])
    manifest["instances"][0]["blob"] = "9.9/1/1.dcm"
    server.blobs[STUDY + "/manifest.json"] = json.dumps(manifest).encode()
    orthanc = FakeOrthanc()
    status, answer = post(make_feature(server, orthanc), {"StudyInstanceUID": STUDY})
    assert status == 502 and answer["result"] == "error" and not orthanc.stored
    assert len(server.requests) == 1


def test_bearer_credential_caches_and_renews():
    class Provider:
        calls = 0

        def acquire(self, now):
            Provider.calls += 1
            return Token(value="tok-%d" % Provider.calls, obtained_at=now, expires_at=now + 600)

    clock = [1000.0]
    credential = BearerCredential(Provider(), clock=lambda: clock[0])
    headers = {}
    credential.apply(headers)
    credential.apply(headers)
    assert headers["Authorization"] == "Bearer tok-1" and Provider.calls == 1
    clock[0] += 500  # inside the renewal margin
    credential.apply(headers)
    assert headers["Authorization"] == "Bearer tok-2"


def test_bearer_credential_keeps_a_valid_token_when_renewal_fails_and_short_tokens_are_reused():
    class Provider:
        calls, down, lifetime = 0, False, 600

        def acquire(self, now):
            Provider.calls += 1
            if Provider.down:
                raise TokenError("cannot reach https://login.example/token: ConnectionRefusedError", permanent=False)
            return Token(value="tok-%d" % Provider.calls, obtained_at=now, expires_at=now + Provider.lifetime)

    clock = [1000.0]
    credential = BearerCredential(Provider(), clock=lambda: clock[0])
    assert credential.token() == "tok-1"
    Provider.down = True
    clock[0] += 500  # renewal due (120 s margin), endpoint down, token valid for 100 s more
    assert credential.token() == "tok-1" and Provider.calls == 2
    clock[0] += 5  # within RETRY_SECONDS: no new attempt
    assert credential.token() == "tok-1" and Provider.calls == 2
    clock[0] += 10
    assert credential.token() == "tok-1" and Provider.calls == 3
    clock[0] = 1000.0 + 600 - 5  # about to expire: refused rather than sent with a token that lapses
    with pytest.raises(BlobError, match="cannot get a storage token: cannot reach"):
        credential.token()
    Provider.down, Provider.lifetime = False, 60  # short-lived tokens: renewed at half their life, not per call
    clock[0] = 5000.0
    first = credential.token()
    clock[0] += 20
    assert credential.token() == first
    clock[0] += 15
    assert credential.token() != first


def test_bearer_reader_sends_token_without_query(server):
    server.blobs["x/manifest.json"] = b"{}"

    class Static:
        def acquire(self, now):
            return Token(value="abc.def.ghi", obtained_at=now, expires_at=now + 3600)

    reader = BlobReader(server.container_url, BearerCredential(Static()), "2025-11-05")
    data, _ = reader.get("x/manifest.json")
    path, query, headers = server.requests[-1]
    assert data == b"{}" and query == {} and headers["Authorization"] == "Bearer abc.def.ghi"
