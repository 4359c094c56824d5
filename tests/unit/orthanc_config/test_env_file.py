"""The orthanc_env_file module run as Ansible runs it: the file holds the secrets, the diff and result never do."""
import json

from module_subprocess import run_collection_module


def run_module(tmp_path, check=False, **args):
    return run_collection_module("orthanc_env_file", tmp_path, check, _ansible_inject_invocation=True, **args)


def content(secret):
    return ("# managed\nTCP_NODELAY=1\nAZURE_CLIENT_ID=app-id\nAZURE_CLIENT_SECRET='%s'\n"
            "ORTHANC__REGISTERED_USERS='{\"alice\": \"user-pw-7\"}'\nDB_URL=postgresql://u:uri-pw-8@db/o\n" % secret)


SECRETS = ("env-secret-old", "env-secret-new", "user-pw-7", "uri-pw-8")


def test_writes_the_secret_but_never_shows_it(tmp_path):
    dest = tmp_path / "orthanc.env"
    result = run_module(tmp_path, dest=str(dest), content=content("env-secret-old"), mode="0640")
    assert result["changed"] is True
    assert "AZURE_CLIENT_SECRET='env-secret-old'" in dest.read_text()
    assert oct(dest.stat().st_mode & 0o777) == "0o640"
    assert [s for s in SECRETS if s in json.dumps(result)] == []
    assert "AZURE_CLIENT_ID=app-id" in result["diff"]["after"]  # non-secrets still diffed
    assert result["variables"]["TCP_NODELAY"] == "1"
    again = run_module(tmp_path, dest=str(dest), content=content("env-secret-old"), mode="0640")
    assert again["changed"] is False and "diff" not in again


def test_a_rotation_shows_as_changed_without_either_value(tmp_path):
    dest = tmp_path / "orthanc.env"
    run_module(tmp_path, dest=str(dest), content=content("env-secret-old"))
    rotated = run_module(tmp_path, check=True, dest=str(dest), content=content("env-secret-new"))
    assert rotated["changed"] is True and "env-secret-old" in dest.read_text()  # check mode wrote nothing
    assert [s for s in SECRETS if s in json.dumps(rotated)] == []
    line = [x for x in rotated["diff"]["after"].splitlines() if x.startswith("AZURE_CLIENT_SECRET=")]
    old_line = [x for x in rotated["diff"]["before"].splitlines() if x.startswith("AZURE_CLIENT_SECRET=")]
    assert line != old_line and line[0].startswith("AZURE_CLIENT_SECRET=********")


def test_absent_removes_and_masks(tmp_path):
    dest = tmp_path / "orthanc.env"
    run_module(tmp_path, dest=str(dest), content=content("env-secret-old"))
    result = run_module(tmp_path, dest=str(dest), state="absent")
    assert result["changed"] is True and not dest.exists()
    assert [s for s in SECRETS if s in json.dumps(result)] == []
