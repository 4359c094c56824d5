"""The image's entrypoint reads ORTHANC__* variables, files and secrets with the collection's own model."""
import importlib.util
import json
import os

import pytest

from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model

ENTRYPOINT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "images", "orthanc", "entrypoint.py")
_spec = importlib.util.spec_from_file_location("medimaging_entrypoint", ENTRYPOINT)
entrypoint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(entrypoint)


def build(env, tmp_path, files=None):
    etc, secrets = tmp_path / "etc", tmp_path / "secrets"
    for folder in (etc, secrets):
        folder.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return entrypoint.build(env, config_dirs=(str(etc),), secrets_dir=str(secrets))


def test_env_from_the_module_gives_the_modules_json(tmp_path):
    config = model.build_config({
        "storage_dir": "/var/lib/orthanc/db", "http_port": 8042, "dicom_port": 4242,
        "users": {"radiology": "long-enough-1"}, "plugins": ["/a.so"],
        "postgresql": {"enabled": True, "host": "db", "database": "d", "username": "u", "password": "pw-123456"},
        "dicomweb": {"servers": {"peer": {"Url": "https://peer/dicom-web/"}}},
        "python": {"script": "/p.py", "sections": {"DicomWebOAuth": {"RefreshMarginSeconds": 300, "Servers": {
            "azure": {"Url": "https://x/v2/", "TokenEndpoint": "https://login/t", "ClientId": "id"}}}}}})
    built, _ = build(model.to_env(config), tmp_path)
    # Per-name sections come back upper-cased, as containers spell them (the module's own round trip does too).
    built["DicomWebOAuth"]["Servers"] = {k.lower(): v for k, v in built["DicomWebOAuth"]["Servers"].items()}
    expected = model.deep_merge(entrypoint.DEFAULTS, config)
    expected["Python"]["Path"] = config["PythonScript"]  # the model's script, in both keys orthanc-python reads
    assert built == expected


@pytest.mark.parametrize("variable, value, path, expected", [
    ("ORTHANC__DICOM_WEB__STUDIES_METADATA", "Full", ("DicomWeb", "StudiesMetadata"), "Full"),
    ("ORTHANC__POSTGRESQL__ENABLE_SSL", "true", ("PostgreSQL", "EnableSsl"), True),
    ("ORTHANC__HTTPS_CA_CERTIFICATES", "/ca.pem", ("HttpsCACertificates",), "/ca.pem"),
    ("ORTHANC__STABLE_AGE", "30", ("StableAge",), 30),
    ("ORTHANC__DICOMWEB_OAUTH__REFRESH_MARGIN_SECONDS", "60", ("DicomWebOAuth", "RefreshMarginSeconds"), 60),
])
def test_orthancteam_spellings_without_a_reference(tmp_path, variable, value, path, expected):
    node, _ = build({variable: value}, tmp_path)
    for key in path:
        node = node[key]
    assert node == expected


def test_precedence_files_then_orthanc_json_then_variables(tmp_path):
    config, _ = build({"ORTHANC_JSON": '{"Name": "from-json", "StableAge": 7}', "ORTHANC__NAME": "from-var"},
                      tmp_path, {"etc/a.json": '{"Name": "from-file", "DicomAet": "FILE", "StableAge": 3}'})
    assert (config["Name"], config["StableAge"], config["DicomAet"]) == ("from-var", 7, "FILE")


@pytest.mark.parametrize("variable", ["ORTHANC__PYTHON_SCRIPT", "ORTHANC__PYTHON__PATH"])
def test_a_script_named_either_way_replaces_the_images_plugin(tmp_path, variable):
    config, _ = build({variable: "/scripts/mine.py"}, tmp_path)
    assert config["PythonScript"] == config["Python"]["Path"] == "/scripts/mine.py"
    config, _ = build({}, tmp_path)
    assert config["PythonScript"] == config["Python"]["Path"] == entrypoint.PLUGIN_SCRIPT


