"""The lab DICOM service through the emulator, as a DICOMweb client sees Azure's: a STOW, a PUT that replaces an
instance, a DELETE, all in the change feed in order with their states, paged by offset/limit and windowed by time;
QIDO refuses what Azure refuses."""
import io
import uuid

import pydicom
import pytest
import requests

from lab.dicom_factory import make_study
from lab_runner import run


def multipart(*parts, boundary="cfBoundary"):
    body = b"".join(b"--%s\r\nContent-Type: application/dicom\r\n\r\n%s\r\n" % (boundary.encode(), p) for p in parts)
    return body + b"--%s--\r\n" % boundary.encode(), 'multipart/related; type="application/dicom"; boundary=' + boundary


@pytest.fixture
def dicom_v2(azure_lab, lab_auth):
    """(base URL .../v2, session with a DICOM Data Owner token) of a new DICOM service; removed afterwards."""
    from azure.identity import ClientSecretCredential

    suffix = uuid.uuid4().hex[:6]
    group = "rg-cf-%s" % suffix
    assert run("azure_resource_group", {"name": group, "location": "westeurope"}, lab_auth)["changed"]
    try:
        run("azure_healthcare_workspace", {"resource_group": group, "name": "ws" + suffix, "location": "westeurope"},
            lab_auth)
        svc = run("azure_dicom_service", {"resource_group": group, "workspace": "ws" + suffix, "name": "pacs",
                                          "location": "westeurope"}, lab_auth)
        run("azure_role_assignment", {"scope": svc["resource"]["id"], "principal_id": azure_lab["principal_id"],
                                      "role": "DICOM Data Owner"}, lab_auth)
        credential = ClientSecretCredential(azure_lab["tenant_id"], azure_lab["client_id"], azure_lab["client_secret"],
                                            authority=azure_lab["authority_host"], disable_instance_discovery=True,
                                            connection_verify=azure_lab["ca_bundle"])
        session = requests.Session()
        session.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would replace the lab's CA
        session.verify = azure_lab["ca_bundle"]
        session.headers["Authorization"] = "Bearer " + credential.get_token(svc["audiences"][0] + "/.default").token
        yield svc["service_url"].rstrip("/") + "/v2", session
    finally:
        run("azure_resource_group", {"name": group, "state": "absent", "force_delete_nonempty": True}, lab_auth)


def test_stow_put_delete_in_the_change_feed_and_qido_limits(dicom_v2):
    base, http = dicom_v2
    first, second = make_study(instances=2, patient_id="CFEED1")
    ds = pydicom.dcmread(io.BytesIO(first))
    study, series, sop = ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
    body, content_type = multipart(first, second)
    assert http.post(base + "/studies", data=body, headers={"Content-Type": content_type}, timeout=60).status_code \
        == 200
    ds.PatientName = "REPLACED^NAME"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    body, content_type = multipart(buffer.getvalue())
    again = http.post(base + "/studies", data=body, headers={"Content-Type": content_type}, timeout=60)
    assert again.status_code == 409 and again.json()["00081198"]["Value"][0]["00081197"]["Value"] == [45070]
    put = http.put(base + "/studies/" + study, data=body, headers={"Content-Type": content_type}, timeout=60)
    assert put.status_code == 200 and "00081198" not in put.json(), put.text
    other = pydicom.dcmread(io.BytesIO(second)).SOPInstanceUID
    gone = http.delete("%s/studies/%s/series/%s/instances/%s" % (base, study, series, other), timeout=60)
    assert gone.status_code == 204, gone.text

    feed = http.get(base + "/changefeed", timeout=60).json()
    assert [(e["Sequence"], e["Action"], e["SopInstanceUid"], e["State"]) for e in feed] == [
        (1, "create", sop, "replaced"), (2, "create", other, "deleted"), (3, "create", sop, "current"),
        (4, "delete", other, "deleted")]
    assert feed[2]["Metadata"]["00100010"]["Value"] == [{"Alphabetic": "REPLACED^NAME"}]
    page = http.get(base + "/changefeed", params={"offset": 1, "limit": 2, "includeMetadata": "false"},
                    timeout=60).json()
    assert [e["Sequence"] for e in page] == [2, 3] and "Metadata" not in page[0]
    window = http.get(base + "/changefeed", params={"startTime": feed[2]["Timestamp"]}, timeout=60).json()
    assert [e["Sequence"] for e in window] == [3, 4]
    assert http.get(base + "/changefeed/latest", timeout=60).json()["Sequence"] == 4
    assert http.get(base + "/changefeed", params={"limit": 201}, timeout=60).status_code == 400

    held = http.get(base + "/studies/%s/instances" % study, params={"includefield": "00100010"}, timeout=60).json()
    assert [item["00080018"]["Value"][0] for item in held] == [sop]
    assert held[0]["00100010"]["Value"][0]["Alphabetic"] == "REPLACED^NAME"  # WADO/QIDO see the replaced copy
    refused = http.get(base + "/studies", params={"limit": 201}, timeout=60)
    assert refused.status_code == 400 and "between 1 and 200" in refused.json()["error"]["message"]
    assert http.get(base + "/studies", params={"Modality": "CT"}, timeout=60).status_code == 400
    # study-level attributes stay those of the study's first instance in Orthanc: LAB^PATIENT
    fuzzy = http.get(base + "/studies", params={"PatientName": "pati", "fuzzymatching": "true"}, timeout=60)
    assert [item["0020000D"]["Value"][0] for item in fuzzy.json()] == [study]
    exact = http.get(base + "/studies", params={"PatientName": "pati"}, timeout=60)
    assert exact.status_code == 200 and exact.text.strip() in ("", "[]")
