"""Lifecycle management policies: the rules Azure refuses."""
import copy

import pytest

from rules_helpers import check_body

POLICY = "Microsoft.Storage/storageAccounts/goodname1/managementPolicies/default"
GOOD = {"properties": {"policy": {"rules": [{
    "name": "orthancarchive", "enabled": True, "type": "Lifecycle",
    "definition": {"filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["studies/"]},
                   "actions": {"baseBlob": {"tierToCool": {"daysAfterModificationGreaterThan": 30},
                                            "tierToArchive": {"daysAfterModificationGreaterThan": 365},
                                            "delete": {"daysAfterModificationGreaterThan": 3650}}}}}]}}}


def with_rule(**changes):
    body = copy.deepcopy(GOOD)
    rule = body["properties"]["policy"]["rules"][0]
    for path, value in changes.items():
        node = rule
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return body


def test_the_roles_policy_passes():
    assert check_body(POLICY, GOOD) is None


@pytest.mark.parametrize("body, field", [
    (with_rule(definition__actions__baseBlob__tierToArchive={"daysAfterModificationGreaterThan": 4000}),
     "tierToArchive"),
    (with_rule(definition__actions__baseBlob__delete={"daysAfterModificationGreaterThan": -1}), "delete"),
    (with_rule(definition__actions__baseBlob__tierToCool={"daysAfterModificationGreaterThan": 100000}),
     "tierToCool"),
    (with_rule(definition__actions__baseBlob__tierToCool={"daysAfterModificationGreaterThan": 1.5}), "tierToCool"),
    (with_rule(definition__actions__baseBlob__shred={"daysAfterModificationGreaterThan": 1}), "shred"),
    (with_rule(definition__actions__baseBlob__tierToCool={"daysAfterModificationGreaterThan": 1,
                                                          "daysAfterLastAccessTimeGreaterThan": 1}), "tierToCool"),
    (with_rule(definition__actions__baseBlob__tierToCool={}), "tierToCool"),
    (with_rule(definition__actions__snapshot={"delete": {"daysAfterModificationGreaterThan": 1}}), "snapshot"),
    (with_rule(definition__actions__hotBlob={"delete": {"daysAfterModificationGreaterThan": 1}}), "hotBlob"),
    (with_rule(name="orthanc-archive"), "name"),
    (with_rule(name="x" * 257), "name"),
    (with_rule(type="Deletion"), "type"),
    (with_rule(definition__filters__blobTypes=[]), "blobTypes"),
    (with_rule(definition__filters__blobTypes=["pageBlob"]), "blobTypes"),
    (with_rule(definition__filters__blobTypes=["appendBlob"]), "append blobs"),
    (with_rule(definition__filters__prefixMatch=["/studies"]), "prefixMatch[0]"),
    (with_rule(definition__filters__prefixMatch=["Studies/"]), "prefixMatch[0]"),
    (with_rule(definition__filters__prefixMatch=[f"c{i}/" for i in range(11)]), "prefixMatch"),
])
def test_rules_azure_rejects_are_refused_naming_the_field(body, field):
    status, code, message = check_body(POLICY, body)
    assert (status, code) == (400, "InvalidValuesForRequestParameters") and field in message


def test_duplicate_rule_names_are_refused():
    body = copy.deepcopy(GOOD)
    body["properties"]["policy"]["rules"].append(copy.deepcopy(body["properties"]["policy"]["rules"][0]))
    assert "unique" in check_body(POLICY, body)[2]


def test_the_policy_must_be_named_default():
    assert "default" in check_body(POLICY.replace("/default", "/other"), GOOD)[2]
