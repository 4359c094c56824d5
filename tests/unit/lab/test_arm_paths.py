"""ARM paths: resources, nested resources, extension resources, collections and actions."""
from lab.azure.arm_paths import ArmPath

RG = "/subscriptions/s/resourceGroups/rg"


def test_nested_resource():
    p = ArmPath(RG + "/providers/Microsoft.HealthcareApis/workspaces/w/dicomservices/d", "PUT")
    assert (p.kind, p.type, p.name) == ("resource", "Microsoft.HealthcareApis/workspaces/dicomservices", "d")
    assert p.parent_id == RG + "/providers/Microsoft.HealthcareApis/workspaces/w"


def test_extension_resource_scope_is_the_target():
    p = ArmPath(RG + "/providers/Microsoft.HealthcareApis/workspaces/w/providers/Microsoft.Authorization/"
                     "roleAssignments/a", "PUT")
    assert p.scope == RG + "/providers/Microsoft.HealthcareApis/workspaces/w"
    assert p.type == "Microsoft.Authorization/roleAssignments" and p.parent_id is None


def test_collection_and_action():
    assert ArmPath(RG + "/providers/Microsoft.Storage/storageAccounts", "GET").kind == "collection"
    action = ArmPath(RG + "/providers/Microsoft.Storage/storageAccounts/sa/listKeys", "POST")
    assert (action.kind, action.action, action.name) == ("action", "listKeys", "sa")
