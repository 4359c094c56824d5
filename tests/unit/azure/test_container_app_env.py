"""orthanc_container_env (issue 17): a container app's environment comes from the one Orthanc configuration model,
and every secret in it is a secret reference (a secret left in plain text fails)."""
import io
import json
from contextlib import redirect_stdout

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.medimaging.orthanc.plugins.module_utils.orthanc_config import (
    OrthancConfigError, build_config, from_env, to_env)
from ansible_collections.medimaging.orthanc.plugins.modules import orthanc_container_env as module
from ansible_collections.medimaging.orthanc.plugins.modules.orthanc_container_env import container_env

PG_PASSWORD = "pg-password-never-shown"
CLIENT_SECRET = "client-secret-never-shown"
SPEC = {
    "users": {"admin": "admin-password-never-shown"},
    "postgresql": {"enabled": True, "host": "pg.example.org", "database": "orthanc", "username": "orthanc",
                   "password": PG_PASSWORD, "ssl": True, "lock": False},
    "extra": {"DicomWebOAuth": {"Servers": {"azure": {
        "Url": "https://ws-dicom.dicom.azurehealthcareapis.com/v2/", "ClientId": "app-id",
        "TokenEndpoint": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", "ClientSecret": CLIENT_SECRET}}}},
}
REFS = {"ORTHANC__REGISTERED_USERS": "orthanc-users", "ORTHANC__POSTGRESQL__PASSWORD": "postgresql-password",
        "ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE__CLIENT_SECRET": "dicom-client-secret"}


def test_the_env_is_the_model_s_container_form_with_secrets_as_references():
    env = container_env(SPEC, REFS)
    values = dict((e["name"], e["value"]) for e in env if "value" in e)
    refs = dict((e["name"], e["secret_ref"]) for e in env if "secret_ref" in e)
    assert refs == REFS
    # the same model: the container form with the referenced values put back reads as the host's JSON
    expected = build_config(dict(SPEC, storage_dir="/var/lib/orthanc/db", http_port=8042, dicom_port=4242,
                                 remote_access_allowed=True))
    resolved = dict(values, **dict((name, to_env(expected)[name]) for name in refs))
    assert from_env(resolved, reference=expected) == expected
    assert PG_PASSWORD not in json.dumps(env) and CLIENT_SECRET not in json.dumps(env)


@pytest.mark.parametrize("refs, words", [
    ({k: v for k, v in REFS.items() if "POSTGRESQL" not in k}, "ORTHANC__POSTGRESQL__PASSWORD would hold a secret"),
    ({k: v for k, v in REFS.items() if "USERS" not in k}, "ORTHANC__REGISTERED_USERS would hold a secret"),
    (dict(REFS, ORTHANC__NOT_THERE="x"), "does not produce"),
])
def test_a_secret_left_in_plain_text_or_a_dangling_reference_fails(refs, words):
    with pytest.raises(OrthancConfigError, match=words):
        container_env(SPEC, refs)


def test_the_module_returns_readable_values_and_no_secret():
    out = io.StringIO()
    with patch_module_args(dict(configuration=SPEC, secret_refs=REFS)), redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    result = json.loads(out.getvalue())
    assert result["changed"] is False
    assert {"name": "ORTHANC__POSTGRESQL__HOST", "value": "pg.example.org"} in result["env"]
    assert {"name": "ORTHANC__HTTP_PORT", "value": "8042"} in result["env"]
    text = json.dumps(result)
    assert PG_PASSWORD not in text and CLIENT_SECRET not in text and "admin-password-never-shown" not in text
