"""Each provider's request shape and answer handling, against a recording HTTP server on 127.0.0.1."""
import base64
import json

import pytest
from plugin_fakes import RecordingServer

from medimaging_plugin.config.oauth import load_oauth_settings
from medimaging_plugin.tokens.http import TokenHttpClient
from medimaging_plugin.tokens.model import TokenError
from medimaging_plugin.tokens.providers import build_provider

NOW = 1_700_000_000.0
DICOM = "https://ws-svc.dicom.azurehealthcareapis.com/v2/"


@pytest.fixture
def server():
    with RecordingServer() as recording:
        yield recording


def provider_for(server_cfg, env=None):
    env = env or {}
    settings = load_oauth_settings({"DicomWebOAuth": {"Servers": {"s": server_cfg}}}, env)
    return build_provider(settings.servers[0], TokenHttpClient(timeout=5), env)


def jwt_with_exp(exp):
    part = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    return "%s.%s.sig" % (part({"alg": "RS256"}), part({"exp": exp}))


def test_client_credentials_posts_the_form(server):
    server.answers.append((200, {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3599}))
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/tenant/oauth2/v2.0/token",
                             "ClientId": "app-1", "ClientSecret": "sec-1"})
    token = provider.acquire(NOW)
    (request,) = server.requests
    assert (request["method"], request["path"]) == ("POST", "/tenant/oauth2/v2.0/token")
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"grant_type": "client_credentials", "client_id": "app-1",
                               "client_secret": "sec-1", "scope": "https://dicom.healthcareapis.azure.com/.default"}
    assert (token.value, token.expires_at) == ("tok-1", NOW + 3599)
    assert "tok-1" not in repr(token)


def test_client_secret_from_env_and_file_are_read_per_request(server, tmp_path):
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("v1\n")
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecretFile": str(secret_file)})
    server.answers += [(200, {"access_token": "x", "expires_in": 60})] * 2
    provider.acquire(NOW)
    secret_file.write_text("v2\n")  # Key Vault CSI rotated the mounted secret
    provider.acquire(NOW)
    assert [r["form"]["client_secret"] for r in server.requests] == ["v1", "v2"]


def test_wrong_secret_is_a_permanent_error_without_the_secret_in_it(server):
    # Some servers echo the request; the message must still not carry the secret.
    server.answers.append((401, {"error": "invalid_client",
                                 "error_description": "AADSTS7000215: Invalid client secret provided: sec-echo"}))
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecret": "sec-echo"})
    with pytest.raises(TokenError) as caught:
        provider.acquire(NOW)
    assert caught.value.permanent and caught.value.status == 401 and caught.value.code == "invalid_client"
    assert "AADSTS7000215" in str(caught.value) and "sec-echo" not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_server_side_trouble_is_transient(server, status):
    server.answers.append((status, {"error": "temporarily_unavailable"}))
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecret": "b"})
    with pytest.raises(TokenError) as caught:
        provider.acquire(NOW)
    assert not caught.value.permanent


def test_unreachable_endpoint_is_transient():
    with RecordingServer() as gone:
        url = gone.url
    provider = provider_for({"Url": DICOM, "TokenEndpoint": url + "/token", "ClientId": "a", "ClientSecret": "b"})
    with pytest.raises(TokenError) as caught:
        provider.acquire(NOW)
    assert not caught.value.permanent and "cannot reach" in str(caught.value)


def test_expiry_falls_back_to_the_jwt_exp_claim(server):
    server.answers.append((200, {"access_token": jwt_with_exp(NOW + 77), "token_type": "Bearer"}))
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecret": "b"})
    assert provider.acquire(NOW).expires_at == NOW + 77


