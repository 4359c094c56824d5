"""Storage accounts, containers and network rules: what the Storage resource provider refuses."""
import pytest

from lab.azure.rules import network

from rules_helpers import check_body

ACCOUNT = "Microsoft.Storage/storageAccounts/"


def account_body(**props):
    body = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "properties": props}
    return body


def test_a_valid_account_passes():
    acls = {"defaultAction": "Deny", "bypass": "Logging, AzureServices",
            "ipRules": [{"value": "203.0.113.0/27", "action": "Allow"}, {"value": "198.51.100.7"}]}
    assert check_body(ACCOUNT + "goodname1", account_body(networkAcls=acls, minimumTlsVersion="TLS1_2")) is None


@pytest.mark.parametrize("name", ["ab", "a" * 25, "Upper1", "with-hyphen", "name\n"])
def test_bad_account_names_are_refused(name):
    status, code, message = check_body(ACCOUNT + name, account_body())
    assert (status, code) == (400, "AccountNameInvalid") and repr(name) in message


@pytest.mark.parametrize("field, body", [
    ("sku.name", dict(account_body(), sku={"name": "Standard_Cheap"})),
    ("kind", dict(account_body(), kind="StorageV3")),
    ("properties.minimumTlsVersion", account_body(minimumTlsVersion="TLS0_9")),
    ("networkAcls.defaultAction", account_body(networkAcls={"defaultAction": "Maybe"})),
    ("networkAcls.bypass", account_body(networkAcls={"bypass": "Everyone"})),
])
def test_values_azure_does_not_offer_are_refused(field, body):
    status, code, message = check_body(ACCOUNT + "goodname1", body)
    assert code == "InvalidValuesForRequestParameters" and field in message


@pytest.mark.parametrize("value", ["10.0.0.0/8", "192.168.1.1", "203.0.113.5/32", "203.0.113.4/31",
                                   "203.0.113.5/24", "2001:db8::/64", "300.1.1.1", "1.2.3", "01.2.3.4", "", None])
def test_bad_ip_rules_are_refused(value):
    body = account_body(networkAcls={"defaultAction": "Deny", "ipRules": [{"value": value, "action": "Allow"}]})
    status, code, message = check_body(ACCOUNT + "goodname1", body)
    assert code == "InvalidValuesForRequestParameters" and "networkAcls.ipRule[0].value" in message


def test_storage_ip_rule_problems_say_why():
    assert "private" in network.storage_rule_problem("172.16.0.0/12")
    assert "host bits" in network.storage_rule_problem("4.213.28.114/30")
    assert network.storage_rule_problem("4.213.28.112/30") is None


def test_http_key_vault_uri_is_refused():
    body = account_body(encryption={"keySource": "Microsoft.Keyvault", "keyvaultproperties": {
        "keyvaulturi": "http://vault.example/", "keyname": "k"}})
    status, code, message = check_body(ACCOUNT + "goodname1", body)
    assert "encryption.keyvaultproperties.keyvaulturi" in message and "https" in message


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Studies", "two--hyphens", "-start", "end-", "has_underscore"])
def test_bad_container_names_are_refused(name):
    tail = ACCOUNT + "goodname1/blobServices/default/containers/" + name
    status, code, message = check_body(tail, {"properties": {}})
    assert (status, code) == (400, "ContainerOperationFailure") and repr(name) in message


def test_a_valid_container_name_passes():
    assert check_body(ACCOUNT + "goodname1/blobServices/default/containers/studies-2024", {"properties": {}}) is None


@pytest.mark.parametrize("days", [0, 366, -1, "7"])
def test_soft_delete_days_out_of_range_are_refused(days):
    body = {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": days}}}
    status, code, message = check_body(ACCOUNT + "goodname1/blobServices/default", body)
    assert "deleteRetentionPolicy.days" in message


@pytest.mark.parametrize("metadata", [{"bad-name": "x"}, {"1st": "x"}, {"ok": 5}, {"ok": "caf\u00e9"}, {"ok": "a\nb"}])
def test_container_metadata_that_cannot_be_a_header_is_refused(metadata):
    tail = ACCOUNT + "goodname1/blobServices/default/containers/studies"
    status, code, message = check_body(tail, {"properties": {"metadata": metadata}})
    assert code == "ContainerOperationFailure" and "properties.metadata." + next(iter(metadata)) in message
