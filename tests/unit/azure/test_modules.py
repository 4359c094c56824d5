"""Every Azure module in-process against the in-memory ARM: input checks, check mode, one GET when converged."""
import pytest

from fake_arm import FakeArm, SUBSCRIPTION
from module_runner import run_module

RG = "/subscriptions/%s/resourceGroups/rg" % SUBSCRIPTION
PRINCIPAL = "11111111-2222-3333-4444-555555555555"

CASES = {
    "azure_resource_group": dict(name="rg", location="westeurope", tags={"workload": "pacs"}),
    "azure_healthcare_workspace": dict(resource_group="rg", name="imagingws", location="westeurope"),
    "azure_dicom_service": dict(resource_group="rg", workspace="imagingws", name="pacs", location="westeurope",
                                public_network_access="Enabled", cors=dict(origins=["https://viewer"])),
    "azure_postgresql_flexible_server": dict(
        resource_group="rg", name="pacs-index", location="westeurope", version="16",
        sku=dict(name="Standard_D2ds_v5", tier="GeneralPurpose"), storage_size_gb=128, backup_retention_days=14,
        public_network_access="Enabled", administrator_login="orthancadmin",
        administrator_login_password="S3cret-Passw0rd!"),
    "azure_postgresql_flexible_database": dict(resource_group="rg", server="pacs-index", name="orthanc",
                                               charset="UTF8", collation="en_US.utf8"),
    "azure_postgresql_flexible_firewall_rule": dict(resource_group="rg", server="pacs-index", name="hospital",
                                                    start_ip_address="203.0.113.0", end_ip_address="203.0.113.31"),
    "azure_storage_account": dict(resource_group="rg", name="starchive", location="westeurope", sku="Standard_RAGRS",
                                  network=dict(ip_rules=["203.0.113.0/27"])),
    "azure_storage_blob_service_properties": dict(resource_group="rg", account="starchive", blob_soft_delete_days=30,
                                                  container_soft_delete_days=30, versioning=True, change_feed=True),
    "azure_blob_container": dict(resource_group="rg", account="starchive", name="studies", metadata={"app": "orthanc"}),
    "azure_storage_management_policy": dict(resource_group="rg", account="starchive", rules=[
        dict(name="studies", prefixes=["studies/"], cool_after_days=30, cold_after_days=90, archive_after_days=365)]),
    "azure_role_assignment": dict(scope=RG, principal_id=PRINCIPAL, role="DICOM Data Owner"),
}


PARENTS = {  # what must exist before each module's resource can be created (the engine checks)
    "azure_dicom_service": "/providers/Microsoft.HealthcareApis/workspaces/imagingws",
    "azure_postgresql_flexible_database": "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pacs-index",
    "azure_postgresql_flexible_firewall_rule": "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pacs-index",
    "azure_postgresql_flexible_configuration": "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pacs-index",
    "azure_storage_blob_service_properties": "/providers/Microsoft.Storage/storageAccounts/starchive",
    "azure_blob_container": "/providers/Microsoft.Storage/storageAccounts/starchive",
    "azure_storage_management_policy": "/providers/Microsoft.Storage/storageAccounts/starchive",
}


def arm_for(name, parents=True):
    # storage creates answer 200 (or 202 + Location); the others 201 + Azure-AsyncOperation
    groups = ("rg",) if parents and name != "azure_resource_group" else ()
    if name.startswith("azure_storage") or name == "azure_blob_container":
        arm = FakeArm(create_status=200, groups=groups)
    elif name == "azure_role_assignment":
        arm = FakeArm(groups=groups)  # role assignments are synchronous
    elif name.startswith("azure_postgresql"):
        arm = FakeArm(lro=202, groups=groups)  # ARM answers only 202 + Azure-AsyncOperation + Location there
    else:
        arm = FakeArm(lro=True, groups=groups)
    if parents and name in PARENTS:
        arm.put(RG + PARENTS[name], {"location": "westeurope"})
    return arm


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_mode_create_converge_noop_absent(name):
    arm = arm_for(name)
    args = CASES[name]
    preview = run_module(name, args, arm, check_mode=True)
    assert preview["changed"] is True and "failed" not in preview, preview
    assert arm.writes() == [], "check mode wrote"
    created = run_module(name, args, arm)
    assert created["changed"] is True and "failed" not in created, created
    assert arm.writes(), "nothing was written"
    arm.log.clear()
    again = run_module(name, args, arm)
    assert again["changed"] is False, again["diff"]
    assert [method for method, _, _ in arm.log] == ["GET"]
    if name == "azure_storage_blob_service_properties":
        return  # no state=absent: the blob service lives as long as its account
    arm.log.clear()
    gone = run_module(name, dict(args, state="absent"), arm)
    assert gone["changed"] is True and "failed" not in gone, gone
    assert any(method == "DELETE" for method, _, _ in arm.writes())