def test_managed_identity_app_service_shape(server):
    server.answers.append((200, {"access_token": "mi-tok", "expires_on": str(int(NOW + 86399)),
                                 "resource": "https://dicom.healthcareapis.azure.com", "token_type": "Bearer"}))
    env = {"IDENTITY_ENDPOINT": server.url + "/msi/token", "IDENTITY_HEADER": "hdr-secret",
           "AZURE_CLIENT_ID": "uami-1"}
    token = provider_for({"Url": DICOM, "UseManagedIdentity": True}, env).acquire(NOW)
    (request,) = server.requests
    assert (request["method"], request["path"]) == ("GET", "/msi/token")
    assert request["query"] == {"api-version": "2019-08-01", "resource": "https://dicom.healthcareapis.azure.com",
                                "client_id": "uami-1"}
    assert request["headers"]["x-identity-header"] == "hdr-secret"
    assert token.expires_at == int(NOW + 86399)


def test_managed_identity_imds_shape(server):
    server.answers.append((200, {"access_token": "imds-tok", "expires_in": "86399",
                                 "expires_on": str(int(NOW + 86399)), "token_type": "Bearer"}))
    env = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": server.url}  # azure-identity's override of the IMDS host
    provider = provider_for({"Url": DICOM, "UseManagedIdentity": True, "Scope": "api://custom/.default"}, env)
    provider.acquire(NOW)
    (request,) = server.requests
    assert request["path"] == "/metadata/identity/oauth2/token"
    assert request["query"] == {"api-version": "2018-02-01", "resource": "api://custom"}
    assert request["headers"]["metadata"] == "true"


def test_managed_identity_unknown_identity_is_permanent(server):
    server.answers.append((400, {"error": "invalid_request",
                                 "error_description": "Identity not found"}))
    provider = provider_for({"Url": DICOM, "UseManagedIdentity": True, "ImdsEndpoint": server.url})
    with pytest.raises(TokenError) as caught:
        provider.acquire(NOW)
    assert caught.value.permanent and "Identity not found" in str(caught.value)


def test_workload_identity_exchanges_the_rotating_federated_token(server, tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("kube-sa-jwt-1")
    env = {"AZURE_FEDERATED_TOKEN_FILE": str(token_file), "AZURE_CLIENT_ID": "wi-app",
           "AZURE_TENANT_ID": "tenant-7", "AZURE_AUTHORITY_HOST": server.url}
    provider = provider_for({"Url": DICOM}, env)
    server.answers += [(200, {"access_token": "aad-1", "expires_in": 3600, "token_type": "Bearer"})] * 2
    provider.acquire(NOW)
    token_file.write_text("kube-sa-jwt-2")  # the kubelet rotated the projected token
    provider.acquire(NOW)
    first, second = server.requests
    assert first["path"] == "/tenant-7/oauth2/v2.0/token"
    assert first["form"] == {"grant_type": "client_credentials", "client_id": "wi-app",
                             "scope": "https://dicom.healthcareapis.azure.com/.default",
                             "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             "client_assertion": "kube-sa-jwt-1"}
    assert second["form"]["client_assertion"] == "kube-sa-jwt-2"


def test_static_token_expiry_from_its_claims():
    provider = provider_for({"Url": DICOM, "StaticToken": jwt_with_exp(NOW + 50)})
    assert provider.acquire(NOW).expires_at == NOW + 50
    with pytest.raises(TokenError) as caught:
        provider.acquire(NOW + 60)
    assert caught.value.permanent
    assert provider_for({"Url": DICOM, "StaticToken": "opaque"}).acquire(NOW).expires_at > NOW + 86400


def test_non_bearer_or_tokenless_answers_are_rejected(server):
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecret": "b"})
    server.answers.append((200, {"access_token": "x", "token_type": "mac", "expires_in": 60}))
    with pytest.raises(TokenError):
        provider.acquire(NOW)
    server.answers.append((200, {"token_type": "Bearer", "expires_in": 60}))
    with pytest.raises(TokenError):
        provider.acquire(NOW)


def test_the_jwt_exp_claim_caps_a_longer_expires_in(server):
    # expires_in is counted from before the request; a whole-second exp claim may be earlier
    server.answers.append((200, {"access_token": jwt_with_exp(NOW + 59), "expires_in": 60}))
    provider = provider_for({"Url": DICOM, "TokenEndpoint": server.url + "/token", "ClientId": "a",
                             "ClientSecret": "b"})
    assert provider.acquire(NOW + 0.4).expires_at == NOW + 59
