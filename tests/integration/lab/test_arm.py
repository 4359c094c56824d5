"""ARM through the real SDK clients: CRUD, LRO completion, SDK-model validation, auth and RBAC errors, the log."""
import time
import uuid

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.healthcareapis import HealthcareApisManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient



def test_user_assigned_identity_create_read_update_delete(mgmt, resource_group):
    client = mgmt(ManagedServiceIdentityClient).user_assigned_identities
    created = client.create_or_update(resource_group, "id-crud", {"location": "West Europe", "tags": {"a": "1"}})
    assert created.location == "westeurope" and created.principal_id and created.client_id
    again = client.create_or_update(resource_group, "id-crud", {"location": "westeurope", "tags": {"a": "2"}})
    assert (again.principal_id, again.tags) == (created.principal_id, {"a": "2"})  # server-set ids are kept
    assert client.get(resource_group, "id-crud").tags == {"a": "2"}
    client.delete(resource_group, "id-crud")
    with pytest.raises(ResourceNotFoundError):
        client.get(resource_group, "id-crud")


def test_workspace_lro_passes_through_accepted_to_succeeded(mgmt, resource_group, read_log):
    since = time.time()
    client = mgmt(HealthcareApisManagementClient).workspaces
    poller = client.begin_create_or_update(resource_group, "wslro", {"location": "westeurope"})
    assert client.get(resource_group, "wslro").properties.provisioning_state in ("Accepted", "Provisioning")
    assert poller.result().properties.provisioning_state == "Succeeded"
    polls = [e for e in read_log(since) if "operationStatuses" in e["path"]]
    assert polls and all(e["status"] == 200 for e in polls)
    client.begin_delete(resource_group, "wslro").result()
    with pytest.raises(ResourceNotFoundError):
        client.get(resource_group, "wslro")


def test_invalid_body_gets_400_with_the_model_message(mgmt, resource_group):
    client = mgmt(StorageManagementClient).storage_accounts
    with pytest.raises(HttpResponseError) as err:
        client.begin_create(resource_group, "labinvalid1", {"location": "westeurope", "kind": "StorageV2"}).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidRequestContent"
    assert "$.sku: required property is missing" in err.value.error.message


def test_wrong_type_in_body_gets_400(env, admin_credential, resource_group):
    token = admin_credential.get_token("https://management.azure.com/.default").token
    url = (f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}/resourceGroups/{resource_group}/providers/"
           "Microsoft.HealthcareApis/workspaces/wsbad/dicomservices/d?api-version=2024-03-31")
    answer = requests.put(url, json={"location": "westeurope", "properties": {"corsConfiguration": {"maxAge": "x"}}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 400
    assert "maxAge: expected int" in answer.json()["error"]["message"]


def test_unsupported_api_version_lists_the_supported_ones(env, admin_credential, resource_group):
    token = admin_credential.get_token("https://management.azure.com/.default").token
    url = (f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}/resourceGroups/{resource_group}/providers/"
           "Microsoft.Storage/storageAccounts/x?api-version=2001-01-01")
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "NoRegisteredProviderFound"


def test_no_token_and_wrong_audience_get_401(env, admin_credential):
    url = f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}/resourcegroups?api-version=2025-04-01"
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "AuthenticationFailed"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    storage_token = admin_credential.get_token("https://storage.azure.com/.default").token
    answer = requests.get(url, headers={"Authorization": f"Bearer {storage_token}"}, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    forged = storage_token[:-8] + ("A" * 8 if not storage_token.endswith("A" * 8) else "B" * 8)
    answer = requests.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=30)
    assert answer.status_code == 401


def test_wrong_secret_is_refused_by_the_token_endpoint(env, credential_for):
    with pytest.raises(ClientAuthenticationError) as err:
        credential_for(secret="not-the-secret").get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(err.value)


def test_principal_without_a_role_gets_authorization_failed(env, mgmt, new_app, resource_group, credential_for):
    client_id, secret, _ = new_app("no-roles")
    stranger = mgmt(ResourceManagementClient, credential_for(client_id, secret))
    with pytest.raises(HttpResponseError) as err:
        stranger.resource_groups.get(resource_group)
    assert err.value.status_code == 403 and err.value.error.code == "AuthorizationFailed"


def test_role_assignment_rules(env, mgmt, new_app, role_id, resource_group):
    _, _, principal = new_app("assignee")
    client = mgmt(AuthorizationManagementClient).role_assignments
    scope = f"/subscriptions/{env['subscription_id']}/resourceGroups/{resource_group}"
    reader = role_id("acdd72a7-3385-48ef-bd42-f606fba81ae7")
    created = client.create(scope, str(uuid.uuid4()), {"role_definition_id": reader, "principal_id": principal})
    assert created.scope == scope
    with pytest.raises(HttpResponseError) as err:  # same scope, role and principal under another name
        client.create(scope, str(uuid.uuid4()), {"role_definition_id": reader, "principal_id": principal})
    assert err.value.error.code == "RoleAssignmentExists"
    with pytest.raises(HttpResponseError) as err:
        client.create(scope, str(uuid.uuid4()), {"role_definition_id": reader, "principal_id": str(uuid.uuid4())})
    assert err.value.error.code == "PrincipalNotFound"
    listed = [a.principal_id for a in client.list_for_scope(scope, filter=f"principalId eq '{principal}'")]
    assert principal in listed


def test_check_mode_style_reads_are_logged_as_gets_only(mgmt, resource_group, read_log):
    since = time.time()
    client = mgmt(ManagedServiceIdentityClient).user_assigned_identities
    with pytest.raises(ResourceNotFoundError):
        client.get(resource_group, "never-created")
    entries = [e for e in read_log(since) if "/userAssignedIdentities/" in e["path"]]
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 404)]
    assert entries[0]["apiVersion"] and entries[0]["principal"]


def test_state_survives_an_emulator_restart(lab, mgmt, resource_group):
    client = mgmt(ManagedServiceIdentityClient).user_assigned_identities
    before = client.create_or_update(resource_group, "id-restart", {"location": "westeurope"})
    lab.stop_emulator()
    lab.start_emulator(lab.facts())
    assert client.get(resource_group, "id-restart").principal_id == before.principal_id
