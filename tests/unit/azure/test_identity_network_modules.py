"""The identity, Key Vault and network modules in-process against the in-memory ARM: check mode, create, no-op
with one GET, state absent, and the input each refuses before any request (issues 16 and 17)."""
import pytest

from fake_arm import FakeArm, SUBSCRIPTION
from module_runner import run_module

RG = "/subscriptions/%s/resourceGroups/rg" % SUBSCRIPTION
ISSUER = "https://oidc.lab.test/cluster1/"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

CASES = {
    "azure_user_assigned_identity": dict(resource_group="rg", name="id-orthanc", location="westeurope",
                                         tags={"workload": "pacs"}),
    "azure_federated_identity_credential": dict(resource_group="rg", identity="id-orthanc", name="aks-orthanc",
                                                issuer=ISSUER, subject="system:serviceaccount:pacs:orthanc"),
    "azure_key_vault": dict(resource_group="rg", name="kv-imaging", location="westeurope", tenant_id=TENANT,
                            public_network_access="Enabled",
                            network_acls=dict(ip_rules=["203.0.113.7", "198.51.100.0/24"])),
    "azure_virtual_network": dict(resource_group="rg", name="vnet-imaging", location="westeurope",
                                  address_prefixes=["10.20.0.0/16"], subnets=[
                                      dict(name="apps", address_prefix="10.20.4.0/27",
                                           delegations=["Microsoft.App/environments"]),
                                      dict(name="private-endpoints", address_prefix="10.20.6.0/24",
                                           private_endpoint_network_policies="Disabled",
                                           service_endpoints=["Microsoft.KeyVault"])]),
    "azure_private_dns_zone": dict(resource_group="rg", name="privatelink.vaultcore.azure.net"),
    "azure_private_endpoint": dict(resource_group="rg", name="pe-kv", location="westeurope", group_id="vault",
                                   subnet_id=RG + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe",
                                   target_resource_id=RG + "/providers/Microsoft.KeyVault/vaults/kv-imaging"),
}
VNET_ID = RG + "/providers/Microsoft.Network/virtualNetworks/vnet-imaging"
ZONE_ID = RG + "/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
PARENTS = {
    "azure_federated_identity_credential": "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orthanc",
}
LRO = {"azure_virtual_network": True, "azure_private_dns_zone": True, "azure_private_endpoint": True}  # module -> FakeArm lro mode (synchronous when absent)


def arm_for(name):
    arm = FakeArm(lro=LRO.get(name, False))
    if name in PARENTS:
        arm.put(RG + PARENTS[name], {"location": "westeurope"})
    return arm


# (state, check mode, changed, the methods written; None: only one GET may be sent)
CYCLE = [("present", True, True, []), ("present", False, True, ["PUT"]), ("present", False, False, None),
         ("absent", True, True, []), ("absent", False, True, ["DELETE"]), ("absent", False, False, [])]


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_mode_create_noop_absent(name):
    arm = arm_for(name)
    for state, check_mode, changed, written in CYCLE:
        arm.log.clear()
        result = run_module(name, dict(CASES[name], state=state), arm, check_mode=check_mode)
        assert result["changed"] is changed and "failed" not in result, (state, check_mode, result)
        if written is None:
            assert [m for m, _, _ in arm.log] == ["GET"], (state, arm.log)
        else:
            assert [m for m, _, _ in arm.writes()] == written, (state, check_mode, arm.writes())


def test_identity_returns_the_ids_azure_sets():
    arm = FakeArm(server_defaults={"properties": {"clientId": "c-1", "principalId": "p-1", "tenantId": "t-1"}})
    result = run_module("azure_user_assigned_identity", CASES["azure_user_assigned_identity"], arm)
    assert (result["client_id"], result["principal_id"], result["tenant_id"]) == ("c-1", "p-1", "t-1")
    assert result["id"].endswith("/userAssignedIdentities/id-orthanc")
    again = run_module("azure_user_assigned_identity", CASES["azure_user_assigned_identity"], arm)
    assert again["changed"] is False, "server-set ids must not count as a difference"


def test_federated_credential_subject_change_is_one_put_with_the_diff():
    arm = arm_for("azure_federated_identity_credential")
    args = CASES["azure_federated_identity_credential"]
    run_module("azure_federated_identity_credential", args, arm)
    arm.log.clear()
    changed = run_module("azure_federated_identity_credential",
                         dict(args, subject="system:serviceaccount:pacs:orthanc-v2"), arm)
    assert changed["diff"] == {"before": {"properties": {"subject": "system:serviceaccount:pacs:orthanc"}},
                               "after": {"properties": {"subject": "system:serviceaccount:pacs:orthanc-v2"}}}
    assert [m for m, _, _ in arm.log] == ["GET", "PUT"]


def test_federated_credential_needs_its_identity():
    arm = FakeArm()
    result = run_module("azure_federated_identity_credential", CASES["azure_federated_identity_credential"], arm,
                        check_mode=True)
    assert result["failed"] and "user-assigned identity 'id-orthanc' does not exist" in result["msg"], result
    assert arm.writes() == []


