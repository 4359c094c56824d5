"""The desired-state engine through the real SDK clients and azure-core, against an in-memory ARM."""
import pytest
from azure.mgmt.healthcareapis import HealthcareApisManagementClient
from azure.mgmt.storage import StorageManagementClient

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_desired_state import (
    ArmResource, DesiredState, raw_json)
from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import AzureOperationError
from fake_arm import BASE, SUBSCRIPTION, FakeArm, FakeCredential

WANT = {"location": "westeurope",
        "properties": {"publicNetworkAccess": "Disabled", "corsConfiguration": {"origins": ["https://viewer"]}}}


def dicom(arm, **declaration):
    client = HealthcareApisManagementClient(FakeCredential(), SUBSCRIPTION, base_url=BASE,
                                            transport=arm.transport(), polling_interval=0)
    return ArmResource(
        "DICOM service", "ws/pacs",
        read=lambda: client.dicom_services.get("rg", "ws", "pacs", cls=raw_json),
        create=lambda body: client.dicom_services.begin_create_or_update("rg", "ws", "pacs", body, cls=raw_json),
        delete=lambda: client.dicom_services.begin_delete("rg", "pacs", "ws"),
        **declaration)


@pytest.mark.parametrize("lro", [False, True])
def test_create_then_noop_costs_one_get(lro):
    arm = FakeArm(lro=lro, server_defaults={"properties": {"serviceUrl": "https://ws-pacs.dicom.example"}})
    resource = dicom(arm, read_only=["properties.serviceUrl"])
    created = DesiredState().present(resource, WANT)
    assert created["changed"] and created["resource"]["properties"]["serviceUrl"]
    assert [m for m, _, _ in arm.writes()] == ["PUT"]
    arm.log.clear()
    again = DesiredState().present(resource, WANT)
    assert again["changed"] is False
    assert [m for m, _, _ in arm.log] == ["GET"]


def test_check_mode_never_writes_and_reports_the_diff(arm):
    result = DesiredState(check_mode=True).present(dicom(arm), WANT)
    assert result["changed"] and result["diff"]["after"] == WANT
    assert arm.writes() == []
    DesiredState().present(dicom(arm), WANT)
    arm.log.clear()
    changed = dict(WANT, properties=dict(WANT["properties"], publicNetworkAccess="Enabled"))
    result = DesiredState(check_mode=True).present(dicom(arm), changed)
    assert result["diff"] == {"before": {"properties": {"publicNetworkAccess": "Disabled"}},
                              "after": {"properties": {"publicNetworkAccess": "Enabled"}}}
    assert arm.writes() == []


def test_update_puts_the_whole_resource_with_the_change(arm):
    DesiredState().present(dicom(arm), WANT)
    arm.log.clear()
    DesiredState().present(dicom(arm), {"properties": {"publicNetworkAccess": "Enabled"}})
    method, _, body = arm.writes()[0]
    assert method == "PUT"
    # the fields the user did not repeat survive, read-only ones are not sent back
    assert body["properties"]["corsConfiguration"] == {"origins": ["https://viewer"]}
    assert "provisioningState" not in body["properties"] and "id" not in body


def test_immutable_change_fails_before_any_write(arm):
    DesiredState().present(dicom(arm, immutable=["location"]), WANT)
    arm.log.clear()
    with pytest.raises(AzureOperationError) as caught:
        DesiredState().present(dicom(arm, immutable=["location"]), dict(WANT, location="northeurope"))
    assert "location cannot be changed" in str(caught.value)
    assert arm.writes() == []


def test_lro_failure_becomes_a_clear_error():
    arm = FakeArm(lro=True)
    arm.lro_fail = ("InvalidStorageConfiguration", "The storage account has no hierarchical namespace.")
    with pytest.raises(AzureOperationError) as caught:
        DesiredState().present(dicom(arm), WANT)
    text = str(caught.value)
    assert "Could not create DICOM service 'ws/pacs'" in text
    assert "InvalidStorageConfiguration" in text and "hierarchical namespace" in text
    assert "What to do" in text
    assert caught.value.details()["error"]["code"] == "InvalidStorageConfiguration"


def test_arm_error_on_write_names_code_status_and_hint(arm):
    arm.fail("PUT", "/dicomservices/pacs", 403, "AuthorizationFailed", "The client does not have authorization.")
    with pytest.raises(AzureOperationError) as caught:
        DesiredState().present(dicom(arm), WANT)
    text = str(caught.value)
    assert "403 AuthorizationFailed" in text and "grant the identity" in text


def test_read_error_other_than_404_is_not_mistaken_for_absent(arm):
    arm.fail("GET", "/dicomservices/pacs", 403, "AuthorizationFailed", "no read")
    with pytest.raises(AzureOperationError):
        DesiredState().present(dicom(arm), WANT)
    assert arm.writes() == []


def test_absent_deletes_once_and_then_is_a_noop(arm_lro):
    DesiredState().present(dicom(arm_lro), WANT)
    arm_lro.log.clear()
    assert DesiredState(check_mode=True).absent(dicom(arm_lro))["changed"]
    assert arm_lro.writes() == []
    assert DesiredState().absent(dicom(arm_lro))["changed"]
    assert [m for m, _, _ in arm_lro.writes()] == ["DELETE"]
    arm_lro.log.clear()
    assert DesiredState().absent(dicom(arm_lro))["changed"] is False
    assert [m for m, _, _ in arm_lro.log] == ["GET"]


def test_patch_mode_sends_only_the_users_fields_without_create_only_ones():
    arm = FakeArm(create_status=200)
    client = StorageManagementClient(FakeCredential(), SUBSCRIPTION, base_url=BASE, transport=arm.transport())
    accounts = client.storage_accounts
    resource = ArmResource(
        "storage account", "st1",
        read=lambda: accounts.get_properties("rg", "st1", cls=raw_json),
        create=lambda body: accounts.begin_create("rg", "st1", body, cls=raw_json, polling_interval=0),
        update=lambda body: accounts.update("rg", "st1", body, cls=raw_json),
        update_mode="patch", create_only=["location"])
    want = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False}}
    DesiredState().present(resource, want)
    arm.log.clear()
    DesiredState().present(resource, dict(want, sku={"name": "Standard_RAGRS"}))
    method, _, body = arm.writes()[0]
    assert method == "PATCH" and "location" not in body and body["sku"] == {"name": "Standard_RAGRS"}


def test_write_only_values_go_in_the_create_body_only(arm):
    resource = dicom(arm, write_only={"properties.secretThing": "s3cret"})
    result = DesiredState().present(resource, WANT)
    assert "s3cret" not in repr(result["diff"])
    arm.log.clear()
    assert DesiredState().present(resource, WANT)["changed"] is False


def test_wait_false_returns_after_acceptance():
    arm = FakeArm(lro=True)
    result = DesiredState(wait=False).present(dicom(arm), WANT)
    assert result["changed"]
    assert result["resource"] == WANT  # what was asked, not the finished resource: nobody waited for it
