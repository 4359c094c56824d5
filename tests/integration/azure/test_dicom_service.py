"""Workspace, DICOM service and role assignment against the lab's ARM emulator, then an authorized QIDO."""
import uuid

import pytest
import requests

from lab_runner import run


@pytest.fixture
def names(lab_auth):
    suffix = uuid.uuid4().hex[:6]
    group = "rg-it-%s" % suffix
    result = run("azure_resource_group", {"name": group, "location": "westeurope"}, lab_auth)
    assert result["changed"], result
    yield {"group": group, "workspace": "ws%s" % suffix, "service": "pacs"}
    run("azure_resource_group", {"name": group, "state": "absent", "force_delete_nonempty": True}, lab_auth)


def test_dicom_service_lifecycle(lab_auth, request_log, names):
    ws = {"resource_group": names["group"], "name": names["workspace"], "location": "westeurope"}
    svc = {"resource_group": names["group"], "workspace": names["workspace"], "name": names["service"],
           "location": "westeurope", "public_network_access": "Enabled", "identity": {"type": "SystemAssigned"}}
    assert run("azure_healthcare_workspace", ws, lab_auth)["changed"]

    request_log.mark()
    preview = run("azure_dicom_service", svc, lab_auth, check_mode=True)
    assert preview["changed"] and preview["diff"]["after"]["properties"]["publicNetworkAccess"] == "Enabled"
    assert request_log.writes() == [], "check mode wrote to ARM"

    created = run("azure_dicom_service", svc, lab_auth)
    assert created["changed"] and created["service_url"].startswith("https://127.0.0.1:")
    assert created["audiences"]

    request_log.mark()
    again = run("azure_dicom_service", svc, lab_auth)
    assert again["changed"] is False
    assert request_log.arm_calls() == [("GET", created["resource"]["id"])] or \
        [m for m, _ in request_log.arm_calls()] == ["GET"]

    request_log.mark()
    changed = run("azure_dicom_service", dict(svc, cors={"origins": ["https://viewer.example"]}), lab_auth)
    assert changed["changed"] and changed["diff"]["after"] == {
        "properties": {"corsConfiguration": {"origins": ["https://viewer.example"]}}}
    writes = request_log.writes()
    assert len(writes) == 1 and writes[0][0] == "PUT" and writes[0][1].endswith("/dicomservices/pacs")

    request_log.mark()
    gone = run("azure_dicom_service", dict(svc, state="absent"), lab_auth)
    assert gone["changed"]
    assert any(m == "DELETE" for m, _ in request_log.writes())
    assert run("azure_dicom_service", dict(svc, state="absent"), lab_auth)["changed"] is False


def test_authorized_qido_after_role_assignment(azure_lab, lab_auth, names):
    from azure.identity import ClientSecretCredential

    assert run("azure_healthcare_workspace", {"resource_group": names["group"], "name": names["workspace"],
                                              "location": "westeurope"}, lab_auth)["changed"]
    svc = run("azure_dicom_service", {"resource_group": names["group"], "workspace": names["workspace"],
                                      "name": names["service"], "location": "westeurope",
                                      "public_network_access": "Enabled"}, lab_auth)
    credential = ClientSecretCredential(azure_lab["tenant_id"], azure_lab["client_id"], azure_lab["client_secret"],
                                        authority=azure_lab["authority_host"], disable_instance_discovery=True,
                                        connection_verify=azure_lab["ca_bundle"])
    token = credential.get_token(svc["audiences"][0] + "/.default").token
    qido = svc["service_url"].rstrip("/") + "/v2/studies"
    headers = {"Authorization": "Bearer " + token, "Accept": "application/dicom+json"}

    denied = requests.get(qido, headers=headers, verify=azure_lab["ca_bundle"], timeout=30)
    assert denied.status_code == 403, "no DICOM data role yet: the service must refuse"

    grant = {"scope": svc["resource"]["id"], "principal_id": azure_lab["principal_id"], "role": "DICOM Data Owner"}
    assert run("azure_role_assignment", grant, lab_auth)["changed"]
    assert run("azure_role_assignment", grant, lab_auth)["changed"] is False

    answer = requests.get(qido, headers=headers, verify=azure_lab["ca_bundle"], timeout=30)
    assert answer.status_code in (200, 204), answer.text
    assert (answer.json() if answer.status_code == 200 else []) == []


def test_invalid_names_fail_before_any_request(lab_auth, request_log):
    result = run("azure_dicom_service", {"resource_group": "rg", "workspace": "ws", "name": "Bad_Name",
                                         "location": "westeurope"}, lab_auth)
    assert result["failed"] and "Invalid name" in result["msg"]
    assert request_log.arm_calls() == []
