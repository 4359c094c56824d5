"""orthanc_info against a real Orthanc on 127.0.0.1, run as Ansible runs a module on a host (an args file, the
collection on PYTHONPATH): version, plugins and counts read; waits for a late start; wrong credentials and a
missing plugin refused with a message that says what to do."""
import json
import os
import subprocess
import sys
import threading

import pytest

from lab.proc import free_port

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
MODULE = "ansible_collections.medimaging.orthanc.plugins.modules.orthanc_info"
AUTH = ("admin", "info-test-pw")


def run_info(tmp_path, **args):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True)}))
    answer = subprocess.run([sys.executable, "-m", MODULE, str(path)], capture_output=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    text = answer.stdout.decode()
    assert "{" in text, answer.stderr.decode()[-2000:]
    return json.loads(text[text.index("{"):])


@pytest.fixture
def orthanc(orthanc_factory):
    return orthanc_factory(config={"AuthenticationEnabled": True, "RegisteredUsers": {AUTH[0]: AUTH[1]},
                                   "Name": "InfoTest", "DicomAet": "INFOTEST"}, auth=AUTH)


def test_reads_version_plugins_and_counts(orthanc, tmp_path):
    result = run_info(tmp_path, orthanc_url=orthanc.url, orthanc_username=AUTH[0], orthanc_password=AUTH[1])
    system = orthanc.get_json("/system")
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert (result["version"], result["name"], result["dicom_aet"]) == (system["Version"], "InfoTest", "INFOTEST")
    assert result["plugins"] == sorted(orthanc.get_json("/plugins"))
    assert result["database"]["instances"] == 0 and result["database"]["backend_plugin"] is None
    assert AUTH[1] not in json.dumps(result)


def test_missing_plugin_is_named_with_what_is_loaded(orthanc, tmp_path):
    result = run_info(tmp_path, orthanc_url=orthanc.url, orthanc_username=AUTH[0], orthanc_password=AUTH[1],
                      required_plugins=["postgresql-index"])
    assert result["failed"]
    assert "does not load the plugin(s) postgresql-index" in result["msg"]


def test_wrong_credentials_fail_at_once_even_when_waiting(orthanc, tmp_path):
    result = run_info(tmp_path, orthanc_url=orthanc.url, orthanc_username=AUTH[0], orthanc_password="wrong", wait=60)
    assert result["failed"]
    assert "answered 401 (check orthanc_username and orthanc_password)" in result["msg"]
    assert float(result["msg"].rsplit("waited ", 1)[1].split()[0]) < 30


def test_waits_for_an_orthanc_that_starts_late(orthanc_factory, tmp_path):
    port = free_port()
    late = {}
    timer = threading.Timer(3, lambda: late.setdefault("orthanc", orthanc_factory(config={"HttpPort": port})))
    timer.start()
    try:
        result = run_info(tmp_path, orthanc_url="http://127.0.0.1:%d" % port, wait=90)
    finally:
        timer.join()
    assert not result.get("failed"), result
    assert result["waited"] >= 2


def test_no_answer_without_wait_fails_with_a_hint(tmp_path):
    result = run_info(tmp_path, orthanc_url="http://127.0.0.1:%d" % free_port())
    assert result["failed"]
    assert "check orthanc_url and that Orthanc runs" in result["msg"]