@pytest.mark.parametrize("name,args,needle", [
    ("azure_storage_account", dict(CASES["azure_storage_account"], name="st-archive"), "Invalid name"),
    ("azure_storage_account", dict(CASES["azure_storage_account"], name="a" * 25), "Invalid name"),
    ("azure_dicom_service", dict(CASES["azure_dicom_service"], name="x" * 25), "Invalid name"),
    ("azure_postgresql_flexible_server",
     dict(CASES["azure_postgresql_flexible_server"], sku=dict(name="Standard_B1ms", tier="GeneralPurpose")),
     "Invalid sku.name"),
    ("azure_postgresql_flexible_server",
     dict(CASES["azure_postgresql_flexible_server"], sku=dict(name="Standard_B1ms", tier="Burstable"),
          high_availability="ZoneRedundant"), "Invalid high_availability"),
    ("azure_postgresql_flexible_server", dict(CASES["azure_postgresql_flexible_server"], backup_retention_days=3),
     "Invalid backup_retention_days"),
    ("azure_postgresql_flexible_server", dict(CASES["azure_postgresql_flexible_server"],
                                              administrator_login_password=None), "Invalid administrator_login_password"),
    ("azure_postgresql_flexible_firewall_rule",
     dict(CASES["azure_postgresql_flexible_firewall_rule"], start_ip_address="0.0.0.0", end_ip_address="0.0.0.0"),
     "allow_azure_services"),
    ("azure_postgresql_flexible_firewall_rule",
     dict(CASES["azure_postgresql_flexible_firewall_rule"], start_ip_address="10.0.0.9", end_ip_address="10.0.0.1"),
     "Invalid end_ip_address"),
    ("azure_storage_management_policy", dict(CASES["azure_storage_management_policy"], rules=[
        dict(name="studies", cool_after_days=90, archive_after_days=30)]), "archive_after_days (30) must be greater"),
    ("azure_storage_blob_service_properties", dict(CASES["azure_storage_blob_service_properties"],
                                                   blob_soft_delete_days=400), "Invalid blob_soft_delete_days"),
    ("azure_role_assignment", dict(CASES["azure_role_assignment"], principal_id="orthanc"), "Invalid principal_id"),
    ("azure_blob_container", dict(CASES["azure_blob_container"], name="Studies"), "Invalid name"),
])
def test_invalid_input_fails_before_any_request(name, args, needle):
    arm = arm_for(name)
    result = run_module(name, args, arm)
    assert result.get("failed") and needle in result["msg"], result
    assert [m for m, _, _ in arm.log if m != "GET"] == []
    if name != "azure_postgresql_flexible_server":  # the password check needs the GET that says "absent"
        assert arm.log == []


def test_password_is_sent_on_create_and_never_returned():
    arm = arm_for("azure_postgresql_flexible_server")
    args = CASES["azure_postgresql_flexible_server"]
    result = run_module("azure_postgresql_flexible_server", args, arm)
    put_body = arm.writes()[0][2]
    assert put_body["properties"]["administratorLoginPassword"] == args["administrator_login_password"]
    assert args["administrator_login_password"] not in repr(result)
    # the fake echoes the password back; a no-op run must still not print it nor send it again
    arm.log.clear()
    again = run_module("azure_postgresql_flexible_server", args, arm)
    assert again["changed"] is False and arm.writes() == []


