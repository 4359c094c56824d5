"""Tokens: audience follows the request, the tenant's key signs, anything else is refused."""
import pytest

from lab.azure.tokens import SigningKey, TokenError, TokenService

PRINCIPAL = {"objectId": "oid-1", "clientId": "app-1"}


@pytest.fixture
def service(tmp_path):
    return TokenService(SigningKey(str(tmp_path / "k.pem")), "tenant-1")


def test_issued_token_verifies_for_its_audience(service):
    token, _ = service.issue(PRINCIPAL, "https://dicom.healthcareapis.azure.com")
    claims = service.verify(token, ("https://dicom.healthcareapis.azure.com",))
    assert (claims["oid"], claims["appid"], claims["iss"]) == ("oid-1", "app-1", "https://sts.windows.net/tenant-1/")


def test_wrong_audience_is_refused(service):
    token, _ = service.issue(PRINCIPAL, "https://management.azure.com/")
    with pytest.raises(TokenError) as err:
        service.verify(token, ("https://dicom.healthcareapis.azure.com",))
    assert err.value.code == "InvalidAuthenticationTokenAudience"


def test_token_of_another_key_is_refused(service, tmp_path):
    other = TokenService(SigningKey(str(tmp_path / "other.pem")), "tenant-1")
    token, _ = other.issue(PRINCIPAL, "https://management.azure.com/")
    with pytest.raises(TokenError):
        service.verify(token, ("https://management.azure.com/",))


def test_expired_token_is_refused(tmp_path):
    short = TokenService(SigningKey(str(tmp_path / "k.pem")), "tenant-1", lifetime=-120)
    token, _ = short.issue(PRINCIPAL, "https://management.azure.com/")
    with pytest.raises(TokenError) as err:
        short.verify(token, ("https://management.azure.com/",))
    assert err.value.code == "ExpiredAuthenticationToken"


def test_signing_key_survives_a_restart(tmp_path):
    first = SigningKey(str(tmp_path / "k.pem"))
    assert SigningKey(str(tmp_path / "k.pem")).kid == first.kid
