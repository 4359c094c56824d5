"""Missing parents fail before any write (check mode too), and azure_role_assignment grants and revokes exactly
what it was asked: validated scope and role, principal + role + scope matched by the module, not the server."""
import pytest

from fake_arm import SUBSCRIPTION
from module_runner import run_module
from test_modules import CASES, PARENTS, PRINCIPAL, RG, arm_for

ROLE_DEFS = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/" % SUBSCRIPTION
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
OTHER = "99999999-8888-7777-6666-555555555555"
CONFIGURATION = dict(resource_group="rg", server="pacs-index", name="work_mem", value="4096")
IN_GROUP = sorted(name for name in CASES if name != "azure_resource_group")


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("name", IN_GROUP)
def test_a_missing_resource_group_fails_before_any_write(name, check_mode):
    arm = arm_for(name, parents=False)
    result = run_module(name, CASES[name], arm, check_mode=check_mode)
    assert result.get("failed") and "ResourceGroupNotFound" in result["msg"] and "'rg'" in result["msg"], result
    assert "What to do" in result["msg"]
    assert arm.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("name", sorted(PARENTS))
def test_a_missing_parent_resource_fails_before_any_write(name, check_mode):
    arm = arm_for(name, parents=False)
    arm.add_group("rg")
    result = run_module(name, CASES.get(name, CONFIGURATION), arm, check_mode=check_mode)
    parent = PARENTS[name].rsplit("/", 1)[-1]
    assert result.get("failed") and "does not exist" in result["msg"] and parent in result["msg"], result
    assert arm.writes() == []


@pytest.mark.parametrize("name", IN_GROUP)
def test_absent_in_a_missing_group_is_already_done(name):
    if name == "azure_storage_blob_service_properties":
        pytest.skip("no state option: the blob service lives as long as its account")
    arm = arm_for(name, parents=False)
    result = run_module(name, dict(CASES[name], state="absent"), arm)
    assert result.get("failed") is None and result["changed"] is False, result
    assert arm.writes() == []


def test_a_missing_subscription_fails_a_resource_group_before_any_write():
    arm = arm_for("azure_resource_group")
    arm.fail("GET", "/resourcegroups/rg", 404, "SubscriptionNotFound",
             "The subscription '%s' could not be found." % SUBSCRIPTION)
    for check_mode in (True, False):
        result = run_module("azure_resource_group", CASES["azure_resource_group"], arm, check_mode=check_mode)
        assert result.get("failed") and "SubscriptionNotFound" in result["msg"] and SUBSCRIPTION in result["msg"]
    assert arm.writes() == []


def test_create_reads_the_parent_once_and_a_noop_still_costs_one_get():
    arm = arm_for("azure_dicom_service")
    run_module("azure_dicom_service", CASES["azure_dicom_service"], arm)
    gets = [path for method, path, _ in arm.log if method == "GET" and "/operations/" not in path]
    # the service (404), its workspace (found: the group is not read), then the SDK's final GET after the LRO
    assert [p.rsplit("/", 1)[-1] for p in gets] == ["pacs", "imagingws", "pacs"]
    arm.log.clear()
    run_module("azure_dicom_service", CASES["azure_dicom_service"], arm)
    assert [m for m, _, _ in arm.log] == ["GET"]


# ---------------------------------------------------------------- azure_role_assignment


def assignment(arm, name, principal, role_guid, scope=RG):
    path = scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
    arm.put(path, {"properties": {"scope": scope, "principalId": principal, "principalType": "ServicePrincipal",
                                  "roleDefinitionId": ROLE_DEFS + role_guid}})
    return path


def role_args(**overrides):
    return dict(CASES["azure_role_assignment"], **overrides)


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("scope", [
    RG + "/../..", RG + "/..", RG + "/", RG + "//x", RG + "\n", "/", "",
    "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/../../../.." % SUBSCRIPTION,
    "/providers/Microsoft.Management/managementGroups/root",
])
def test_bad_scopes_are_refused_before_any_request(scope, state, check_mode):
    arm = arm_for("azure_role_assignment")
    result = run_module("azure_role_assignment", role_args(scope=scope, state=state, role="Reader"), arm,
                        check_mode=check_mode)
    assert result.get("failed") and "Invalid scope" in result["msg"] and repr(scope) in result["msg"], result
    assert arm.log == []


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("role", ["", "  ", "Reader\n", "\nOwner"])
def test_empty_or_blank_roles_are_refused_before_any_request(role, state, check_mode):
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000001", PRINCIPAL, OWNER)
    result = run_module("azure_role_assignment", role_args(role=role, state=state), arm, check_mode=check_mode)
    assert result.get("failed") and "Invalid role" in result["msg"] and "DICOM Data Owner" in result["msg"], result
    assert arm.log == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_an_unknown_role_never_resolves_to_what_a_lax_filter_returns(state):
    arm = arm_for("azure_role_assignment")
    arm.put(ROLE_DEFS + OWNER, {"name": OWNER, "properties": {"roleName": "Owner"}})
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000001", PRINCIPAL, OWNER)
    result = run_module("azure_role_assignment", role_args(role="Imaging Uploader", state=state), arm)
    assert result.get("failed") and "'Imaging Uploader'" in result["msg"] and "Storage Blob Data Reader" in result["msg"]
    assert arm.writes() == []


