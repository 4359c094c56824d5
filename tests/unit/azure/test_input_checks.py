"""The shared input validators: names, ARM scopes, role names, DICOM UIDs. Whole-string matches only."""
import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import RULES, name_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_resource_id import scope_problem
from ansible_collections.medimaging.orthanc.plugins.module_utils.archive_manifest import ArchiveError, check_uid
from ansible_collections.medimaging.orthanc.plugins.modules.azure_role_assignment import role_problem

SUB = "00000000-0000-0000-0000-000000000001"
GOOD = {
    "healthcare": "imagingws",
    "storage_account": "starchive",
    "blob_container": "studies",
    "postgresql_server": "pacs-index",
    "postgresql_database": "orthanc",
    "postgresql_firewall_rule": "hospital_1",
    "postgresql_parameter": "azure.extensions",
    "resource_group": "rg-imaging.prod(1)",
    "management_policy_rule": "studies",
    "location": "westeurope",
    "guid": SUB,
    "user_assigned_identity": "id-orthanc_1",
    "federated_credential": "aks-pacs-orthanc",
    "key_vault": "kv-imaging-prod",
    "virtual_network": "vnet-imaging.prod",
    "subnet": "private-endpoints",
}


def test_every_rule_has_a_good_example():
    assert set(GOOD) == set(RULES)


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_names_pass(kind):
    assert name_problem(kind, GOOD[kind]) is None


@pytest.mark.parametrize("kind", sorted(GOOD))
@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t", "\x00"])
def test_a_trailing_newline_or_blank_is_refused(kind, suffix):
    assert name_problem(kind, GOOD[kind] + suffix), repr(GOOD[kind] + suffix)


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_empty_and_none_are_refused(kind):
    assert name_problem(kind, "") and name_problem(kind, None)


@pytest.mark.parametrize("kind,value", [
    ("resource_group", "rg."), ("resource_group", "a" * 91), ("resource_group", "rg/x"), ("resource_group", ".."),
    ("location", "west europe  "), ("location", "west/europe"), ("location", "westeurope\n"),
    ("storage_account", "St-Archive"), ("blob_container", "a--b"), ("postgresql_parameter", "x;drop"),
])
def test_other_bad_names(kind, value):
    assert name_problem(kind, value)


@pytest.mark.parametrize("scope", [
    "/subscriptions/" + SUB,
    "/subscriptions/%s/resourceGroups/rg" % SUB,
    "/SUBSCRIPTIONS/%s/resourcegroups/rg" % SUB,
    "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.HealthcareApis/workspaces/ws" % SUB,
    "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.HealthcareApis/workspaces/ws/dicomservices/pacs" % SUB,
])
def test_known_scope_shapes_pass(scope):
    assert scope_problem(scope) is None


@pytest.mark.parametrize("scope,words", [
    ("", "empty"),
    ("/", 'ends with "/"'),
    ("/subscriptions/%s/" % SUB, 'ends with "/"'),
    ("/subscriptions/%s/resourceGroups/rg/../.." % SUB, '".."'),
    ("/subscriptions/%s/resourceGroups/rg/.." % SUB, '".."'),
    ("/subscriptions/%s/resourceGroups/./rg" % SUB, '"."'),
    ("/subscriptions/%s//resourceGroups/rg" % SUB, "empty"),
    ("/subscriptions/%s/resourceGroups/rg\n" % SUB, "resource group name"),
    ("/subscriptions/not-a-guid", "not a GUID"),
    ("/subscriptions/%s\n" % SUB, "not a GUID"),
    ("subscriptions/" + SUB, "start with /subscriptions/"),
    ("/providers/Microsoft.Management/managementGroups/mg", "start with /subscriptions/"),
    ("/subscriptions/%s/resourceGroups" % SUB, "resourceGroups/{group}"),
    ("/subscriptions/%s/locations/westeurope" % SUB, "resourceGroups/{group}"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts" % SUB, "providers/"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices" % SUB,
     "without a name"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Storage/storageAccounts/st" % SUB, "namespace"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st%%2F.." % SUB, "characters"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st?x=1" % SUB, "characters"),
    ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st\n" % SUB, "characters"),
    ("/subscriptions/%s/resourceGroups/rg/providers/A.B/t/n/providers/C.D" % SUB, "nested providers"),
])
def test_bad_scopes_are_refused_with_the_reason(scope, words):
    problem = scope_problem(scope)
    assert problem and words in problem, problem


@pytest.mark.parametrize("role", ["", " ", "\n", "Reader\n", " Reader", "Reader ",
                                  "/providers/Microsoft.Authorization/roleDefinitions/x",
                                  "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s\n" % (SUB, SUB),
                                  "/subscriptions/%s/resourceGroups/rg/../../providers/Microsoft.Authorization/"
                                  "roleDefinitions/%s" % (SUB, SUB)])
def test_bad_roles_are_refused(role):
    assert role_problem(role)


@pytest.mark.parametrize("role", ["Reader", "DICOM Data Owner", "My custom role", SUB,
                                  "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SUB, SUB),
                                  "/providers/Microsoft.Authorization/roleDefinitions/" + SUB])
def test_good_roles_pass(role):
    assert role_problem(role) is None


@pytest.mark.parametrize("uid", ["1.2.3\n", "1.2.3 ", "", "1..2", "1.2.", "a.b", "1/2", "1." + "2" * 63])
def test_archive_module_refuses_bad_uids(uid):
    with pytest.raises(ArchiveError) as caught:
        check_uid(uid, "StudyInstanceUID")
    assert repr(uid) in str(caught.value)


def test_archive_module_accepts_a_uid():
    assert check_uid("1.2.826.0.1.3680043.8.498.1", "StudyInstanceUID") == "1.2.826.0.1.3680043.8.498.1"
