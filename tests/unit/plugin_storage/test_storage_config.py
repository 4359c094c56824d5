"""MedimagingStorage validation: clear messages naming the key, env form, fail closed, secrets never shown."""
import pytest

from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.metrics_core import Registry
from medimaging_plugin.storage.config import STORAGE_SCOPE, load_storage_settings
from medimaging_plugin.storage.errors import StorageError
from medimaging_plugin.storage.feature import StorageFeature

URL = "https://account.blob.core.windows.net/orthanc"
CC = {"TokenEndpoint": "https://login.microsoftonline.com/t/oauth2/v2.0/token", "ClientId": "app",
      "ClientSecretEnv": "STORAGE_SECRET"}
ENV = {"STORAGE_SECRET": "s3cr3t-value"}


def load(section, environ=ENV, **orthanc):
    return load_storage_settings(dict(orthanc, MedimagingStorage=section), environ)


def error_of(section, environ=ENV, **orthanc):
    with pytest.raises(ConfigError) as caught:
        load(section, environ, **orthanc)
    return str(caught.value)


def test_absent_is_off_and_disabled_is_disabled():
    assert load_storage_settings({}, {}) is None
    assert load({"Enabled": False}).enabled is False


def test_blob_with_token_server_defaults_to_storage_scope():
    s = load({"Backend": "azure_blob", "ContainerUrl": URL, "TokenServer": CC, "RootPath": "/a/b/"})
    assert (s.auth, s.token_server.scope, s.root, s.structure) == ("token", STORAGE_SCOPE, "a/b", "flat")
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(s.public_view())


def test_s3_defaults():
    s = load({"Backend": "s3", "Bucket": "orthanc-images", "Region": "eu-west-1", "KmsKeyId": "alias/orthanc"})
    assert (s.auth, s.sts_endpoint, s.imds_endpoint) == ("aws_chain", "https://sts.eu-west-1.amazonaws.com/",
                                                         "http://169.254.169.254")
    assert s.public_view()["sse_kms"] is True
    assert s.max_connections == 16  # connections shared by Orthanc's threads


@pytest.mark.parametrize("section,expected", [
    ({"Backend": "gcs"}, "MedimagingStorage.Backend: expected one of azure_blob, s3, got 'gcs'"),
    ({"Backend": "azure_blob", "TokenServer": CC}, "MedimagingStorage.ContainerUrl: missing"),
    ({"Backend": "azure_blob", "ContainerUrl": URL}, "no credential for azure_blob"),
    ({"Backend": "azure_blob", "ContainerUrl": URL + "?sv=1&sig=x", "TokenServer": CC}, "carry no query string"),
    ({"Backend": "azure_blob", "ContainerUrl": "http://account.blob.core.windows.net/o1x", "TokenServer": CC},
     "plain http to a non-loopback host"),
    ({"Backend": "s3", "Bucket": "Orthanc_Images", "Region": "eu-west-1"}, "MedimagingStorage.Bucket: not a valid"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "europe"}, "MedimagingStorage.Region: not an AWS region"),
    ({"Backend": "s3", "Bucket": "orthanc"}, "MedimagingStorage.Region: missing for Backend s3"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "ContainerUrl": URL},
     "MedimagingStorage.ContainerUrl: does not apply to Backend s3"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "StorageStructure": "tree"},
     "MedimagingStorage.StorageStructure: expected one of flat, legacy"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "ImdsEndpoint": "http://imds.example.com"},
     "MedimagingStorage.ImdsEndpoint: must be http(s):// on a link-local or loopback address"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "MaxRetries": 50},
     "MedimagingStorage.MaxRetries: must be between 0 and 10"),
    ({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "MaxConnections": 0},
     "MedimagingStorage.MaxConnections: must be between 1 and 256"),
    ({"Backend": "s3", "Buckett": "orthanc"}, "MedimagingStorage.Buckett: unknown key (did you mean Bucket?)"),
])
def test_errors_name_the_key(section, expected):
    assert expected in error_of(section)


def test_two_blob_credentials_are_refused(tmp_path):
    sas = tmp_path / "sas"
    sas.write_text("sv=2025&sig=abc")
    message = error_of({"Backend": "azure_blob", "ContainerUrl": URL, "TokenServer": CC, "SasTokenFile": str(sas)})
    assert "TokenServer and SasTokenFile are mutually exclusive" in message