def test_a_custom_role_is_found_by_its_exact_name():
    arm = arm_for("azure_role_assignment")
    custom = "11111111-0000-4000-8000-00000000c0de"
    arm.put(ROLE_DEFS + OWNER, {"name": OWNER, "properties": {"roleName": "Owner"}})
    arm.put(ROLE_DEFS + custom, {"name": custom, "properties": {"roleName": "Imaging Uploader"}})
    result = run_module("azure_role_assignment", role_args(role="imaging uploader"), arm, check_mode=True)
    assert result["changed"] and result["role_definition_id"].endswith(custom)


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_never_deletes_another_principals_assignment(check_mode):
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000002", OTHER, READER)
    result = run_module("azure_role_assignment", role_args(role="Reader", state="absent"), arm, check_mode=check_mode)
    assert result["changed"] is False and arm.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_never_deletes_an_inherited_or_other_role_assignment(check_mode):
    arm = arm_for("azure_role_assignment")
    subscription = "/subscriptions/" + SUBSCRIPTION
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000003", PRINCIPAL, READER, scope=subscription)
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000004", PRINCIPAL, OWNER)
    arm.log.clear()
    result = run_module("azure_role_assignment", role_args(role="Reader", state="absent"), arm, check_mode=check_mode)
    assert result["changed"] is False and arm.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_deletes_exactly_the_matching_assignment(check_mode):
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000002", OTHER, READER)
    mine = assignment(arm, "0c8e2b6a-0000-4000-8000-000000000005", PRINCIPAL.upper(), READER)
    result = run_module("azure_role_assignment", role_args(role="reader", state="absent"), arm, check_mode=check_mode)
    assert result["changed"] is True
    assert arm.writes() == ([] if check_mode else [("DELETE", mine, None)])


@pytest.mark.parametrize("check_mode", [False, True])
def test_grant_in_a_missing_group_fails_before_any_write(check_mode):
    arm = arm_for("azure_role_assignment", parents=False)
    result = run_module("azure_role_assignment", role_args(), arm, check_mode=check_mode)
    assert result.get("failed") and "ResourceGroupNotFound" in result["msg"] and "'rg'" in result["msg"], result
    assert arm.writes() == []


@pytest.mark.parametrize("principal", ["orthanc", PRINCIPAL + "\n", " " + PRINCIPAL, ""])
def test_principal_must_be_a_guid(principal):
    arm = arm_for("azure_role_assignment")
    result = run_module("azure_role_assignment", role_args(principal_id=principal), arm)
    assert result.get("failed") and "Invalid principal_id" in result["msg"] and repr(principal) in result["msg"]
    assert arm.log == []


@pytest.mark.parametrize("subscription", [SUBSCRIPTION + "\n", "../providers", "my-subscription"])
def test_subscription_id_must_be_a_guid(subscription):
    arm = arm_for("azure_storage_account")
    result = run_module("azure_storage_account", dict(CASES["azure_storage_account"], subscription_id=subscription), arm)
    assert result.get("failed") and "Invalid subscription_id" in result["msg"] and repr(subscription) in result["msg"]
    assert arm.log == []


def test_a_parent_the_identity_may_not_read_is_left_to_arm():
    arm = arm_for("azure_blob_container", parents=False)
    arm.add_group("rg")
    arm.fail("GET", "/storageaccounts/starchive", 403, "AuthorizationFailed", "no read on the account")
    result = run_module("azure_blob_container", CASES["azure_blob_container"], arm)
    assert result["changed"] and [m for m, _, _ in arm.writes()] == ["PUT"], result


def test_a_grant_reads_only_the_assignments_not_the_group_above():
    arm = arm_for("azure_role_assignment")
    result = run_module("azure_role_assignment", role_args(), arm)
    assert result["changed"] and [m for m, _, _ in arm.log] == ["GET", "PUT"]
