"""The pure comparison at the heart of idempotency: only what the user set, nested, lists, read-only fields."""
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import (
    deep_merge, diff_view, differences, drop_paths, prune, values_match)

SERVER = {
    "id": "/subscriptions/s/resourceGroups/RG/providers/X/y/z",
    "location": "westeurope",
    "tags": {"owner": "pacs"},
    "properties": {
        "provisioningState": "Succeeded",
        "serviceUrl": "https://ws-z.dicom.example",
        "publicNetworkAccess": "Disabled",
        "corsConfiguration": {"origins": ["https://b", "https://a"], "maxAge": 600, "allowCredentials": False},
        "storageConfiguration": {"storageResourceId": "/SUBSCRIPTIONS/S/resourceGroups/rg/x", "fileSystemName": "f"},
    },
}


def test_unset_fields_and_server_defaults_are_not_compared():
    desired = prune({"location": "West Europe", "properties": {"publicNetworkAccess": "Disabled",
                                                                "corsConfiguration": None}})
    assert differences(SERVER, desired) == []


def test_nested_change_is_reported_at_its_own_path():
    desired = {"properties": {"corsConfiguration": {"maxAge": 60}}}
    assert differences(SERVER, desired) == [("properties.corsConfiguration.maxAge", 600, 60)]


def test_lists_compare_without_order_but_with_length():
    same = {"properties": {"corsConfiguration": {"origins": ["https://a", "https://b"]}}}
    fewer = {"properties": {"corsConfiguration": {"origins": ["https://a"]}}}
    assert differences(SERVER, same) == []
    assert differences(SERVER, fewer) == [("properties.corsConfiguration.origins", ["https://b", "https://a"],
                                           ["https://a"])]


def test_lists_of_dicts_match_items_as_subsets():
    current = {"rules": [{"value": "1.2.3.4", "action": "Allow", "state": "x"}, {"value": "5.6.7.8", "action": "Allow"}]}
    assert values_match(current["rules"], [{"value": "5.6.7.8"}, {"value": "1.2.3.4", "action": "Allow"}])
    assert not values_match(current["rules"], [{"value": "5.6.7.8"}, {"value": "9.9.9.9"}])


def test_exact_paths_catch_removed_keys():
    assert differences(SERVER, {"tags": {"owner": "pacs"}}, exact=("tags",)) == []
    assert differences(SERVER, {"tags": {}}, exact=("tags",)) == [("tags", {"owner": "pacs"}, {})]
    # without exact, {} would be a subset of anything
    assert differences(SERVER, {"tags": {}}) == []


def test_arm_ids_and_locations_ignore_case_and_spaces():
    desired = {"location": "West Europe",
               "properties": {"storageConfiguration": {"storageResourceId": "/subscriptions/s/resourcegroups/RG/X"}}}
    assert differences(SERVER, desired) == []


def test_booleans_are_not_numbers():
    assert not values_match(0, False)
    assert not values_match(1, True)
    assert values_match(False, False)


def test_read_only_paths_are_ignored():
    desired = {"properties": {"serviceUrl": "https://other", "provisioningState": "Failed"}}
    assert differences(SERVER, desired, ignore=("properties.serviceUrl", "properties.provisioningState")) == []


def test_case_insensitive_paths():
    current = {"properties": {"charset": "utf8"}}
    assert differences(current, {"properties": {"charset": "UTF8"}}, case_insensitive=("properties.charset",)) == []
    assert differences(current, {"properties": {"charset": "UTF8"}}) != []


def test_diff_view_holds_only_compared_fields():
    found = differences(SERVER, {"properties": {"corsConfiguration": {"maxAge": 60}}, "location": "westeurope"})
    assert diff_view(found) == {"before": {"properties": {"corsConfiguration": {"maxAge": 600}}},
                                "after": {"properties": {"corsConfiguration": {"maxAge": 60}}}}


def test_put_body_keeps_server_fields_and_drops_read_only():
    body = deep_merge(drop_paths(SERVER, ["id", "properties.provisioningState", "properties.serviceUrl"]),
                      {"properties": {"corsConfiguration": {"maxAge": 60}}})
    assert "id" not in body and "provisioningState" not in body["properties"]
    assert body["properties"]["corsConfiguration"] == {"origins": ["https://b", "https://a"], "maxAge": 60,
                                                       "allowCredentials": False}
    assert SERVER["properties"]["corsConfiguration"]["maxAge"] == 600  # the input is not mutated


def test_prune_keeps_explicit_empty_values():
    assert prune({"a": None, "b": {}, "c": [], "d": {"e": None}}) == {"b": {}, "c": [], "d": {}}


def test_exact_identity_map_ignores_what_azure_fills_under_each_identity():
    """A user-assigned identity is given as {id: {}}; Azure answers {ID: {principalId, clientId}}: no change."""
    uai = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pacs"
    server = {"identity": {"type": "UserAssigned", "userAssignedIdentities": {
        uai.replace("resourceGroups", "resourcegroups"): {"principalId": "p-1", "clientId": "c-1"}}}}
    path = ("identity.userAssignedIdentities",)
    assert differences(server, {"identity": {"type": "UserAssigned", "userAssignedIdentities": {uai: {}}}},
                       exact=path) == []
    other = uai.replace("id-pacs", "id-other")
    assert differences(server, {"identity": {"userAssignedIdentities": {other: {}}}}, exact=path) != []
    both = {"identity": {"userAssignedIdentities": {uai: {}, other: {}}}}
    assert [p for p, _, _ in differences(server, both, exact=path)] == ["identity.userAssignedIdentities"]
