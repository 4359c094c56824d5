"""The identity, Key Vault and network modules against a private lab emulator (issues 16/17): create, second run
changed=0 with one GET, check mode writes nothing (the emulator's request log), the diff, one field updated,
state absent, and what the emulator refuses as Azure does.

A private emulator (lab.throwaway), not a running shared lab: these types' rules live in this tree's emulator.
"""
import os
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import RequestLog  # noqa: E402
from lab_runner import run  # noqa: E402
from private_lab import module_auth, private_lab  # noqa: E402

TAG = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def lab_env():
    with private_lab("medimaging-h5-") as values:
        yield values


@pytest.fixture(scope="module")
def auth(lab_env):
    return module_auth(lab_env)


@pytest.fixture(scope="module")
def group(lab_env, auth):
    name = "rg-h5-" + TAG
    made = run("azure_resource_group", {"name": name, "location": lab_env["location"]}, auth)
    assert not made.get("failed"), made
    return name


@pytest.fixture
def log(lab_env):
    the_log = RequestLog(lab_env["request_log"])
    the_log.mark()
    return the_log


def converge_cycle(module, args, auth, log, update, resources=1):
    """check mode -> create -> no-op (one GET per resource) -> update one field; returns the created result."""
    log.mark()
    preview = run(module, args, auth, check_mode=True)
    assert preview["changed"] and not preview.get("failed"), preview
    assert log.writes() == [], "check mode wrote"
    created = run(module, args, auth)
    assert created["changed"] and not created.get("failed"), created
    assert created["diff"]["after"], "a create shows what it makes"
    log.mark()
    again = run(module, args, auth)
    assert again["changed"] is False and not again.get("failed"), again
    assert log.arm_calls() and all(method == "GET" for method, _ in log.arm_calls()), log.arm_calls()
    assert len(log.arm_calls()) == resources, log.arm_calls()
    log.mark()
    key, value = update
    planned = run(module, dict(args, **{key: value}), auth, check_mode=True)
    assert planned["changed"] and planned["diff"]["before"] and log.writes() == [], planned
    changed = run(module, dict(args, **{key: value}), auth)
    assert changed["changed"] and changed["diff"] == planned["diff"], changed
    assert run(module, dict(args, **{key: value}), auth)["changed"] is False
    return created


def remove(module, args, auth, log):
    log.mark()
    assert run(module, dict(args, state="absent"), auth, check_mode=True)["changed"]
    assert log.writes() == []
    gone = run(module, dict(args, state="absent"), auth)
    assert gone["changed"] and not gone.get("failed"), gone
    assert any(method == "DELETE" for method, _ in log.writes())
    assert run(module, dict(args, state="absent"), auth)["changed"] is False


# ------------------------------------------------------------------------------------- identities


def test_user_assigned_identity_and_federated_credential(lab_env, auth, group, log):
    identity = dict(resource_group=group, name="id-orthanc", location=lab_env["location"], tags={"workload": "pacs"})
    created = converge_cycle("azure_user_assigned_identity", identity, auth, log, ("tags", {"workload": "pacs2"}))
    assert len(created["client_id"]) == 36 and len(created["principal_id"]) == 36, created
    issuer = lab_env["oidc_issuer_base"] + "/cluster-" + TAG
    credential = dict(resource_group=group, identity="id-orthanc", name="aks-orthanc", issuer=issuer,
                      subject="system:serviceaccount:pacs:orthanc")
    converge_cycle("azure_federated_identity_credential", credential, auth, log,
                   ("subject", "system:serviceaccount:pacs:orthanc-v2"))
    log.mark()
    twin = run("azure_federated_identity_credential", dict(credential, name="aks-orthanc-twin",
                                                          subject="system:serviceaccount:pacs:orthanc-v2"), auth)
    assert twin["failed"] and "already exists on this identity" in twin["msg"], twin
    remove("azure_federated_identity_credential", credential, auth, log)
    remove("azure_user_assigned_identity", identity, auth, log)


def test_federated_credential_refused_without_its_identity(auth, group, log, lab_env):
    result = run("azure_federated_identity_credential", dict(
        resource_group=group, identity="id-missing", name="aks", issuer=lab_env["oidc_issuer_base"] + "/x",
        subject="system:serviceaccount:a:b"), auth)
    assert result["failed"] and "user-assigned identity 'id-missing' does not exist" in result["msg"], result
    assert log.writes() == []


# ------------------------------------------------------------------------------------- Key Vault


