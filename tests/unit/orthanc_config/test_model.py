"""The Orthanc configuration model: validation, secure defaults, masking, and JSON <-> container env agreement."""
import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model

BASE = {"storage_dir": "/var/lib/o", "http_port": 8042, "dicom_port": 4242, "users": {"radiology": "long-enough-1"}}


def spec(**overrides):
    result = dict(BASE)
    result.update(overrides)
    return result


def test_secure_defaults():
    config = model.build_config(spec())
    assert config["AuthenticationEnabled"] is True
    assert config["RemoteAccessAllowed"] is False
    assert config["ExecuteLuaEnabled"] is False
    assert config["RestApiWriteToFileSystemEnabled"] is False
    assert config["MaximumStorageCacheSize"] == 0
    assert config["RegisteredUsers"] == {"radiology": "long-enough-1"}


@pytest.mark.parametrize("overrides, words", [
    ({"users": {}}, "users is empty"),
    ({"users": {"orthanc": "orthanc"}}, "at least 8"),
    ({"users": {"orthanc": "orthanc", "x": "12345678"}}, "at least 8"),
    ({"users": {"a:b": "12345678"}}, "invalid"),
    ({"dicom_aet": "THIS_AE_TITLE_IS_TOO_LONG"}, "dicom_aet"),
    ({"dicom_aet": "BAD/AET"}, "dicom_aet"),
    ({"dicom_aet": " LEADING"}, "dicom_aet"),
    ({"http_port": 70000}, "http_port"),
    ({"dicom_port": 8042}, "must differ"),
    ({"https": {"enabled": True}}, "certificate_bundle"),
    ({"dicom_tls": {"enabled": True, "certificate": "/c"}}, "dicom_tls.private_key"),
    ({"postgresql": {"enabled": True, "host": "db"}}, "postgresql.database"),
])
def test_bad_input_names_the_input(overrides, words):
    with pytest.raises(model.OrthancConfigError, match=words):
        model.build_config(spec(**overrides))


def test_default_login_refused_even_when_long_enough_elsewhere():
    with pytest.raises(model.OrthancConfigError):
        model.build_config(spec(users={"orthanc": "orthanc"}))


def test_auth_off_needs_no_users():
    config = model.build_config(spec(users={}, authentication_enabled=False))
    assert config["AuthenticationEnabled"] is False


def test_postgresql_and_python_sections():
    config = model.build_config(spec(
        postgresql={"enabled": True, "host": "db", "port": 5433, "database": "orthanc", "username": "o",
                    "password": "pw-123456", "lock": False},
        python={"script": "/opt/p/entrypoint.py", "sections": {"DicomWebOAuth": {"Servers": {}}}}))
    assert config["PostgreSQL"]["Port"] == 5433 and config["PostgreSQL"]["Lock"] is False
    assert config["PythonScript"] == "/opt/p/entrypoint.py"
    assert config["DicomWebOAuth"] == {"Servers": {}}


def test_extra_is_deep_merged_last():
    config = model.build_config(spec(extra={"DicomWeb": {"Root": "/v2/"}, "StableAge": 5}))
    assert config["DicomWeb"]["Root"] == "/v2/" and config["DicomWeb"]["Enable"] is True
    assert config["StableAge"] == 5


def test_masked_hides_every_secret():
    config = model.build_config(spec(postgresql={"enabled": True, "host": "db", "database": "d", "username": "u",
                                                 "password": "pg-secret-1"}))
    text = repr(model.masked(config))
    assert "pg-secret-1" not in text and "long-enough-1" not in text
    assert model.masked(config)["RegisteredUsers"] == {"radiology": "********"}


@pytest.mark.parametrize("key, name", [
    ("DicomAet", "DICOM_AET"), ("HttpPort", "HTTP_PORT"), ("PostgreSQL", "POSTGRESQL"), ("DicomWeb", "DICOM_WEB"),
    ("MaximumStorageCacheSize", "MAXIMUM_STORAGE_CACHE_SIZE"), ("DicomTlsEnabled", "DICOM_TLS_ENABLED"),
    ("SslEnabled", "SSL_ENABLED"), ("DicomWebOAuth", "DICOMWEB_OAUTH"), ("TokenEndpoint", "TOKEN_ENDPOINT"),
    ("EnableSsl", "ENABLE_SSL"),
])
def test_env_names_follow_the_orthancteam_images(key, name):
    assert model.env_name(key) == name


def test_json_and_env_forms_agree():
    config = model.build_config(spec(
        postgresql={"enabled": True, "host": "db", "database": "d", "username": "u", "password": "pw-123456"},
        python={"script": "/p.py", "sections": {"DicomWebOAuth": {"Servers": {"azure": {
            "Url": "https://x/v2/", "TokenEndpoint": "https://login/t", "ClientId": "id", "Scope": "s"}}}}},
        plugins=["/a.so", "/b.so"]))
    env = model.to_env(config)
    assert env["ORTHANC__POSTGRESQL__HOST"] == "db"
    assert env["ORTHANC__REGISTERED_USERS"] == '{"radiology":"long-enough-1"}'
    assert env["ORTHANC__AUTHENTICATION_ENABLED"] == "true"
    assert env["ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE__TOKEN_ENDPOINT"] == "https://login/t"
    rebuilt = model.from_env(env, config)
    # Per-name sections come back upper-cased, as containers spell them; everything else is identical.
    rebuilt["DicomWebOAuth"]["Servers"] = {k.lower(): v for k, v in rebuilt["DicomWebOAuth"]["Servers"].items()}
    assert rebuilt == config


def test_from_env_rejects_unknown_setting():
    with pytest.raises(model.OrthancConfigError, match="NOT_A_SETTING"):
        model.from_env({"ORTHANC__NOT_A_SETTING": "1"}, {"HttpPort": 1})


def test_outbound_ca_keeps_peer_verification_on():
    config = model.build_config(spec(https_ca_certificates="/etc/ssl/lab-ca.pem"))
    assert config["HttpsCACertificates"] == "/etc/ssl/lab-ca.pem"
    assert config["HttpsVerifyPeers"] is True
    assert "HttpsCACertificates" not in model.build_config(spec())
