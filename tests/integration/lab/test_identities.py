"""Managed identity (App Service endpoint shape) and workload identity (federated credential) with azure-identity."""
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential, WorkloadIdentityCredential
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.storage import StorageManagementClient


MGMT = "https://management.azure.com/.default"


def test_managed_identity_endpoint_serves_system_and_user_assigned(env, mgmt, admin_credential, resource_group,
                                                                   monkeypatch):
    uai = mgmt(ManagedServiceIdentityClient).user_assigned_identities.create_or_update(
        resource_group, "id-host", {"location": "westeurope"})
    host = mgmt(StorageManagementClient).storage_accounts.begin_create(resource_group, "labmihost", {
        "location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
        "identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {uai.id: {}}}}).result()
    token = admin_credential.get_token(MGMT).token
    endpoint = requests.post(f"{env['arm_endpoint']}/_lab/managed-identity-hosts", json={"resourceId": host.id},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint["IDENTITY_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_HEADER", endpoint["IDENTITY_HEADER"])
    import jwt
    system = ManagedIdentityCredential().get_token("https://dicom.healthcareapis.azure.com/.default").token
    claims = jwt.decode(system, options={"verify_signature": False})
    assert (claims["oid"], claims["aud"]) == (host.identity.principal_id, "https://dicom.healthcareapis.azure.com")
    user = ManagedIdentityCredential(client_id=uai.client_id).get_token(MGMT).token
    assert jwt.decode(user, options={"verify_signature": False})["oid"] == uai.principal_id
    monkeypatch.setenv("IDENTITY_HEADER", "not-a-host")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token(MGMT)


def test_workload_identity_checks_issuer_subject_and_audience(env, mgmt, admin_credential, resource_group, tmp_path):
    msi = mgmt(ManagedServiceIdentityClient)
    uai = msi.user_assigned_identities.create_or_update(resource_group, "id-workload", {"location": "westeurope"})
    issuer = f"{env['oidc_issuer_base']}/cluster1"
    msi.federated_identity_credentials.create_or_update(resource_group, "id-workload", "orthanc-sa", {
        "properties": {"issuer": issuer, "subject": "system:serviceaccount:pacs:orthanc",
                       "audiences": ["api://AzureADTokenExchange"]}})
    headers = {"Authorization": "Bearer " + admin_credential.get_token(MGMT).token}

    def service_account_token(subject):
        answer = requests.post(f"{issuer}/token", json={"subject": subject}, headers=headers, timeout=30)
        path = tmp_path / f"{uuid.uuid4().hex}.jwt"
        path.write_text(answer.json()["token"])
        return str(path)

    def credential(token_file):
        return WorkloadIdentityCredential(tenant_id=env["tenant_id"], client_id=uai.client_id,
                                          token_file_path=token_file, authority=env["authority_host"],
                                          disable_instance_discovery=True)

    good = credential(service_account_token("system:serviceaccount:pacs:orthanc")).get_token(MGMT)
    import jwt
    assert jwt.decode(good.token, options={"verify_signature": False})["oid"] == uai.principal_id
    with pytest.raises(ClientAuthenticationError) as err:
        credential(service_account_token("system:serviceaccount:other:intruder")).get_token(MGMT)
    assert "AADSTS70021" in str(err.value)