def test_key_vault_lifecycle_soft_delete_recover_and_purge_protection(lab_env, auth, group, log):
    name = "kv-h5-" + TAG
    vault = dict(resource_group=group, name=name, location=lab_env["location"], public_network_access="Enabled",
                 network_acls=dict(default_action="Deny", ip_rules=["203.0.113.7"]))
    created = converge_cycle("azure_key_vault", vault, auth, log, ("public_network_access", "Disabled"))
    assert created["vault_uri"].startswith("https://127.0.0.1:"), created["vault_uri"]
    props = created["resource"]["properties"]
    assert props["enableRbacAuthorization"] is True and props["enablePurgeProtection"] is True
    vault["public_network_access"] = "Disabled"
    log.mark()
    off = run("azure_key_vault", dict(vault, enable_purge_protection=False), auth)
    assert off["failed"] and "cannot turn it off" in off["msg"] and log.writes() == [], off
    days = run("azure_key_vault", dict(vault, soft_delete_retention_days=30), auth)
    assert days["failed"] and "softDeleteRetentionInDays cannot be changed" in days["msg"], days
    assert log.writes() == []
    remove("azure_key_vault", vault, auth, log)
    again = run("azure_key_vault", vault, auth)
    assert again["failed"] and "deleted state" in again["msg"], again
    log.mark()
    planned = run("azure_key_vault", dict(vault, state="absent", purge=True), auth, check_mode=True)
    assert planned["changed"] and log.writes() == [], planned
    purged = run("azure_key_vault", dict(vault, state="absent", purge=True), auth)
    assert purged["failed"] and "purge protection enabled" in purged["msg"], purged
    recovered = run("azure_key_vault", dict(vault, recover=True), auth)
    assert recovered["changed"] and not recovered.get("failed"), recovered
    protected = run("azure_key_vault", dict(vault, state="absent", purge=True), auth)
    assert protected["failed"] and "purge protection" in protected["msg"], protected


def test_key_vault_without_purge_protection_is_purged(lab_env, auth, group):
    vault = dict(resource_group=group, name="kv-h5p-" + TAG, location=lab_env["location"],
                 enable_purge_protection=False, soft_delete_retention_days=7)
    assert run("azure_key_vault", vault, auth)["changed"]
    gone = run("azure_key_vault", dict(vault, state="absent", purge=True), auth)
    assert gone["changed"] and not gone.get("failed"), gone
    assert run("azure_key_vault", vault, auth)["changed"], "the name is free again after a purge"
    assert run("azure_key_vault", dict(vault, state="absent"), auth)["changed"]
    late = run("azure_key_vault", dict(vault, state="absent", purge=True), auth)
    assert late["changed"] and not late.get("failed"), "an already deleted vault is purged: %r" % late
    assert run("azure_key_vault", dict(vault, state="absent", purge=True), auth)["changed"] is False


# ------------------------------------------------------------------------------------- network


def network_client(lab_env):
    from azure.identity import ClientSecretCredential
    from azure.mgmt.network import NetworkManagementClient
    credential = ClientSecretCredential(lab_env["tenant_id"], lab_env["client_id"], lab_env["client_secret"],
                                        authority=lab_env["authority_host"], disable_instance_discovery=True)
    return NetworkManagementClient(credential, lab_env["subscription_id"], base_url=lab_env["arm_endpoint"],
                                   credential_scopes=["https://management.azure.com/.default"], polling_interval=0)


VNET_SUBNETS = [
    dict(name="apps", address_prefix="10.20.4.0/27", delegations=["Microsoft.App/environments"]),
    dict(name="postgres", address_prefix="10.20.5.0/28", delegations=["Microsoft.DBforPostgreSQL/flexibleServers"]),
    dict(name="private-endpoints", address_prefix="10.20.6.0/24", private_endpoint_network_policies="Disabled",
         service_endpoints=["Microsoft.KeyVault"]),
]


def test_virtual_network_with_subnets(lab_env, auth, group, log):
    vnet = dict(resource_group=group, name="vnet-h5", location=lab_env["location"], address_prefixes=["10.20.0.0/16"],
                subnets=VNET_SUBNETS)
    created = converge_cycle("azure_virtual_network", vnet, auth, log, ("tags", {"env": "lab"}))
    ids = created["subnet_ids"]
    assert sorted(ids) == ["apps", "postgres", "private-endpoints"], ids
    client = network_client(lab_env)
    subnet = client.subnets.get(group, "vnet-h5", "apps")
    assert subnet.delegations[0].service_name == "Microsoft.App/environments"
    log.mark()
    bigger = run("azure_virtual_network", dict(vnet, subnets=VNET_SUBNETS + [
        dict(name="aks", address_prefix="10.20.8.0/22")]), auth)
    assert bigger["changed"] and "aks" in bigger["subnet_ids"], bigger
    assert [m for m, _ in log.writes()] == ["PUT"]
    assert client.subnets.get(group, "vnet-h5", "aks").address_prefix == "10.20.8.0/22"
    smaller = run("azure_virtual_network", vnet, auth)
    assert smaller["changed"] and "aks" not in smaller["subnet_ids"]
    remove("azure_virtual_network", vnet, auth, log)


