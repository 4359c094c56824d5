"""Exceptions from azure-core become one readable message with the ARM code and a next step."""
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_errors import (
    AzureOperationError, from_exception)


def test_transport_failure_points_at_endpoint_and_ca():
    error = from_exception(ServiceRequestError("certificate verify failed"), "read storage account 'x'")
    text = str(error)
    assert text.startswith("Could not read storage account 'x'.")
    assert "certificate verify failed" in text and "ca_bundle" in text


def test_authentication_failure_points_at_auth_options():
    error = from_exception(ClientAuthenticationError("no credential"), "read x")
    assert "auth_source" in str(error)


def test_details_are_structured_and_pass_through():
    error = AzureOperationError("create y", code="ResourceGroupNotFound", message="Resource group 'rg' could not be found.",
                                status=404)
    assert from_exception(error, "other") is error
    assert error.details()["error"] == {"asked": "create y", "code": "ResourceGroupNotFound", "status": 404,
                                        "message": "Resource group 'rg' could not be found.",
                                        "hint": error.hint}
    assert "azure_resource_group" in str(error)
