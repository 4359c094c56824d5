"""azure_role_assignment with several grants on one scope (issue 17: one read per resource on a no-op converge):
the scope's assignments are listed once for all of them, each grant is matched there, only the missing ones are
written, and every entry is checked before any call."""
import pytest

from fake_arm import SUBSCRIPTION
from module_runner import run_module
from test_modules import PRINCIPAL, RG, arm_for
from test_parents_and_roles import OTHER, READER, assignment

VAULT = RG + "/providers/Microsoft.KeyVault/vaults/kv"
GRANTS = [{"principal_id": PRINCIPAL, "role": "Reader"}, {"principal_id": OTHER, "role": "DICOM Data Owner"}]
OWNER_OF_DICOM = "58a3b984-7adf-4c20-983a-32417c86fbc8"


def grants_args(**overrides):
    return dict(dict(scope=RG, assignments=GRANTS), **overrides)


def lists(arm):
    return [path for method, path, _ in arm.log if method == "GET"]


def test_a_noop_with_two_grants_reads_the_scope_once():
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000011", PRINCIPAL, READER)
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000012", OTHER, OWNER_OF_DICOM)
    arm.log.clear()
    result = run_module("azure_role_assignment", grants_args(), arm)
    assert result["changed"] is False, result
    assert len(lists(arm)) == 1 and arm.writes() == []
    assert [a["changed"] for a in result["assignments"]] == [False, False]
    assert result["assignments"][1]["role_definition_id"].endswith(OWNER_OF_DICOM)


@pytest.mark.parametrize("check_mode", [False, True])
def test_only_the_missing_grant_is_written(check_mode):
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000011", PRINCIPAL, READER)
    arm.log.clear()
    result = run_module("azure_role_assignment", grants_args(), arm, check_mode=check_mode)
    assert result["changed"] is True and [a["changed"] for a in result["assignments"]] == [False, True]
    assert len(lists(arm)) == 1
    writes = arm.writes()
    assert len(writes) == (0 if check_mode else 1)
    if writes:
        assert writes[0][0] == "PUT" and writes[0][2]["properties"]["principalId"] == OTHER


def test_another_scope_or_role_is_not_taken_for_a_grant():
    arm = arm_for("azure_role_assignment")
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000013", PRINCIPAL, READER, scope="/subscriptions/" + SUBSCRIPTION)
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000014", OTHER, READER)
    result = run_module("azure_role_assignment", grants_args(), arm, check_mode=True)
    assert [a["changed"] for a in result["assignments"]] == [True, True]


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_deletes_exactly_the_matching_grants(check_mode):
    arm = arm_for("azure_role_assignment")
    mine = assignment(arm, "0c8e2b6a-0000-4000-8000-000000000015", PRINCIPAL, READER)
    assignment(arm, "0c8e2b6a-0000-4000-8000-000000000016", OTHER, READER)  # not a grant asked for
    arm.log.clear()
    result = run_module("azure_role_assignment", grants_args(state="absent"), arm, check_mode=check_mode)
    assert [a["changed"] for a in result["assignments"]] == [True, False]
    assert len(lists(arm)) == 1
    assert arm.writes() == ([] if check_mode else [("DELETE", mine, None)])


@pytest.mark.parametrize("bad, message", [
    ({"principal_id": "orthanc", "role": "Reader"}, "Invalid assignments[1].principal_id"),
    ({"principal_id": OTHER, "role": "  "}, "Invalid assignments[1].role"),
])
def test_a_bad_grant_is_refused_before_any_request(bad, message):
    arm = arm_for("azure_role_assignment")
    result = run_module("azure_role_assignment", grants_args(assignments=[GRANTS[0], bad]), arm)
    assert result.get("failed") and message in result["msg"], result
    assert arm.log == []


@pytest.mark.parametrize("args", [
    grants_args(principal_id=PRINCIPAL), grants_args(assignments=[]), dict(scope=RG, principal_id=PRINCIPAL),
])
def test_grants_and_the_single_form_do_not_mix(args):
    arm = arm_for("azure_role_assignment")
    result = run_module("azure_role_assignment", args, arm)
    assert result.get("failed"), result
    assert arm.log == []