def test_key_vault_body_is_secure_by_default_and_ip_rules_compare_as_azure_answers():
    arm = FakeArm()
    run_module("azure_key_vault", CASES["azure_key_vault"], arm)
    props = arm.writes()[0][2]["properties"]
    assert props["enableRbacAuthorization"] is True and props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True and props["sku"] == {"family": "A", "name": "standard"}
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
                                    "ipRules": [{"value": "203.0.113.7/32"}, {"value": "198.51.100.0/24"}]}
    arm.log.clear()
    assert run_module("azure_key_vault", CASES["azure_key_vault"], arm)["changed"] is False


def test_key_vault_refuses_to_turn_purge_protection_off_before_any_write():
    arm = FakeArm()
    run_module("azure_key_vault", CASES["azure_key_vault"], arm)
    arm.log.clear()
    result = run_module("azure_key_vault", dict(CASES["azure_key_vault"], enable_purge_protection=False), arm)
    assert result["failed"] and "purge protection is on and Azure cannot turn it off" in result["msg"], result
    assert arm.writes() == []


def test_key_vault_tenant_comes_from_the_auth_options_or_is_asked_for():
    arm = FakeArm()
    args = dict(CASES["azure_key_vault"], tenant_id=None)
    result = run_module("azure_key_vault", args, arm, check_mode=True)
    assert result["failed"] and "Invalid tenant_id: it is required to create a vault" in result["msg"], result
    made = run_module("azure_key_vault", dict(args, tenant=TENANT), arm)
    assert arm.writes()[0][2]["properties"]["tenantId"] == TENANT and made["changed"]


def test_virtual_network_subnets_compare_in_any_order_and_with_azure_s_extra_fields():
    arm = arm_for("azure_virtual_network")
    args = CASES["azure_virtual_network"]
    run_module("azure_virtual_network", args, arm)
    path = RG + "/providers/Microsoft.Network/virtualNetworks/vnet-imaging"
    stored = arm.store[path.lower()]
    for subnet in stored["properties"]["subnets"]:  # what Azure adds to each subnet
        subnet["id"] = path + "/subnets/" + subnet["name"]
        subnet["properties"].update(provisioningState="Succeeded", ipConfigurations=[])
        if not subnet["properties"]["serviceEndpoints"]:
            del subnet["properties"]["serviceEndpoints"]  # ARM leaves empty lists out
    stored["properties"]["subnets"].reverse()
    arm.log.clear()
    again = run_module("azure_virtual_network", args, arm)
    assert again["changed"] is False, again["diff"]
    assert again["subnet_ids"]["apps"] == path + "/subnets/apps"
    fewer = run_module("azure_virtual_network", dict(args, subnets=args["subnets"][:1]), arm)
    assert fewer["changed"] and len(arm.writes()[-1][2]["properties"]["subnets"]) == 1


def test_virtual_network_without_subnets_keeps_the_existing_ones():
    arm = arm_for("azure_virtual_network")
    args = CASES["azure_virtual_network"]
    run_module("azure_virtual_network", args, arm)
    result = run_module("azure_virtual_network", dict(args, subnets=None, tags={"env": "prod"}), arm)
    assert result["changed"]
    assert [s["name"] for s in arm.writes()[-1][2]["properties"]["subnets"]] == ["apps", "private-endpoints"]


def test_dns_zone_with_links_is_planned_in_check_mode_and_links_go_before_the_zone():
    arm = arm_for("azure_private_dns_zone")
    args = dict(CASES["azure_private_dns_zone"], virtual_network_links=[dict(name="vnet", virtual_network_id=VNET_ID)])
    planned = run_module("azure_private_dns_zone", args, arm, check_mode=True)
    assert planned["changed"] and arm.writes() == [], planned
    assert planned["diff"]["after"]["virtualNetworkLinks"]["vnet"]["properties"]["virtualNetwork"] == {"id": VNET_ID}
    run_module("azure_private_dns_zone", args, arm)
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in arm.writes()] == [
        ("PUT", "privatelink.vaultcore.azure.net"), ("PUT", "vnet")]
    assert run_module("azure_private_dns_zone", args, arm)["changed"] is False
    arm.log.clear()
    run_module("azure_private_dns_zone", dict(args, state="absent"), arm)
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in arm.writes()] == [
        ("DELETE", "vnet"), ("DELETE", "privatelink.vaultcore.azure.net")]


