"""MedimagingArchive section: one credential, https container URL, env form, bad keys named."""
import json
import logging

import pytest

from medimaging_plugin.archive.config import load_archive_settings
from medimaging_plugin.archive.feature import ArchiveFeature
from medimaging_plugin.config.blob_target import STORAGE_SCOPE
from medimaging_plugin.config.errors import ConfigError

URL = "https://account.blob.core.windows.net/archive"


@pytest.fixture
def sas_file(tmp_path):
    path = tmp_path / "sas"
    path.write_text("sv=2025-11-05&sig=SECRETSIG\n")
    return str(path)


def load(section, environ=None):
    return load_archive_settings({"MedimagingArchive": section}, environ or {})


def test_not_configured_is_none_and_disabled():
    assert load_archive_settings({}, {}) is None
    assert load({"Enabled": False}).enabled is False


def test_sas_file_defaults(sas_file):
    settings = load({"ContainerUrl": URL + "/", "SasTokenFile": sas_file})
    assert settings.container_url == URL and settings.auth == "sas_file"
    assert settings.api_version == "2025-11-05" and settings.concurrency == 4
    assert "SECRETSIG" not in repr(settings) and "SECRETSIG" not in json.dumps(settings.public_view())


def test_sas_env_must_be_set():
    settings = load({"ContainerUrl": URL, "SasTokenEnv": "ARCHIVE_SAS"}, {"ARCHIVE_SAS": "sig=x"})
    assert settings.auth == "sas_env"
    with pytest.raises(ConfigError, match="SasTokenEnv.*ARCHIVE_SAS is empty or unset"):
        load({"ContainerUrl": URL, "SasTokenEnv": "ARCHIVE_SAS"})


def test_token_server_uses_oauth_server_keys_and_storage_scope(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("client-secret-value")
    settings = load({"ContainerUrl": URL, "TokenServer": {
        "TokenEndpoint": "https://login.example/tenant/oauth2/v2.0/token", "ClientId": "orthanc",
        "ClientSecretFile": str(secret)}})
    assert settings.auth == "token" and settings.token_server.provider == "client_credentials"
    assert settings.token_server.scope == STORAGE_SCOPE
    view = settings.public_view()
    assert view["token"]["scope"] == STORAGE_SCOPE and "client-secret-value" not in json.dumps(view)
    managed = load({"ContainerUrl": URL, "TokenServer": {"UseManagedIdentity": True}})
    assert managed.token_server.provider == "managed_identity"


@pytest.mark.parametrize("section, message", [
    ({"ContainerUrl": URL, "SasTokenFlie": "/x"}, r"MedimagingArchive\.SasTokenFlie: unknown key \(did you mean SasTokenFile"),
    ({"SasTokenEnv": "X"}, r"ContainerUrl: missing"),
    ({"ContainerUrl": URL}, r"no credential configured"),
    ({"ContainerUrl": "http://account.blob.core.windows.net/archive", "SasTokenEnv": "X"}, r"plain http"),
    ({"ContainerUrl": URL + "?sv=1&sig=abc", "SasTokenEnv": "X"}, r"must carry no query string"),
    ({"ContainerUrl": "https://account.blob.core.windows.net/", "SasTokenEnv": "X"}, r"container name"),
    ({"ContainerUrl": URL, "SasTokenFile": "/nonexistent/sas"}, r"SasTokenFile.*does not exist"),
    ({"ContainerUrl": URL, "SasTokenEnv": "X", "TokenServer": {"UseManagedIdentity": True}}, r"mutually exclusive"),
    ({"ContainerUrl": URL, "SasTokenEnv": "X", "ApiVersion": "latest"}, r"ApiVersion"),
    ({"ContainerUrl": URL, "SasTokenEnv": "X", "Concurrency": 0}, r"Concurrency"),
    ({"ContainerUrl": URL, "SasTokenEnv": "X", "CaBundle": "/nonexistent/ca.pem"}, r"CaBundle"),
    ({"ContainerUrl": URL, "TokenServer": {"ClientId": "x", "Secret": "y"}}, r"TokenServer\.Secret: unknown key"),
    ({"ContainerUrl": URL, "TokenServer": {"ClientId": "x", "ClientSecret": "y"}}, r"TokenServer\.TokenEndpoint"),
])
def test_bad_sections_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        load(section, {"X": "sig=1"})


def test_environment_form_overrides_json(sas_file):
    environ = {"ORTHANC__MEDIMAGING_ARCHIVE__CONTAINER_URL": "https://other.blob.core.windows.net/cold",
               "ORTHANC__MEDIMAGING_ARCHIVE__SAS_TOKEN_ENV": "SAS", "SAS": "sig=1",
               "ORTHANC__MEDIMAGING_ARCHIVE__CONCURRENCY": "2"}
    settings = load_archive_settings({}, environ)
    assert (settings.container_url, settings.auth, settings.concurrency) == (
        "https://other.blob.core.windows.net/cold", "sas_env", 2)
    with pytest.raises(ConfigError, match="ORTHANC__MEDIMAGING_ARCHIVE__CONTAINER"):
        load_archive_settings({}, {"ORTHANC__MEDIMAGING_ARCHIVE__CONTAINER": "x"})


def test_bad_key_disables_the_feature_with_one_log_line(caplog):
    with caplog.at_level(logging.ERROR, logger="medimaging"):
        feature = ArchiveFeature.from_config(None, {"MedimagingArchive": {"ContainerUrl": URL, "SasToken": "s"}}, {})
    assert feature.state == "error" and "SasToken: unknown key" in feature.error
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "feature disabled" in lines[0].getMessage()
    status, answer = feature.restore_request(b'{"StudyInstanceUID": "1.2.3"}')
    assert status == 503 and answer["error"] == "MedimagingArchive is error"
