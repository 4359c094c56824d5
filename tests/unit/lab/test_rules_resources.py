"""Resource group names, locations, tags, envelope shapes and api-version formats, as ARM refuses them."""
import pytest

from lab.azure import rules
from lab.azure.rules import resources

from rules_helpers import check_body, refusal


@pytest.mark.parametrize("name", ["rg", "RG_a-b.c(d)", "a" * 90, "rg-ÉÜ"])
def test_valid_resource_group_names_pass(name):
    assert refusal(resources.check_resource_group_name, name) is None


@pytest.mark.parametrize("name", ["", "a" * 91, "rg.", "rg\n", "rg name", "rg/x", "rg%", "rg*"])
def test_invalid_resource_group_names_are_refused(name):
    status, code, message = refusal(resources.check_resource_group_name, name)
    assert (status, code) == (400, "InvalidResourceGroupName") and repr(name) in message


@pytest.mark.parametrize("location", ["westeurope", "West Europe", "EASTUS2"])
def test_real_regions_pass_for_resource_groups(location):
    assert refusal(rules.check_resource_group, "rg", {"location": location}) is None


@pytest.mark.parametrize("location", ["mars", "", "westeurope2", None, 5])
def test_unknown_regions_are_refused_for_resource_groups(location):
    status, code, message = refusal(rules.check_resource_group, "rg", {"location": location})
    assert code == "LocationNotAvailableForResourceGroup" and repr(location).strip("'") in message


def test_unknown_region_is_refused_for_a_resource_type():
    status, code, message = check_body("Microsoft.ManagedIdentity/userAssignedIdentities/id1", {"location": "moon"})
    assert code == "LocationNotAvailableForResourceType" and "'moon'" in message
    assert "Microsoft.ManagedIdentity/userAssignedIdentities" in message


def test_private_dns_zones_live_in_global():
    assert check_body("Microsoft.Network/privateDnsZones/privatelink.x", {"location": "global"}) is None


@pytest.mark.parametrize("tags, code", [
    ([1], "InvalidTagsFormat"), ({"a": 1}, "InvalidTagValue"), ({"a/b": "x"}, "InvalidTagNameCharacters"),
    ({"a": "x" * 257}, "InvalidTagValueLength"), ({str(i): "x" for i in range(51)}, "InvalidTagsCount"),
])
def test_bad_tags_are_refused(tags, code):
    assert refusal(rules.check_resource_group, "rg", {"location": "westeurope", "tags": tags})[1] == code


@pytest.mark.parametrize("key", ["properties", "sku", "identity"])
def test_envelope_fields_that_are_not_objects_are_refused(key):
    status, code, message = check_body("Microsoft.KeyVault/vaults/kv1", {"location": "westeurope", key: [1]})
    assert (status, code) == (400, "InvalidRequestContent") and f"'{key}'" in message


@pytest.mark.parametrize("version", ["2024-03-31", "2024-03-31-preview"])
def test_well_formed_api_versions_pass(version):
    assert refusal(rules.check_api_version, version) is None


@pytest.mark.parametrize("version", ["latest", "2024-3-31", "2024-03-31\n", "", "2024-03-31-xyz"])
def test_malformed_api_versions_are_refused(version):
    assert refusal(rules.check_api_version, version)[1] == "InvalidApiVersionParameter"


def test_resource_group_api_versions_newer_than_the_sdk_knows_are_refused():
    assert refusal(rules.check_resource_group_api_version, "2099-01-01")[1] == "InvalidApiVersionParameter"
    assert refusal(rules.check_resource_group_api_version, "2021-04-01") is None
