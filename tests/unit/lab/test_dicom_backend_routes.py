"""The lab DICOM service's routes over a stand-in Orthanc (a dict): PUT upserts instead of 45070, DELETE and
STOW feed the change feed, QIDO limits answer 400 before Orthanc, the rest is forwarded."""
import json

import pydicom

from lab.azure import dicom_backend
from lab.azure.dicom_changefeed import ChangeFeed
from lab.dicom_factory import make_dataset, to_bytes

BASE = "https://lab/dicom/ws-svc/v2"
CT = 'multipart/related; type="application/dicom"; boundary=b0'
HEADERS = {"content-type": CT, "accept": "application/dicom+json"}


def multipart(*parts):
    body = b"".join(b"--b0\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts)
    return body + b"--b0--\r\n"


class Orthanc:
    """Instances by SOP Instance UID, as Orthanc would keep them."""

    def __init__(self):
        self.files, self.forwarded = {}, []

    def store(self, data, outcome):
        if outcome.sop_uid in self.files:
            return False
        self.files[outcome.sop_uid] = (outcome.study_uid, outcome.series_uid, data)
        return True

    def upsert(self, data, outcome):
        self.files[outcome.sop_uid] = (outcome.study_uid, outcome.series_uid, data)
        return True

    def delete(self, study, series=None, sop=None):
        gone = [(st, se, uid) for uid, (st, se, _d) in self.files.items()
                if st == study and series in (None, se) and sop in (None, uid)]
        for item in gone:
            del self.files[item[2]]
        return gone

    def forward(self, method, rest, query, headers, body, public_host):
        self.forwarded.append((method, rest, query))
        return 200, b"[]", {"Content-Type": "application/dicom+json"}


def call(orthanc, feed, method, rest, body=b"", query=""):
    status, data, _headers = dicom_backend.serve(orthanc, method, rest, query, HEADERS, body, "lab", BASE, feed=feed)
    return status, (json.loads(data) if data else None)


def test_put_replaces_what_post_calls_already_stored_and_the_feed_shows_it():
    orthanc, feed = Orthanc(), ChangeFeed()
    first = make_dataset(patient_name="BEFORE")
    again = pydicom.dcmread(__import__("io").BytesIO(to_bytes(first)))
    again.PatientName = "AFTER"
    assert call(orthanc, feed, "POST", "studies", multipart(to_bytes(first)))[0] == 200
    status, body = call(orthanc, feed, "POST", "studies", multipart(to_bytes(again)))
    assert status == 409 and body["00081198"]["Value"][0]["00081197"]["Value"] == [45070]
    status, body = call(orthanc, feed, "PUT", "studies/" + first.StudyInstanceUID, multipart(to_bytes(again)))
    assert status == 200 and "00081198" not in body and body["00081190"]["Value"][0].endswith(first.StudyInstanceUID)
    assert b"AFTER" in orthanc.files[first.SOPInstanceUID][2]
    entries = feed.read()
    assert [(e["Action"], e["State"]) for e in entries] == [("create", "replaced"), ("create", "current")]
    assert entries[1]["Metadata"]["00100010"]["Value"] == [{"Alphabetic": "AFTER"}]


def test_put_follows_the_stow_rules():
    orthanc, feed = Orthanc(), ChangeFeed()
    other = make_dataset()
    status, body = call(orthanc, feed, "PUT", "studies/1.2.3", multipart(to_bytes(other)))
    assert status == 409 and body["00081198"]["Value"][0]["00081197"]["Value"] == [43265]
    assert orthanc.files == {} and feed.latest() is None


def test_delete_records_each_instance_and_a_missing_one_is_404():
    orthanc, feed = Orthanc(), ChangeFeed()
    study = make_dataset()
    second = make_dataset(study_uid=study.StudyInstanceUID, series_uid=study.SeriesInstanceUID)
    call(orthanc, feed, "POST", "studies", multipart(to_bytes(study), to_bytes(second)))
    path = "studies/%s/series/%s/instances/%s" % (study.StudyInstanceUID, study.SeriesInstanceUID,
                                                  study.SOPInstanceUID)
    assert call(orthanc, feed, "DELETE", path) == (204, None)
    assert call(orthanc, feed, "DELETE", path)[0] == 404
    assert call(orthanc, feed, "DELETE", "studies/" + study.StudyInstanceUID)[0] == 204
    assert call(orthanc, feed, "DELETE", "studies/1.2_3")[0] == 400
    assert [(e["Action"], e["SopInstanceUid"], e["State"]) for e in feed.read()] == [
        ("create", study.SOPInstanceUID, "deleted"), ("create", second.SOPInstanceUID, "deleted"),
        ("delete", study.SOPInstanceUID, "deleted"), ("delete", second.SOPInstanceUID, "deleted")]


def test_changefeed_routes_and_qido_limits():
    orthanc, feed = Orthanc(), ChangeFeed()
    assert call(orthanc, feed, "GET", "changefeed/latest") == (204, None)
    assert call(orthanc, feed, "GET", "changefeed", query="limit=500")[0] == 400
    call(orthanc, feed, "POST", "studies", multipart(to_bytes(make_dataset())))
    status, latest = call(orthanc, feed, "GET", "changefeed/latest", query="includeMetadata=false")
    assert status == 200 and latest["Sequence"] == 1 and "Metadata" not in latest
    status, body = call(orthanc, None, "GET", "studies", query="limit=201")
    assert status == 400 and "between 1 and 200" in body["error"]["message"] and orthanc.forwarded == []
    assert call(orthanc, None, "GET", "studies", query="PatientID=P1")[0] == 200
    assert orthanc.forwarded == [("GET", "studies", "PatientID=P1&limit=100")]
    assert call(orthanc, None, "GET", "changefeed")[0] == 404  # a service without a feed says so


def test_an_instance_pydicom_cannot_write_as_json_is_stored_and_fed_without_metadata(monkeypatch):
    def broken(self, **kwargs):
        raise ValueError("cannot write this data set as JSON")
    monkeypatch.setattr(pydicom.Dataset, "to_json_dict", broken)
    orthanc, feed = Orthanc(), ChangeFeed()
    assert call(orthanc, feed, "POST", "studies", multipart(to_bytes(make_dataset())))[0] == 200
    assert len(orthanc.files) == 1 and feed.latest()["Metadata"] is None
