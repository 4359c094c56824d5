"""The orthanc_config module run as Ansible runs it (a subprocess with an args file): check mode, diff, masking, errors."""
import json

from module_subprocess import run_collection_module


def run_module(tmp_path, check=False, **args):
    return run_collection_module("orthanc_config", tmp_path, check, **args)


def good_args(tmp_path):
    return {"dest": str(tmp_path / "orthanc.json"), "storage_dir": str(tmp_path / "storage"), "mode": "0640",
            "users": {"radiology": "secret-pass-1"},
            "postgresql": {"enabled": True, "host": "db", "database": "orthanc", "username": "o",
                           "password": "db-secret-2"}}


def test_check_mode_writes_nothing_and_masks_the_diff(tmp_path):
    result = run_module(tmp_path, check=True, **good_args(tmp_path))
    assert result["changed"] is True
    assert not (tmp_path / "orthanc.json").exists()
    text = json.dumps(result)
    assert "secret-pass-1" not in text and "db-secret-2" not in text
    assert '"Host": "db"' in result["diff"]["after"]


def test_writes_once_then_idempotent_with_private_mode(tmp_path):
    first = run_module(tmp_path, **good_args(tmp_path))
    second = run_module(tmp_path, **good_args(tmp_path))
    assert first["changed"] is True and second["changed"] is False
    written = json.loads((tmp_path / "orthanc.json").read_text())
    assert written["PostgreSQL"]["Password"] == "db-secret-2"  # Orthanc needs it; only the outputs are masked
    assert oct((tmp_path / "orthanc.json").stat().st_mode & 0o777) == "0o640"


def test_bad_input_fails_and_keeps_the_existing_file(tmp_path):
    run_module(tmp_path, **good_args(tmp_path))
    before = (tmp_path / "orthanc.json").read_text()
    bad = dict(good_args(tmp_path), dicom_aet="THIS/IS/WRONG")
    result = run_module(tmp_path, **bad)
    assert result.get("failed") is True
    assert "dicom_aet" in result["msg"]
    assert (tmp_path / "orthanc.json").read_text() == before


def test_absent_removes_the_file(tmp_path):
    run_module(tmp_path, **good_args(tmp_path))
    result = run_module(tmp_path, dest=str(tmp_path / "orthanc.json"), state="absent")
    assert result["changed"] is True and not (tmp_path / "orthanc.json").exists()


def secret_laden_args(tmp_path, client_secret):
    """Secrets in every input that is not no_log (plugin sections, extra, modalities): the masking must catch them."""
    args = good_args(tmp_path)
    args.update({
        "_ansible_inject_invocation": True,
        "python": {"script": "/opt/p/entrypoint.py",
                   "sections": {"DicomWebOAuth": {"Servers": {"azure": {"ClientId": "app", "ClientSecret": client_secret}}},
                                "MedimagingRouter": {"Database": {"ConnectionUri": "postgresql://r:uri-pw-5@db/o"}}}},
        "extra": {"OrthancPeers": {"site": ["https://peer/", "alice", "peer-pw-3"]},
                  "DicomWeb": {"Servers": {"cloud": {"Url": "https://d/", "HttpHeaders": {"authorization": "Bearer hdr-tok-4"}}}}},
    })
    return args


SECRETS = ("secret-pass-1", "db-secret-2", "peer-pw-3", "hdr-tok-4", "uri-pw-5", "client-secret-old", "client-secret-new")


def test_every_structured_secret_is_masked_in_diff_result_and_invocation(tmp_path):
    result = run_module(tmp_path, **secret_laden_args(tmp_path, "client-secret-old"))
    assert result["changed"] is True and "invocation" in result
    text = json.dumps(result)
    assert [s for s in SECRETS if s in text] == []
    assert '"Url": "https://d/"' in result["diff"]["after"]  # non-secrets still diffed
    assert json.loads((tmp_path / "orthanc.json").read_text())["OrthancPeers"]["site"][2] == "peer-pw-3"


def test_a_rotated_secret_shows_as_changed_without_either_value(tmp_path):
    run_module(tmp_path, **secret_laden_args(tmp_path, "client-secret-old"))
    rotated = run_module(tmp_path, **secret_laden_args(tmp_path, "client-secret-new"))
    assert rotated["changed"] is True
    assert [s for s in SECRETS if s in json.dumps(rotated)] == []
    before = json.loads(rotated["diff"]["before"])["DicomWebOAuth"]["Servers"]["azure"]["ClientSecret"]
    after = json.loads(rotated["diff"]["after"])["DicomWebOAuth"]["Servers"]["azure"]["ClientSecret"]
    assert before != after and before.startswith("********") and after.startswith("********")


def test_the_host_log_gets_no_secret_and_the_diff_stays_readable(tmp_path, monkeypatch):
    """AnsibleModule logs its arguments to the host's syslog/journald: sections and extra hold secrets too."""
    import importlib
    import io
    from contextlib import redirect_stdout

    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules.orthanc_config")
    args = secret_laden_args(tmp_path, "client-secret-old")
    args.update({"_ansible_diff": True, "_ansible_no_log": False})
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    assert logged and [s for s in SECRETS if s in " ".join(logged)] == []
    result = json.loads(out.getvalue())
    assert [s for s in SECRETS if s in out.getvalue()] == []
    after = json.loads(result["diff"]["after"])
    assert after["HttpPort"] == 8042 and after["DicomWeb"]["Servers"]["cloud"]["Url"] == "https://d/"
    assert after["OrthancPeers"]["site"][:2] == ["https://peer/", "alice"]  # not blanked by no_log
