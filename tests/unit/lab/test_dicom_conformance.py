"""The lab DICOM service's STOW-RS rules (Azure conformance statement v2), without any server."""
import io

import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from lab.azure import dicom_conformance as dc
from lab.dicom_factory import make_dataset, make_instance, to_bytes

BASE = "https://lab/dicom/ws-svc/v2"
CT = 'multipart/related; type="application/dicom"; boundary=b0undary'


def multipart(*parts, boundary="b0undary", part_type="application/dicom"):
    body = b""
    for part in parts:
        body += b"--" + boundary.encode() + b"\r\nContent-Type: " + part_type.encode() + b"\r\n\r\n" + part + b"\r\n"
    return body + b"--" + boundary.encode() + b"--\r\n"


def encoded(syntax, **changes):
    ds = make_dataset(**{k: v for k, v in changes.items() if k in ("patient_id", "study_uid")})
    for keyword, value in changes.items():
        if keyword[0].isupper():
            if value is None:
                delattr(ds, keyword)
            else:
                setattr(ds, keyword, value)
    ds.file_meta.TransferSyntaxUID = syntax
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True, little_endian=syntax != ExplicitVRBigEndian,
               implicit_vr=syntax == ImplicitVRLittleEndian)
    return buffer.getvalue()


class Store:
    def __init__(self):
        self.files = {}

    def __call__(self, data, outcome):
        if outcome.sop_uid in self.files:
            return False
        self.files[outcome.sop_uid] = data
        return True


def failures(body):
    return [(item["00081155"].get("Value", [None])[0], item["00081197"]["Value"][0])
            for item in body.get("00081198", {}).get("Value", [])]


def test_all_stored_is_200_with_retrieve_urls_and_a_zeroed_preamble():
    first, second = make_instance(), make_instance()
    first = b"\x01" * 128 + first[128:]  # a preamble someone filled (dual-format files do)
    store = Store()
    status, body = dc.stow(CT, "application/dicom+json", multipart(first, second), BASE, store)
    assert status == 200 and "00081198" not in body and "00081190" not in body  # no study in the path
    urls = [item["00081190"]["Value"][0] for item in body["00081199"]["Value"]]
    assert len(urls) == 2 and all(url.startswith(BASE + "/studies/") for url in urls)
    assert all(data[:128] == bytes(128) and data[128:132] == b"DICM" for data in store.files.values())


def test_each_refused_instance_gets_its_reason_and_the_rest_is_stored():
    good = make_instance()
    implicit = encoded(ImplicitVRLittleEndian)
    no_patient = encoded("1.2.840.10008.1.2.1", PatientID=None)
    bad_uid = encoded("1.2.840.10008.1.2.1", SOPInstanceUID="1.2.3_4")
    long_uid = encoded("1.2.840.10008.1.2.1", SeriesInstanceUID="1." + "2" * 64)
    store = Store()
    status, body = dc.stow(CT, None, multipart(good, implicit, no_patient, bad_uid, long_uid), BASE, store)
    assert status == 202
    assert [code for _uid, code in failures(body)] == [dc.VALIDATION_FAILED] * 4
    assert failures(body)[2][0] == "1.2.3_4"  # the failed instance is named as it was sent
    assert len(body["00081199"]["Value"]) == 1 and len(store.files) == 1


def test_empty_patient_id_and_big_endian_are_accepted_as_the_statement_says():
    empty_patient = encoded("1.2.840.10008.1.2.1", PatientID="")
    big_endian = encoded(ExplicitVRBigEndian)
    status, body = dc.stow(CT, "*/*", multipart(empty_patient, big_endian), BASE, Store())
    assert status == 200, body


def test_duplicates_are_45070_and_none_stored_is_409():
    data = make_instance()
    store = Store()
    assert dc.stow(CT, None, multipart(data), BASE, store)[0] == 200
    status, body = dc.stow(CT, None, multipart(data), BASE, store)
    assert status == 409 and [code for _uid, code in failures(body)] == [dc.ALREADY_STORED]


def test_study_in_the_path_refuses_other_studies_with_43265_and_gives_the_study_url():
    study = "1.2.826.0.1.3680043.8.498.1"
    inside, outside = make_instance(study_uid=study), make_instance()
    status, body = dc.stow(CT, None, multipart(inside, outside), BASE, Store(), study_in_path=study)
    assert status == 202 and [code for _uid, code in failures(body)] == [dc.STUDY_MISMATCH]
    assert body["00081190"]["Value"] == [f"{BASE}/studies/{study}"]


