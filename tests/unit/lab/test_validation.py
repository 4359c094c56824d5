"""Request bodies are checked with the SDK's own models: both model generations, required and typed fields."""
import pytest

from lab.azure.validation import UnsupportedApiVersion, api_versions, model_class, validate

STORAGE = "azure.mgmt.storage"


def storage_model():
    version = sorted(api_versions(STORAGE))[-1]
    return model_class(STORAGE, ("StorageAccountCreateParameters",), version)


def test_hybrid_model_reports_missing_required_properties():
    problems = validate(storage_model(), {"location": "westeurope"})
    assert "$.sku: required property is missing" in problems
    assert "$.kind: required property is missing" in problems


def test_hybrid_model_reports_wrong_types_deep_in_the_body():
    body = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
            "properties": {"allowBlobPublicAccess": "no"}}
    assert validate(storage_model(), body) == ["$.properties.allowBlobPublicAccess: expected bool, got str 'no'"]


def test_hybrid_model_accepts_a_valid_body_and_ignores_read_only_fields():
    body = {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
            "properties": {"minimumTlsVersion": "TLS1_2", "provisioningState": 42}}
    assert validate(storage_model(), body) == []


def test_msrest_model_reports_required_and_types():
    version = "2022-04-01"
    cls = model_class("azure.mgmt.authorization", ("RoleAssignmentCreateParameters",), version)
    assert validate(cls, {"properties": {"roleDefinitionId": "x"}}) == \
        ["$.properties.principalId: required property is missing"]
    dicom = model_class("azure.mgmt.healthcareapis", ("DicomService",), sorted(api_versions("azure.mgmt.healthcareapis"))[-1])
    assert validate(dicom, {"location": "x", "properties": {"corsConfiguration": {"maxAge": "long"}}}) == \
        ["$.properties.corsConfiguration.maxAge: expected int, got str 'long'"]


def test_unknown_api_version_names_the_supported_ones():
    with pytest.raises(UnsupportedApiVersion) as err:
        model_class(STORAGE, ("StorageAccountCreateParameters",), "1999-01-01")
    assert err.value.supported == sorted(api_versions(STORAGE))


def test_multi_api_packages_list_each_version():
    versions = api_versions("azure.mgmt.msi")
    assert "2018-11-30" in versions and "2024-11-30" in versions