@pytest.mark.parametrize("change,code", [
    ({"subnets": [{"name": "a", "properties": {"addressPrefix": "10.99.0.0/24"}}]}, "NetcfgSubnetRangeOutsideVnet"),
    ({"subnets": [{"name": "a", "properties": {"addressPrefix": "10.20.0.0/24"}},
                  {"name": "b", "properties": {"addressPrefix": "10.20.0.0/25"}}]}, "NetcfgSubnetRangesOverlap"),
    ({"subnets": [{"name": "a", "properties": {"addressPrefix": "10.20.0.0/24", "delegations": [
        {"name": "d", "properties": {"serviceName": "Microsoft.Nope/things"}}]}}]}, "InvalidServiceNameOnDelegation"),
    ({"subnets": [{"name": "a", "properties": {"addressPrefix": "10.20.0.0/24", "privateEndpointPolicies": "Off"}}]},
     "InvalidRequestContent"),
    ({"addressSpace": {"addressPrefixes": ["10.20.0.1/16"]}}, "NetcfgInvalidIPAddressPrefix"),
])
def test_emulator_refuses_what_azure_refuses_in_a_network(lab_env, group, change, code):
    from azure.core.exceptions import HttpResponseError
    body = {"location": lab_env["location"], "properties": dict({"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]}},
                                                                **change)}
    with pytest.raises(HttpResponseError) as caught:
        network_client(lab_env).virtual_networks.begin_create_or_update(group, "vnet-refused", body).result()
    assert caught.value.error.code == code, caught.value.message


# ------------------------------------------------------------------------------------- private endpoints and DNS


def test_key_vault_behind_a_private_endpoint_with_its_dns_zone(lab_env, auth, group, log):
    vnet = run("azure_virtual_network", dict(resource_group=group, name="vnet-pe", location=lab_env["location"],
                                             address_prefixes=["10.30.0.0/16"], subnets=[dict(
                                                 name="private-endpoints", address_prefix="10.30.6.0/24",
                                                 private_endpoint_network_policies="Disabled")]), auth)
    vault = run("azure_key_vault", dict(resource_group=group, name="kv-pe-" + TAG, location=lab_env["location"],
                                        public_network_access="Disabled"), auth)
    assert not vnet.get("failed") and not vault.get("failed"), (vnet, vault)
    zone = dict(resource_group=group, name="privatelink.vaultcore.azure.net",
                virtual_network_links=[dict(name="vnet-pe", virtual_network_id=vnet["id"])])
    made = converge_cycle("azure_private_dns_zone", zone, auth, log, ("tags", {"env": "lab"}), resources=2)
    assert made["links"]["vnet-pe"]["properties"]["virtualNetworkLinkState"] == "Completed"
    zone_id = made["id"]
    endpoint = dict(resource_group=group, name="pe-kv", location=lab_env["location"],
                    subnet_id=vnet["subnet_ids"]["private-endpoints"], target_resource_id=vault["id"],
                    group_id="vault", private_dns_zone_ids=[zone_id])
    created = converge_cycle("azure_private_endpoint", endpoint, auth, log, ("tags", {"env": "lab"}), resources=2)
    assert created["ip_addresses"] == {"kv-pe-%s.vault.azure.net" % TAG: ["10.30.6.4"]}, created["ip_addresses"]
    records = created["dns_zone_group"]["properties"]["privateDnsZoneConfigs"][0]["properties"]["recordSets"]
    assert [(r["fqdn"], r["ipAddresses"]) for r in records] == [
        ("kv-pe-%s.privatelink.vaultcore.azure.net" % TAG, ["10.30.6.4"])]
    # The subnet holds the endpoint: Azure refuses to remove it, and the module reports Azure's answer.
    log.mark()
    emptied = run("azure_virtual_network", dict(resource_group=group, name="vnet-pe", location=lab_env["location"],
                                                address_prefixes=["10.30.0.0/16"], subnets=[]), auth)
    assert emptied["failed"] and "InUseSubnetCannotBeDeleted" in repr(emptied), emptied
    remove("azure_private_endpoint", endpoint, auth, log)
    remove("azure_private_dns_zone", zone, auth, log)  # deletes the link first: Azure refuses a zone with links
    assert run("azure_virtual_network", dict(resource_group=group, name="vnet-pe", state="absent"), auth)["changed"]


def test_private_endpoint_refuses_a_dicom_service_target_before_any_call(lab_env, auth, group, log):
    dicom = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.HealthcareApis/workspaces/ws/dicomservices/pacs"
             % (lab_env["subscription_id"], group))
    subnet = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
              % (lab_env["subscription_id"], group))
    result = run("azure_private_endpoint", dict(resource_group=group, name="pe-dicom", location=lab_env["location"],
                                                subnet_id=subnet, target_resource_id=dicom,
                                                group_id="healthcareworkspace"), auth)
    assert result["failed"] and "Target its Health Data Services workspace" in result["msg"], result
    assert log.arm_calls() == []