def test_a_section_as_json_and_deeper_variables_merge(tmp_path):
    config, _ = build({"ORTHANC__POSTGRESQL": '{"Host": "db", "Port": 5433}', "ORTHANC__POSTGRESQL__PORT": "5432"},
                      tmp_path)
    assert config["PostgreSQL"] == {"Host": "db", "Port": 5432}


def test_secrets_from_files_by_variable_name_and_by_reference(tmp_path):
    config, env = build({"ORTHANC__REGISTERED_USERS_SECRET": "users"}, tmp_path, {
        "secrets/ORTHANC__POSTGRESQL__PASSWORD": "pg-secret\n", "secrets/users": '{"admin": "long-enough-1"}\n',
        "secrets/extra.json": '{"DicomAet": "SECRETJSON"}'})
    assert config["PostgreSQL"]["Password"] == "pg-secret"
    assert config["RegisteredUsers"] == {"admin": "long-enough-1"}
    assert config["DicomAet"] == "SECRETJSON"
    assert "ORTHANC__REGISTERED_USERS_SECRET" not in env


def test_the_plugins_client_secret_variable_is_a_value_not_a_file(tmp_path):
    name = "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE__CLIENT_SECRET"
    config, env = build({name: "s3cret-value", name + "_SECRET": "pointed"}, tmp_path, {"secrets/pointed": "from-file"})
    assert env[name] == "from-file"  # ..._CLIENT_SECRET_SECRET points at a file
    config, env = build({name: "s3cret-value"}, tmp_path)
    assert env[name] == "s3cret-value" and config["DicomWebOAuth"]["Servers"]["azure"]["ClientSecret"] == "s3cret-value"


def test_missing_secret_file_names_the_variable(tmp_path):
    with pytest.raises(entrypoint.ConfigurationError, match="ORTHANC__X_SECRET.*nope"):
        build({"ORTHANC__X_SECRET": "nope"}, tmp_path)


def test_plugins_on_by_section_or_switch(tmp_path):
    config, env = build({"POSTGRESQL_PLUGIN_ENABLED": "true", "PYTHON_PLUGIN_ENABLED": "false"}, tmp_path)
    assert entrypoint.enabled_plugins(config, env) == ["DICOM_WEB", "POSTGRESQL"]
    config, env = build({"ORTHANC__POSTGRESQL__HOST": "db", "DICOM_WEB_PLUGIN_ENABLED": "false"}, tmp_path)
    assert entrypoint.enabled_plugins(config, env) == ["POSTGRESQL", "PYTHON"]


def test_a_plugin_missing_from_the_image_is_named(tmp_path):
    (tmp_path / "libOrthancPython.so").write_text("")
    assert entrypoint.plugin_paths(["PYTHON"], str(tmp_path)) == [str(tmp_path / "libOrthancPython.so")]
    with pytest.raises(entrypoint.ConfigurationError, match="POSTGRESQL_PLUGIN_ENABLED.*libOrthancPostgreSQLIndex"):
        entrypoint.plugin_paths(["POSTGRESQL"], str(tmp_path))


def test_invalid_json_is_named(tmp_path):
    with pytest.raises(entrypoint.ConfigurationError, match="ORTHANC_JSON"):
        build({"ORTHANC_JSON": "{nope"}, tmp_path)
    with pytest.raises(entrypoint.ConfigurationError, match="bad.json"):
        build({}, tmp_path, {"etc/bad.json": "{"})


def test_the_module_stays_strict():
    with pytest.raises(model.OrthancConfigError, match="NOT_A_SETTING"):
        model.from_env({"ORTHANC__NOT_A_SETTING": "1"}, {"HttpPort": 1})
    assert json.dumps(model.from_env({"ORTHANC__NOT_A_SETTING": "1"}, strict=False)) == '{"NotASetting": 1}'
