"""The emulator's rules for Key Vault, virtual networks and identities (fast: no server), and the closed-model
validation that refuses unknown keys for the types whose SDKs check nothing client-side."""
import pytest

from lab.azure.validation import model_class, validate

from rules_helpers import check_body

VAULT = "Microsoft.KeyVault/vaults/"
VNET = "Microsoft.Network/virtualNetworks/vnet1"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def vault_body(**props):
    base = {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": True}
    base.update(props)
    return {"location": "westeurope", "properties": base}


@pytest.mark.parametrize("name,props,code,needle", [
    ("kv--x", {}, "VaultNameNotValid", "consecutive hyphens"),
    ("1kv", {}, "VaultNameNotValid", "begin with a letter"),
    ("kv1", {"sku": {"family": "A", "name": "gold"}}, "BadRequest", "properties.sku.name"),
    ("kv1", {"softDeleteRetentionInDays": 6}, "BadRequest", "7 to 90"),
    ("kv1", {"enableSoftDelete": False}, "BadRequest", "enableSoftDelete"),
    ("kv1", {"enablePurgeProtection": False}, "BadRequest", "irreversible"),
    ("kv1", {"tenantId": "contoso"}, "BadRequest", "GUID"),
    ("kv1", {"networkAcls": {"defaultAction": "Block"}}, "BadRequest", "defaultAction"),
    ("kv1", {"networkAcls": {"ipRules": [{"value": "10.0.0.300"}]}}, "BadRequest", "ipRules[0]"),
    ("kv1", {"networkAcls": {"virtualNetworkRules": [{"id": "/subscriptions/x"}]}}, "BadRequest", "subnet"),
])
def test_vault_refusals(name, props, code, needle):
    status, found, message = check_body(VAULT + name, vault_body(**props))
    assert (status, found) == (400, code) and needle in message, message


def test_a_good_vault_passes():
    assert check_body(VAULT + "kv-imaging", vault_body(networkAcls={"defaultAction": "Deny", "ipRules": [
        {"value": "203.0.113.7"}], "bypass": "AzureServices"}, publicNetworkAccess="Disabled")) is None


def vnet_body(prefixes=("10.20.0.0/16",), subnets=()):
    return {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": list(prefixes)},
                                                     "subnets": list(subnets)}}


def subnet(name, prefix, **props):
    return {"name": name, "properties": dict(addressPrefix=prefix, **props)}


@pytest.mark.parametrize("body,code", [
    (vnet_body(prefixes=()), "InvalidRequestFormat"),
    (vnet_body(prefixes=("10.20.0.0/33",)), "InvalidAddressPrefixFormat"),
    (vnet_body(prefixes=("10.20.0.1/16",)), "NetcfgInvalidIPAddressPrefix"),
    (vnet_body(subnets=[subnet("a", "10.21.0.0/24")]), "NetcfgSubnetRangeOutsideVnet"),
    (vnet_body(subnets=[subnet("a", "10.20.0.0/24"), subnet("b", "10.20.0.0/26")]), "NetcfgSubnetRangesOverlap"),
    (vnet_body(subnets=[subnet("a", "10.20.0.0/30")]), "NetcfgInvalidSubnet"),
    (vnet_body(subnets=[subnet("a", "10.20.0.0/24"), subnet("A", "10.20.1.0/24")]), "DuplicateResourceName"),
    (vnet_body(subnets=[subnet("a", "10.20.0.0/24", serviceEndpoints=[{"service": "Microsoft.Nope"}])]),
     "InvalidServiceEndpoint"),
    (vnet_body(subnets=[subnet("a", "10.20.0.0/24", privateEndpointNetworkPolicies="Off")]), "InvalidRequestFormat"),
])
def test_virtual_network_refusals(body, code):
    assert check_body(VNET, body)[1] == code


def test_a_good_address_plan_passes():
    assert check_body(VNET, vnet_body(subnets=[
        subnet("apps", "10.20.4.0/27", delegations=[{"name": "d", "properties": {
            "serviceName": "Microsoft.App/environments"}}]),
        subnet("pe", "10.20.6.0/24", privateEndpointNetworkPolicies="Disabled",
               serviceEndpoints=[{"service": "Microsoft.KeyVault"}])])) is None


def test_identity_names():
    assert check_body("Microsoft.ManagedIdentity/userAssignedIdentities/id", {"location": "westeurope"})[1] == \
        "InvalidResourceName"
    tail = "Microsoft.ManagedIdentity/userAssignedIdentities/id-orthanc/federatedIdentityCredentials/a b"
    assert check_body(tail, {"properties": {}})[1] == "BadRequest"


@pytest.mark.parametrize("package,model,version,body,needle", [
    ("azure.mgmt.keyvault", "VaultCreateOrUpdateParameters", "2026-05-15",
     {"location": "x", "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}, "rbac": True}},
     "$.properties.rbac: unknown property"),
    ("azure.mgmt.containerservice", "ManagedCluster", "2026-08-01",
     {"location": "x", "properties": {"oidcIssuerProfile": {"enable": True}}},
     "$.properties.oidcIssuerProfile.enable: unknown property"),
])
def test_closed_models_refuse_unknown_keys(package, model, version, body, needle):
    problems = validate(model_class(package, (model,), version), body, "create", closed=True)
    assert any(p.startswith(needle) for p in problems), problems
    assert not any(p.startswith(needle) for p in validate(model_class(package, (model,), version), body, "create"))