def test_private_endpoint_zone_group_follows_the_zone_list():
    arm = arm_for("azure_private_endpoint")
    args = dict(CASES["azure_private_endpoint"], private_dns_zone_ids=[ZONE_ID])
    planned = run_module("azure_private_endpoint", args, arm, check_mode=True)
    assert planned["diff"]["after"]["privateDnsZoneGroup"]["properties"]["privateDnsZoneConfigs"] == [
        {"name": "privatelink-vaultcore-azure-net", "properties": {"privateDnsZoneId": ZONE_ID}}]
    assert arm.writes() == []
    run_module("azure_private_endpoint", args, arm)
    assert [p.rsplit("/", 1)[-1] for _, p, _ in arm.writes()] == ["pe-kv", "default"]
    arm.log.clear()
    assert run_module("azure_private_endpoint", args, arm)["changed"] is False and len(arm.log) == 2
    cleared = run_module("azure_private_endpoint", dict(args, private_dns_zone_ids=[]), arm)
    assert cleared["changed"] and arm.writes()[-1][0] == "DELETE" and arm.writes()[-1][1].endswith("/default")
    moved = run_module("azure_private_endpoint", dict(args, subnet_id=args["subnet_id"] + "2"), arm)
    assert moved["failed"] and "properties.subnet.id cannot be changed" in moved["msg"], moved


def subnet(name, prefix, **more):
    return dict(dict(name=name, address_prefix=prefix), **more)


REFUSED = [
    ("azure_user_assigned_identity", dict(name="id"), "Invalid name"),
    ("azure_user_assigned_identity", dict(name="-orthanc"), "Invalid name"),
    ("azure_federated_identity_credential", dict(issuer="http://oidc.lab.test/"), "Invalid issuer"),
    ("azure_federated_identity_credential", dict(subject=" "), "Invalid subject"),
    ("azure_federated_identity_credential", dict(audiences=[]), "Invalid audiences"),
    ("azure_federated_identity_credential", dict(name="a b"), "Invalid name"),
    ("azure_federated_identity_credential", dict(subject=None), "Invalid subject"),
    ("azure_key_vault", dict(name="kv--imaging"), "Invalid name"),
    ("azure_key_vault", dict(name="1kv"), "Invalid name"),
    ("azure_key_vault", dict(soft_delete_retention_days=91), "Invalid soft_delete_retention_days"),
    ("azure_key_vault", dict(tenant_id="contoso"), "Invalid tenant_id"),
    ("azure_key_vault", dict(network_acls=dict(virtual_network_subnet_ids=["/subscriptions/x"])),
     "Invalid network_acls.virtual_network_subnet_ids"),
    ("azure_key_vault", dict(recover=True, purge=True), "Invalid purge"),
    ("azure_virtual_network", dict(address_prefixes=["10.20.0.1/16"]), "Invalid address_prefixes"),
    ("azure_virtual_network", dict(subnets=[subnet("a", "10.30.0.0/24")]), "lies outside the address space"),
    ("azure_virtual_network", dict(subnets=[subnet("a", "10.20.0.0/24"), subnet("b", "10.20.0.128/25")]),
     "Invalid subnets[b].address_prefix: 10.20.0.128/25 overlaps subnet 'a'"),
    ("azure_virtual_network", dict(subnets=[subnet("a", "10.20.0.0/30")]), "smaller than /29"),
    ("azure_virtual_network", dict(subnets=[subnet("a", "10.20.0.0/24"), subnet("a", "10.20.1.0/24")]),
     "used twice"),
    ("azure_virtual_network", dict(subnets=[subnet("a-", "10.20.0.0/24")]), "Invalid subnets[].name"),
    ("azure_virtual_network", dict(subnets=[subnet("a", "10.20.0.0/24", delegations=["postgres"])]),
     "Invalid subnets[a].delegations"),
    ("azure_virtual_network", dict(name="vnet/x"), "Invalid name"),
    ("azure_private_dns_zone", dict(name="localhost"), "Invalid name"),
    ("azure_private_dns_zone", dict(virtual_network_links=[dict(name="l", virtual_network_id=RG)]),
     "Invalid virtual_network_links[l].virtual_network_id"),
    ("azure_private_endpoint", dict(group_id="blob"), "Invalid group_id: 'blob' is not a sub-resource"),
    ("azure_private_endpoint", dict(subnet_id=VNET_ID), "Invalid subnet_id"),
    ("azure_private_endpoint", dict(target_resource_id=None), "Invalid target_resource_id"),
    ("azure_private_endpoint", dict(private_dns_zone_ids=[VNET_ID]), "Invalid private_dns_zone_ids"),
]


@pytest.mark.parametrize("name,change,needle", REFUSED, ids=["%s-%s" % (n, "-".join(c)) for n, c, _ in REFUSED])
def test_bad_input_is_refused_before_any_request(name, change, needle):
    arm = arm_for(name)
    result = run_module(name, dict(CASES[name], **change), arm)
    assert result.get("failed") and needle in result["msg"], result
    assert arm.log == []


def test_an_empty_list_matches_a_list_arm_leaves_out():
    from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import (
        differences, values_match)
    assert values_match(None, []) and not values_match(None, ["Microsoft.KeyVault"])
    assert not values_match([{"service": "Microsoft.KeyVault"}], [])
    assert differences({"properties": {}}, {"properties": {"serviceEndpoints": []}}) == []