def test_emulator_refuses_an_endpoint_on_a_missing_subnet_or_a_wrong_group(lab_env, auth, group):
    from azure.core.exceptions import HttpResponseError
    vault = run("azure_key_vault", dict(resource_group=group, name="kv-pe2-" + TAG, location=lab_env["location"]),
                auth)
    vnet = run("azure_virtual_network", dict(resource_group=group, name="vnet-pe2", location=lab_env["location"],
                                             address_prefixes=["10.40.0.0/16"],
                                             subnets=[dict(name="pe", address_prefix="10.40.0.0/24")]), auth)
    client = network_client(lab_env)
    for subnet, group_id, code in ((vnet["id"] + "/subnets/missing", "vault", "InvalidResourceReference"),
                                   (vnet["subnet_ids"]["pe"], "blob", "PrivateEndpointBadRequest")):
        body = {"location": lab_env["location"], "properties": {"subnet": {"id": subnet}, "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": vault["id"], "groupIds": [group_id]}}]}}
        with pytest.raises(HttpResponseError) as caught:
            client.private_endpoints.begin_create_or_update(group, "pe-refused", body).result()
        assert caught.value.error.code == code, caught.value.message


# ------------------------------------------------------------------------------------- Key Vault secrets


def test_key_vault_secret_never_shows_its_value(lab_env, auth, group, log):
    vault = run("azure_key_vault", dict(resource_group=group, name="kv-sec-" + TAG, location=lab_env["location"]),
                auth)
    base = dict(vault_uri=vault["vault_uri"], name="orthanc-db-password", verify_challenge_resource=False)
    value = "Canary-Secret-" + TAG
    refused = run("azure_key_vault_secret", dict(base, value=value), auth)
    assert refused["failed"] and "ForbiddenByRbac" in repr(refused) + refused["msg"] or "not authorized" in \
        refused["msg"], refused
    granted = run("azure_role_assignment", dict(scope=vault["id"], principal_id=lab_env["principal_id"],
                                                principal_type="ServicePrincipal", role="Key Vault Secrets Officer"),
                  auth)
    assert not granted.get("failed"), granted
    args = dict(base, value=value, content_type="password", expires="2027-01-31T00:00:00Z")
    results = [run("azure_key_vault_secret", args, auth, check_mode=True)]
    assert results[0].get("changed") and results[0]["version"] == "", results[0]
    results.append(run("azure_key_vault_secret", args, auth))
    assert results[-1].get("changed") and results[-1]["version"], results[-1]
    first_version = results[-1]["version"]
    results.append(run("azure_key_vault_secret", args, auth))
    assert results[-1]["changed"] is False and results[-1]["version"] == first_version
    results.append(run("azure_key_vault_secret", dict(args, content_type="text/plain"), auth))
    assert results[-1]["changed"] and results[-1]["version"] == first_version, "metadata only: same version"
    assert results[-1]["diff"] == {"before": {"contentType": "password"}, "after": {"contentType": "text/plain"}}
    results.append(run("azure_key_vault_secret", dict(args, value=value + "-rotated"), auth, check_mode=True))
    assert results[-1]["changed"] and results[-1]["version"] == first_version
    results.append(run("azure_key_vault_secret", dict(args, value=value + "-rotated"), auth))
    assert results[-1]["changed"] and results[-1]["version"] != first_version
    assert results[-1]["diff"]["after"]["value"] == "(hidden) new version"
    assert all(value not in repr(result) for result in results), "the value leaked into a result"
    gone = run("azure_key_vault_secret", dict(base, state="absent"), auth)
    assert gone["changed"] and not gone.get("failed"), gone
    again = run("azure_key_vault_secret", dict(args), auth)
    assert again["failed"] and "recover it (recover=true)" in again["msg"], again
    recovered = run("azure_key_vault_secret", dict(args, recover=True), auth)
    assert recovered["changed"] and not recovered.get("failed"), recovered
