"""Auth options -> settings (pure), and the credential each auth_source builds."""
import pytest
from azure.identity import AzureCliCredential, ChainedTokenCredential, ClientSecretCredential, ManagedIdentityCredential

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_auth import (
    AuthConfigError, build_credential, resolve_auth)

SUB = "00000000-0000-0000-0000-000000000001"


def params(**overrides):
    base = dict(auth_source="auto", subscription_id=None, tenant=None, client_id=None, secret=None,
                cloud="AzureCloud", arm_endpoint=None, authority_host=None, ca_bundle=None,
                credential_file="/nonexistent/credentials", profile="default")
    base.update(overrides)
    return base


def test_environment_variables_fill_missing_options():
    env = {"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}
    settings = resolve_auth(params(), env)
    assert (settings.subscription_id, settings.tenant, settings.client_id, settings.secret) == (SUB, "t", "c", "s")
    assert settings.arm_endpoint == "https://management.azure.com"
    assert settings.scope == "https://management.azure.com/.default"
    assert isinstance(build_credential(settings), ClientSecretCredential)


def test_options_win_over_environment():
    settings = resolve_auth(params(subscription_id="opt"), {"AZURE_SUBSCRIPTION_ID": "env"})
    assert settings.subscription_id == "opt"


def test_sovereign_cloud_sets_endpoint_authority_and_scope():
    settings = resolve_auth(params(subscription_id=SUB, cloud="AzureUSGovernment"), {})
    assert settings.arm_endpoint == "https://management.usgovcloudapi.net"
    assert settings.authority_host == "https://login.microsoftonline.us"
    assert settings.scope == "https://management.usgovcloudapi.net/.default"
    assert settings.custom_authority is False


def test_explicit_endpoints_for_the_lab(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = resolve_auth(params(subscription_id=SUB, arm_endpoint="https://127.0.0.1:8443/",
                                   authority_host="https://127.0.0.1:8444", ca_bundle=str(ca)), {})
    assert settings.arm_endpoint == "https://127.0.0.1:8443"
    assert settings.custom_authority and settings.ca_bundle == str(ca)


@pytest.mark.parametrize("overrides,env,needle", [
    ({}, {}, "subscription_id"),
    ({"subscription_id": SUB, "arm_endpoint": "http://127.0.0.1:1"}, {}, "https://"),
    ({"subscription_id": SUB, "auth_source": "env"}, {}, "AZURE_CLIENT_SECRET"),
    ({"subscription_id": SUB, "secret": "s"}, {}, "client_id and tenant"),
    ({"subscription_id": SUB, "ca_bundle": "/nonexistent/ca.pem"}, {}, "ca_bundle"),
    ({"subscription_id": SUB, "auth_source": "credential_file"}, {}, "does not exist"),
])
def test_unworkable_options_say_what_to_set(overrides, env, needle):
    with pytest.raises(AuthConfigError) as caught:
        resolve_auth(params(**overrides), env)
    assert needle in str(caught.value)


def test_credential_file_profile(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[lab]\nsubscription_id=%s\nclient_id=c\nsecret=s\ntenant=t\n" % SUB)
    settings = resolve_auth(params(auth_source="credential_file", credential_file=str(path), profile="lab"), {})
    assert (settings.client_id, settings.secret, settings.tenant) == ("c", "s", "t")
    with pytest.raises(AuthConfigError, match=r"profile \[other\]"):
        resolve_auth(params(auth_source="credential_file", credential_file=str(path), profile="other"), {})


def test_secret_never_in_repr():
    settings = resolve_auth(params(subscription_id=SUB, client_id="c", tenant="t", secret="hunter2"), {})
    assert "hunter2" not in repr(settings)


def test_msi_cli_and_auto_without_secret():
    assert isinstance(build_credential(resolve_auth(params(subscription_id=SUB, auth_source="msi"), {})),
                      ManagedIdentityCredential)
    assert isinstance(build_credential(resolve_auth(params(subscription_id=SUB, auth_source="cli"), {})),
                      AzureCliCredential)
    assert isinstance(build_credential(resolve_auth(params(subscription_id=SUB), {})), ChainedTokenCredential)


@pytest.mark.parametrize("content, needle", [(None, "does not exist"), (b"not a certificate", "no PEM certificate"),
                                             ("dir", "does not exist or is not a file")])
def test_a_bad_ca_bundle_fails_early_naming_the_path(tmp_path, content, needle):
    path = tmp_path / "ca.pem"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(AuthConfigError) as raised:
        resolve_auth(params(subscription_id=SUB, ca_bundle=str(path)), {})
    assert str(path) in str(raised.value) and needle in str(raised.value) and "ca_bundle" in str(raised.value)


def test_a_bad_ca_bundle_from_the_environment_names_the_variable(tmp_path):
    path = tmp_path / "missing.pem"
    with pytest.raises(AuthConfigError) as raised:
        resolve_auth(params(subscription_id=SUB), {"REQUESTS_CA_BUNDLE": str(path)})
    assert "REQUESTS_CA_BUNDLE" in str(raised.value) and str(path) in str(raised.value)


def test_an_unreadable_ca_bundle_names_the_path(tmp_path, monkeypatch):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    real_open = open

    def refuse(name, *args, **kwargs):  # root reads anything: simulate EACCES for this one file
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(AuthConfigError) as raised:
        resolve_auth(params(subscription_id=SUB, ca_bundle=str(path)), {})
    assert "cannot be read" in str(raised.value) and "Permission denied" in str(raised.value)
