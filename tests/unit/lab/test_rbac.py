"""RBAC as ARM and the data planes apply it."""
from lab.azure import rbac

SUB = "/subscriptions/s1"
SVC = SUB + "/resourceGroups/rg/providers/Microsoft.HealthcareApis/workspaces/w/dicomservices/d"


def assignment(role, principal, scope):
    return {"properties": {"principalId": principal, "scope": scope,
                           "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"}}


def test_scope_covers_children_only_on_segment_boundaries():
    assert rbac.scope_covers(SUB, SVC)
    assert rbac.scope_covers(SVC, SVC)
    assert not rbac.scope_covers(SUB + "/resourceGroups/r", SUB + "/resourceGroups/rg")


def test_contributor_cannot_write_role_assignments_but_owner_can():
    action = "Microsoft.Authorization/roleAssignments/write"
    assert not rbac.role_allows("b24988ac-6180-42a0-ab88-20f7382dd24c", action)
    assert rbac.role_allows(rbac.OWNER, action)


def test_dicom_reader_reads_but_does_not_write():
    read = "Microsoft.HealthcareApis/workspaces/dicomservices/resources/read"
    write = "Microsoft.HealthcareApis/workspaces/dicomservices/resources/write"
    grants = [assignment(rbac.DICOM_DATA_READER, "p", SVC)]
    assert rbac.is_allowed(grants, "p", SVC, read, data=True)
    assert not rbac.is_allowed(grants, "p", SVC, write, data=True)
    assert not rbac.is_allowed(grants, "someone-else", SVC, read, data=True)


def test_owner_has_no_data_actions():
    grants = [assignment(rbac.OWNER, "p", SUB)]
    assert not rbac.is_allowed(grants, "p", SVC, "Microsoft.HealthcareApis/workspaces/dicomservices/resources/read",
                               data=True)
