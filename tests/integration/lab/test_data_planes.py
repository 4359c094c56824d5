"""Resources created through ARM are backed by real services: Orthanc (DICOMweb), PostgreSQL, Azurite."""
import os
import uuid

import psycopg
import pytest
import requests
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.healthcareapis import HealthcareApisManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient

from lab.dicom_factory import make_instance
from lab.proc import pid_alive, read_pidfile

DICOM_SCOPE = "https://dicom.healthcareapis.azure.com/.default"
OWNER, READER = "58a3b984-7adf-4c20-983a-32417c86fbc8", "e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a"


def stow_body(dicom_bytes, boundary="labBoundary"):
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    return head + dicom_bytes + f"\r\n--{boundary}--\r\n".encode(), \
        f'multipart/related; type="application/dicom"; boundary={boundary}'


def test_dicom_service_answers_stow_and_qido_for_its_roles_only(env, lab, mgmt, new_app, role_id, resource_group,
                                                               credential_for):
    hc = mgmt(HealthcareApisManagementClient)
    hc.workspaces.begin_create_or_update(resource_group, "wsdicom", {"location": "westeurope"}).result()
    service = hc.dicom_services.begin_create_or_update(resource_group, "wsdicom", "pacs",
                                                       {"location": "westeurope"}).result()
    assert service.provisioning_state == "Succeeded" and service.service_url.startswith("https://127.0.0.1:")
    writer_id, writer_secret, writer = new_app("dicom-writer")
    reader_id, reader_secret, reader = new_app("dicom-reader")
    stranger_id, stranger_secret, _ = new_app("dicom-stranger")
    assignments = mgmt(AuthorizationManagementClient).role_assignments
    assignments.create(service.id, str(uuid.uuid4()), {"role_definition_id": role_id(OWNER), "principal_id": writer})
    assignments.create(service.id, str(uuid.uuid4()), {"role_definition_id": role_id(READER), "principal_id": reader})

    def bearer(client_id, secret, scope=DICOM_SCOPE):
        return {"Authorization": "Bearer " + credential_for(client_id, secret).get_token(scope).token}

    body, content_type = stow_body(make_instance(patient_id="LABSTOW1"))
    stow = requests.post(f"{service.service_url}/v2/studies", data=body, timeout=60,
                         headers={**bearer(writer_id, writer_secret), "Content-Type": content_type,
                                  "Accept": "application/dicom+json"})
    assert stow.status_code == 200, stow.text
    # Azure's answer: a RetrieveURL per stored instance (the study's only when the path names the study).
    retrieve_url = stow.json()["00081199"]["Value"][0]["00081190"]["Value"][0]
    assert retrieve_url.startswith(service.service_url + "/v2/studies/")
    wado = requests.get(retrieve_url, headers={**bearer(writer_id, writer_secret),
                                               "Accept": 'multipart/related; type="application/dicom"'}, timeout=60)
    assert wado.status_code == 200 and b"DICM" in wado.content
    again = requests.post(f"{service.service_url}/v2/studies", data=body, timeout=60,
                          headers={**bearer(writer_id, writer_secret), "Content-Type": content_type})
    assert again.status_code == 409  # already stored: FailureReason 45070
    assert again.json()["00081198"]["Value"][0]["00081197"]["Value"] == [45070]

    qido = requests.get(f"{service.service_url}/v1/studies?PatientID=LABSTOW1", headers=bearer(reader_id, reader_secret),
                        timeout=60)
    assert qido.status_code == 200 and len(qido.json()) == 1
    denied = requests.post(f"{service.service_url}/v2/studies", data=body, timeout=60,
                           headers={**bearer(reader_id, reader_secret), "Content-Type": content_type})
    assert denied.status_code == 403
    assert requests.get(f"{service.service_url}/v2/studies", headers=bearer(stranger_id, stranger_secret),
                        timeout=60).status_code == 403
    wrong_audience = bearer(writer_id, writer_secret, "https://management.azure.com/.default")
    assert requests.get(f"{service.service_url}/v2/studies", headers=wrong_audience, timeout=60).status_code == 401
    assert requests.get(f"{service.service_url}/v2/studies", timeout=60).status_code == 401

    pidfile = os.path.join(lab.layout.dicom_dir, "wsdicom-pacs", "orthanc.pid")
    pid = read_pidfile(pidfile)
    assert pid_alive(pid)
    hc.dicom_services.begin_delete(resource_group, "pacs", "wsdicom").result()  # SDK order: service, workspace
    assert not pid_alive(pid)  # deleting the resource stopped its Orthanc


def test_flexible_server_database_accepts_the_admin_login(env, mgmt, resource_group):
    pg = mgmt(PostgreSQLManagementClient)
    server = pg.servers.begin_create_or_update(resource_group, "labpg1", {
        "location": "westeurope", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "pacsadmin", "administratorLoginPassword": "Lab-Pass-123!",
                       "version": "16", "storage": {"storageSizeGB": 32}}}).result()
    assert "administratorLoginPassword" not in str(pg.servers.get(resource_group, "labpg1").as_dict())
    pg.databases.begin_create(resource_group, "labpg1", "orthanc", {"properties": {"charset": "UTF8"}}).result()
    with psycopg.connect(host=server.fully_qualified_domain_name, port=env["postgres_port"], user="pacsadmin",
                         password="Lab-Pass-123!", dbname="orthanc", sslmode="verify-full",
                         sslrootcert=env["lab_ca_cert"], connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("pacsadmin", "orthanc")
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    pg.servers.begin_delete(resource_group, "labpg1").result()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=server.fully_qualified_domain_name, port=env["postgres_port"], user="pacsadmin",
                        password="Lab-Pass-123!", dbname="postgres", sslmode="require", connect_timeout=10)


def test_storage_account_key_uploads_a_blob_and_settings_are_kept(env, mgmt, admin_credential, resource_group):
    storage = mgmt(StorageManagementClient)
    account = storage.storage_accounts.begin_create(resource_group, "labblob1", {
        "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
        "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                       "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}}).result()
    assert account.primary_endpoints.blob == f"{env['azurite_blob_endpoint']}/labblob1/"
    assert account.network_rule_set.default_action == "Deny"
    storage.blob_containers.create(resource_group, "labblob1", "archive", {"properties": {"publicAccess": "None"}})
    key = storage.storage_accounts.list_keys(resource_group, "labblob1")["keys"][0]["value"]
    blobs = BlobServiceClient(account.primary_endpoints.blob, credential={"account_name": "labblob1",
                                                                           "account_key": key})
    blobs.get_blob_client("archive", "study/1.dcm").upload_blob(b"DICM", overwrite=True)
    with_token = BlobServiceClient(account.primary_endpoints.blob, credential=admin_credential)
    assert with_token.get_blob_client("archive", "study/1.dcm").download_blob().readall() == b"DICM"
    with pytest.raises(Exception) as err:  # public access refused when the account forbids it, as on Azure
        storage.blob_containers.create(resource_group, "labblob1", "public", {"properties": {"publicAccess": "Blob"}})
    assert "PublicAccessNotPermitted" in str(err.value)