def test_environment_form_overrides_json():
    env = dict(ENV, ORTHANC__MEDIMAGING_STORAGE__BACKEND="s3", ORTHANC__MEDIMAGING_STORAGE__BUCKET="from-env",
               ORTHANC__MEDIMAGING_STORAGE__REGION="us-east-1", ORTHANC__MEDIMAGING_STORAGE__MAX_RETRIES="2")
    s = load_storage_settings({}, env)
    assert (s.bucket, s.region, s.max_retries) == ("from-env", "us-east-1", 2)
    with pytest.raises(ConfigError, match="ORTHANC__MEDIMAGING_STORAGE__BUCKIT: unknown setting"):
        load_storage_settings({}, dict(env, ORTHANC__MEDIMAGING_STORAGE__BUCKIT="x"))


def test_hybrid_mode_reads_orthancs_storage_directory():
    s = load({"Backend": "s3", "Bucket": "orthanc", "Region": "eu-west-1", "HybridMode": "WriteToObjectStorage"},
             StorageDirectory="/var/lib/orthanc/db")
    assert s.disk_root == "/var/lib/orthanc/db"


def test_invalid_section_fails_closed(caplog):
    feature = StorageFeature.from_config({"MedimagingStorage": {"Backend": "s3", "Bucket": "x"}}, {},
                                         registry=Registry())
    assert feature.state == "error" and "Region: missing" in feature.error
    with pytest.raises(StorageError, match="is invalid, Orthanc's storage is refused"):
        feature.area.create("8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d", 1, b"DICM")


def test_connection_string_key_never_in_status(tmp_path):
    path = tmp_path / "cs"
    path.write_text("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==\n")
    feature = StorageFeature.from_config({"MedimagingStorage": {
        "Backend": "azure_blob", "ContainerUrl": URL, "ConnectionStringFile": str(path)}}, {}, registry=Registry())
    assert feature.state == "running" and feature.settings.auth == "connection_string"
    assert "c2VjcmV0" not in str(feature.status())


def test_token_server_from_nested_environment_variables():
    """The image's entrypoint and the plugin read ORTHANC__MEDIMAGING_STORAGE__TOKEN_SERVER__<KEY> alike."""
    env = {"ORTHANC__MEDIMAGING_STORAGE__BACKEND": "azure_blob", "ORTHANC__MEDIMAGING_STORAGE__CONTAINER_URL": URL,
           "ORTHANC__MEDIMAGING_STORAGE__TOKEN_SERVER__USE_MANAGED_IDENTITY": "true",
           "ORTHANC__MEDIMAGING_STORAGE__TOKEN_SERVER__CLIENT_ID": "mi-client"}
    s = load_storage_settings({}, env)
    assert (s.token_server.provider, s.token_server.client_id, s.token_server.scope) == (
        "managed_identity", "mi-client", STORAGE_SCOPE)
    with pytest.raises(ConfigError, match="TOKEN_SERVER__CLIENT_IDD: unknown setting"):
        load_storage_settings({}, dict(env, ORTHANC__MEDIMAGING_STORAGE__TOKEN_SERVER__CLIENT_IDD="x"))


def test_the_images_variables_and_the_json_give_the_same_settings():
    """One model: the collection's ORTHANC__... form of a section (what the image's entrypoint and the chart use)
    read by the plugin from the environment equals the plugin reading the JSON."""
    from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model
    section = {"Backend": "azure_blob", "ContainerUrl": URL, "RootPath": "site/a", "StorageStructure": "legacy",
               "MaxRetries": 3, "TokenServer": {"UseManagedIdentity": True, "ClientId": "mi"}}
    from_json = load_storage_settings({"MedimagingStorage": section}, {})
    from_env = load_storage_settings({}, model.to_env({"MedimagingStorage": section}))
    assert from_env == from_json


def test_an_unexpected_failure_also_fails_closed(monkeypatch):
    import medimaging_plugin.storage.feature as feature_module

    def broken(settings, environ):
        raise RuntimeError("boom")

    monkeypatch.setattr(feature_module, "build_store", broken)
    feature = StorageFeature.from_config({"MedimagingStorage": {"Backend": "s3", "Bucket": "orthanc",
                                                                "Region": "eu-west-1"}}, {}, registry=Registry())
    assert feature.state == "error" and "RuntimeError: boom" in feature.error
    with pytest.raises(StorageError, match="refused"):
        feature.area.read("8d6f4a3c-1b2e-4f5a-9c8d-7e6f5a4b3c2d", 1)
