"""The one configuration schema (medimaging_plugin/config/schema.py): every feature section reads its JSON and its
ORTHANC__<SECTION>__... variables the same way, and no module imports another's private helpers."""
import ast
import os

import pytest

from medimaging_plugin.archive.config import load_archive_settings
from medimaging_plugin.config.check import LOADERS
from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.config.schema import Field, env_prefix, load_section

PLUGIN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "files", "orthanc-plugin", "medimaging_plugin")
FIELDS = {
    "Enabled": Field(bool, True),
    "Count": Field(int, 3, limits=(1, 10)),
    "Names": Field(list),
    "Token": Field(dict, fields={"ClientId": Field(str), "Scope": Field(str, "default-scope")}),
    "Items": Field(dict, what="item", entries={"Url": Field(str), "Secret": Field(str, group="secret"),
                                               "SecretFile": Field(str, group="secret")}),
}


def test_defaults_json_and_environment_by_precedence():
    config = {"Demo": {"Count": 4, "Names": ["a"], "Token": {"ClientId": "json-id"}}}
    environ = {"ORTHANC__DEMO__NAMES": "b, c", "ORTHANC__DEMO__TOKEN__SCOPE": "env-scope", "UNRELATED": "x"}
    values = load_section(config, environ, "Demo", FIELDS)
    assert values == {"Enabled": True, "Count": 4, "Names": ["b", "c"], "Items": {},
                      "Token": {"ClientId": "json-id", "Scope": "env-scope"}}
    assert load_section({}, {"UNRELATED": "x"}, "Demo", FIELDS) is None


def test_named_entries_merge_ignoring_case_and_a_group_is_replaced_whole():
    config = {"Demo": {"Items": {"Azure-Dicom": {"Url": "https://a/", "SecretFile": "/run/secret"}}}}
    environ = {"ORTHANC__DEMO__ITEMS__AZURE_DICOM__SECRET": "inline", "ORTHANC__DEMO__ITEMS__OTHER__URL": "https://b/"}
    items = load_section(config, environ, "Demo", FIELDS)["Items"]
    assert items == {"Azure-Dicom": {"Url": "https://a/", "Secret": "inline", "SecretFile": None},
                     "other": {"Url": "https://b/", "Secret": None, "SecretFile": None}}


@pytest.mark.parametrize("environ, key", [
    ({"ORTHANC__DEMO__COUNTT": "2"}, "ORTHANC__DEMO__COUNTT"),
    ({"ORTHANC__DEMO__TOKEN__CLIENT": "x"}, "ORTHANC__DEMO__TOKEN__CLIENT"),
    ({"ORTHANC__DEMO__ITEMS__A__URI": "x"}, "ORTHANC__DEMO__ITEMS__A__URI"),
    ({"ORTHANC__DEMO__ITEMS": "{}"}, "ORTHANC__DEMO__ITEMS"),
    ({"ORTHANC__DEMO__COUNT": "many"}, "Demo.Count"),
    ({"ORTHANC__DEMO__COUNT": "11"}, "Demo.Count"),
    ({"ORTHANC__DEMO__COUNT": "nan"}, "Demo.Count"),
    ({"ORTHANC__DEMO__ENABLED": "maybe"}, "Demo.Enabled"),
    ({"ORTHANC__DEMO__TOKEN": "{not json"}, "Demo.Token"),
    ({"ORTHANC__DEMO__ITEMS__BAD!NAME__URL": "x"}, "Demo.Items.bad!name"),
])
def test_a_wrong_variable_or_value_is_named(environ, key):
    with pytest.raises(ConfigError) as error:
        load_section({}, environ, "Demo", FIELDS)
    assert error.value.key == key


def test_a_disabled_section_is_not_range_checked_and_its_entries_are_not_read():
    values = load_section({"Demo": {"Enabled": False, "Count": 99, "Items": {"x": {"Uri": 1}}}}, {}, "Demo", FIELDS)
    assert values["Enabled"] is False and values["Items"] == {}


@pytest.mark.parametrize("section, load", LOADERS, ids=[section for section, _load in LOADERS])
@pytest.mark.parametrize("word, enabled", [("no", False), ("FALSE", False), ("0", False), ("yes", True)])
def test_every_feature_reads_a_boolean_variable_alike(section, load, word, enabled):
    environ = {env_prefix(section) + "ENABLED": word}
    if enabled:
        with pytest.raises(ConfigError):  # enabled with nothing else set: each feature names what is missing
            load({}, environ)
    else:
        assert load({}, environ).enabled is False


def test_the_archive_token_server_takes_variables_per_key_like_the_storage_one():
    environ = {"ORTHANC__MEDIMAGING_ARCHIVE__CONTAINER_URL": "https://account.blob.core.windows.net/archive",
               "ORTHANC__MEDIMAGING_ARCHIVE__TOKEN_SERVER__PROVIDER": "managed_identity",
               "ORTHANC__MEDIMAGING_ARCHIVE__TOKEN_SERVER__CLIENT_ID": "archive-identity"}
    settings = load_archive_settings({}, environ)
    assert settings.auth == "token" and settings.token_server.client_id == "archive-identity"
    assert settings.token_server.scope == "https://storage.azure.com/.default"


def _private_imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    return [(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
            for alias in node.names if alias.name.startswith("_")]  # the plugin's own modules (relative imports)


def test_no_module_imports_another_modules_private_helpers():
    found = {}
    for folder, _dirs, files in os.walk(PLUGIN):
        for name in files:
            if name.endswith(".py") and _private_imports(os.path.join(folder, name)):
                found[os.path.relpath(os.path.join(folder, name), PLUGIN)] = _private_imports(os.path.join(folder, name))
    assert found == {}