def test_unreadable_parts_and_store_failures_are_processing_failures():
    def broken_store(data, outcome):
        raise RuntimeError("disk full")

    status, body = dc.stow(CT, None, multipart(b"not dicom at all"), BASE, Store())
    assert status == 409 and failures(body) == [(None, dc.PROCESSING_FAILURE)]
    status, body = dc.stow(CT, None, multipart(make_instance()), BASE, broken_store)
    assert status == 409 and [code for _uid, code in failures(body)] == [dc.PROCESSING_FAILURE]


@pytest.mark.parametrize("content_type,accept,study,length,status", [
    ("application/json", None, None, 10, 415),
    ('multipart/related; type="application/dicom+json"; boundary=x', None, None, 10, 415),
    ("multipart/related; boundary=b0undary", "application/dicom+xml", None, 10, 406),
    (CT, None, "not_a_uid", 10, 400),
    (CT, None, None, 5 * 1024 ** 3, 413),
])
def test_whole_request_refusals(content_type, accept, study, length, status):
    answer = dc.stow(content_type, accept, multipart(make_instance()), BASE, Store(), study_in_path=study,
                     content_length=length)
    assert answer[0] == status and isinstance(answer[1], str)


def test_single_application_dicom_body_and_empty_request():
    assert dc.stow("application/dicom", None, make_instance(), BASE, Store())[0] == 200
    assert dc.stow(CT, None, b"--b0undary--\r\n", BASE, Store()) == (204, None)


def test_a_part_of_another_type_is_415():
    status, message = dc.stow(CT, None, multipart(b"{}", part_type="application/json"), BASE, Store())
    assert status == 415 and "application/json" in message


def test_zero_preamble_keeps_the_dataset_bytes():
    data = to_bytes(make_dataset())
    assert dc.zero_preamble(b"\xff" * 128 + data[128:])[128:] == data[128:]
    assert pydicom.dcmread(io.BytesIO(dc.zero_preamble(data[128:]))).SOPInstanceUID


@pytest.mark.parametrize("uid,ok", [("1.2.3", True), ("1.2-3.abc", True), ("", False), ("1" * 65, False),
                                    ("1.2 3", False), ("1.2.3\n", False)])
def test_uid_rule(uid, ok):
    assert dc.valid_uid(uid) is ok


class Backend:
    """dicom_backend.serve's view of an Orthanc: store() for STOW, forward() for the rest."""

    def __init__(self):
        self.stored, self.forwarded = [], []

    def store(self, data, outcome):
        self.stored.append(outcome.sop_uid)
        return True

    def forward(self, method, rest, query, headers, body, public_host):
        self.forwarded.append((method, rest, query))
        return 200, b"[]", {"Content-Type": "application/dicom+json"}


def test_serve_sends_stow_through_the_rules_and_everything_else_to_orthanc():
    from lab.azure.dicom_backend import serve
    backend = Backend()
    study = "1.2.826.0.1.3680043.8.498.7"
    data = make_instance(study_uid=study)
    status, body, headers = serve(backend, "POST", f"studies/{study}", "", {"content-type": CT}, multipart(data),
                                  "lab:1", BASE)
    assert status == 200 and headers["Content-Type"] == "application/dicom+json" and len(backend.stored) == 1
    assert b"/studies/" + study.encode() in body
    assert serve(backend, "GET", "studies", "PatientID=X", {}, b"", "lab:1", BASE)[0] == 200
    assert serve(backend, "GET", f"studies/{study}/metadata", "", {}, b"", "lab:1", BASE)[0] == 200
    # QIDO gets Azure's default limit; DELETE and PUT are the service's own (tests/unit/lab/test_dicom_backend_routes)
    assert backend.forwarded == [("GET", "studies", "PatientID=X&limit=100"), ("GET", f"studies/{study}/metadata", "")]
    status, body, headers = serve(backend, "POST", "studies", "", {"content-type": "text/plain"}, b"x", "lab:1", BASE)
    assert status == 415 and b'"error"' in body and headers["Content-Type"] == "application/json"


def test_searchable_attributes_failing_their_vr_are_stored_with_a_warning_and_202():
    warned = encoded("1.2.840.10008.1.2.1", StudyDate="NotAValidDate", Modality="ct")
    clean = make_instance()
    store = Store()
    status, body = dc.stow(CT, None, multipart(warned, clean), BASE, store)
    assert status == 202 and len(store.files) == 2 and "00081198" not in body
    first, second = body["00081199"]["Value"]
    assert first["00081196"]["Value"] == [1] and "00081196" not in second
    comments = [item["00000902"]["Value"][0] for item in first["00741048"]["Value"]]
    assert comments[0].startswith('DICOM100: (0008,0020) - Content "NotAValidDate" does not validate VR DA')
    assert any("(0008,0060)" in text for text in comments)
