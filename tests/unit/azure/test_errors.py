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


def test_untrusted_certificate_is_not_reported_as_no_credential():
    # azure-identity wraps the TLS failure of the token request in ClientAuthenticationError.
    cause = ServiceRequestError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    error = ClientAuthenticationError("Authentication failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                      "failed: self-signed certificate in certificate chain (_ssl.c:1000)")
    error.__cause__ = cause
    text = str(from_exception(error, "read x"))
    assert "no credential worked" not in text and "ca_bundle" in text and "CertificateNotTrusted" in text


def test_unreachable_authority_is_not_reported_as_no_credential():
    error = ClientAuthenticationError("Authentication failed: HTTPSConnection(host='127.0.0.1', port=1): Failed to "
                                      "establish a new connection: [Errno 111] Connection refused")
    text = str(from_exception(error, "read x"))
    assert "no credential worked" not in text and "authority_host" in text


def test_expired_federated_token_says_expired():
    error = ClientAuthenticationError("Microsoft Entra ID error '(invalid_client) AADSTS700024: Client assertion is "
                                      "not within its valid time range. ... The assertion has expired.'")
    text = str(from_exception(error, "read x"))
    assert "no credential worked" not in text and "expired" in text and "AZURE_FEDERATED_TOKEN_FILE" in text