def test_server_changes_go_by_patch_and_immutable_ones_are_refused():
    arm = arm_for("azure_postgresql_flexible_server")
    args = CASES["azure_postgresql_flexible_server"]
    run_module("azure_postgresql_flexible_server", args, arm)
    arm.log.clear()
    result = run_module("azure_postgresql_flexible_server", dict(args, backup_retention_days=21), arm)
    assert result["changed"] and result["diff"]["after"] == {"properties": {"backup": {"backupRetentionDays": 21}}}
    method, _, body = arm.writes()[0]
    assert method == "PATCH" and "location" not in body and "administratorLoginPassword" not in repr(body)
    arm.log.clear()
    refused = run_module("azure_postgresql_flexible_server", dict(args, administrator_login="other"), arm)
    assert refused["failed"] and "administratorLogin cannot be changed" in refused["msg"]
    assert arm.writes() == []


PORTAL_MADE = "0c8e2b6a-0000-4000-8000-00000000a11e"  # assignment names are GUIDs


def test_role_assignment_finds_an_existing_assignment_by_its_triple():
    arm = arm_for("azure_role_assignment")
    definition = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/58a3b984-7adf-4c20-983a-32417c86fbc8"
    existing = {"id": RG + "/providers/Microsoft.Authorization/roleAssignments/" + PORTAL_MADE,
                "name": PORTAL_MADE,
                "properties": {"scope": RG.upper(), "principalId": PRINCIPAL, "principalType": "User",
                               "roleDefinitionId": (definition % SUBSCRIPTION).upper()}}
    arm.put(RG + "/providers/Microsoft.Authorization/roleAssignments/" + PORTAL_MADE, existing)
    result = run_module("azure_role_assignment", CASES["azure_role_assignment"], arm)
    assert result["changed"] is False and arm.writes() == []
    assert [m for m, _, _ in arm.log] == ["GET"]
    removed = run_module("azure_role_assignment", dict(CASES["azure_role_assignment"], state="absent"), arm)
    assert removed["changed"] and arm.writes()[0][1].endswith("/" + PORTAL_MADE)


def test_server_parameter_compares_lists_without_case_or_order():
    arm = FakeArm(lro=202)
    path = ("/subscriptions/%s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pacs-index"
            "/configurations/azure.extensions" % SUBSCRIPTION)
    arm.put(path, {"properties": {"value": "pgcrypto,PG_TRGM", "defaultValue": "", "source": "user-override"}})
    args = dict(resource_group="rg", server="pacs-index", name="azure.extensions")
    assert run_module("azure_postgresql_flexible_configuration", dict(args, value="PG_TRGM,PGCRYPTO"), arm)[
        "changed"] is False
    result = run_module("azure_postgresql_flexible_configuration", dict(args, value="PG_TRGM"), arm)
    assert result["changed"] and arm.writes()[-1][2] == {"properties": {"value": "PG_TRGM", "source": "user-override"}}
    reset = run_module("azure_postgresql_flexible_configuration", dict(args, state="absent"), arm)
    assert reset["changed"] and arm.writes()[-1][2]["properties"]["source"] == "system-default"


def test_lifecycle_rule_removal_is_a_change():
    arm = arm_for("azure_storage_management_policy")
    args = CASES["azure_storage_management_policy"]
    run_module("azure_storage_management_policy", args, arm)
    shorter = dict(args, rules=[dict(name="studies", prefixes=["studies/"], cool_after_days=30)])
    result = run_module("azure_storage_management_policy", shorter, arm)
    assert result["changed"], "dropping tierToCold/tierToArchive must count as a change"


def test_container_worm_is_planned_in_check_mode_and_warned():
    arm = arm_for("azure_blob_container")
    args = dict(CASES["azure_blob_container"], immutability_days=3650, legal_hold_tags=["litigation1"])
    result = run_module("azure_blob_container", args, arm, check_mode=True)
    assert result["changed"] and arm.writes() == []
    assert result["diff"]["after"]["properties"]["immutabilityPolicy"] == {
        "immutabilityPeriodSinceCreationInDays": 3650}
    assert "WORM protection is on" in repr(result.get("warnings"))
