"""The world of the plugin's bad-input tests: one Orthanc with every plugin feature on, and the checks each case makes.

The on-prem Orthanc (DICOMweb, PostgreSQL index, the medimaging plugin) runs the OAuth feature (a static-token server),
the router (its queue in the session PostgreSQL) and the archive (a SAS from the environment); their remote ends are
a closed port on 127.0.0.1, so nothing leaves the machine. Fixtures live here, not in a conftest.py, so that other
suites in this folder keep theirs; test modules import them.
"""
import os
import sys

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "plugin"))
from plugin_harness import PLUGIN_DIR, plugin_site_packages  # noqa: E402

from lab.proc import LOOPBACK, free_port  # noqa: E402

ENTRYPOINT = os.path.join(PLUGIN_DIR, "entrypoint.py")
ADMIN = ("admin", "badinput-test-pass")
CLOSED = "http://%s:%d" % (LOOPBACK, free_port())  # nothing listens there: every remote call fails fast


def plugin_config(pg, **sections):
    """Orthanc's configuration with every feature of the plugin on; `sections` replace or add sections."""
    config = {
        "Name": "badinput", "StableAge": 1, "AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
        "HttpDescribeErrors": True, "Python": {"Path": ENTRYPOINT}, "PythonScript": ENTRYPOINT,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Servers": {"cloud": {"Url": CLOSED + "/dicom-web/"}}},
        "OrthancPeers": {"cloudpeer": {"Url": CLOSED + "/"}},
        "PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": pg["host"], "Port": pg["port"],
                       "Database": pg["database"], "Username": pg["user"], "Password": pg["password"], "Lock": False},
        "DicomWebOAuth": {"Servers": {"tokened": {"Url": CLOSED + "/tokened/", "StaticToken": "static-badinput-token"}}},
        "MedimagingRouter": {"Destinations": {"cloud": {}, "peer": {"Type": "peer", "Server": "cloudpeer"}},
                             "PollSeconds": 0.5},
        "MedimagingArchive": {"ContainerUrl": CLOSED + "/account/archive", "SasTokenEnv": "BADINPUT_ARCHIVE_SAS"},
    }
    config.update(sections)
    return config


def start_plugin_orthanc(factory, pg, name="badinput", **sections):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    return factory(name, config=plugin_config(pg, **sections), plugins=["DicomWeb", "PostgreSQLIndex", "Python"],
                   auth=ADMIN, env={"PYTHONPATH": plugin_site_packages(), "BADINPUT_ARCHIVE_SAS": "sv=2025&sig=x"})


def feature_states(orthanc):
    return {section: entry["state"] for section, entry in orthanc.get_json("/medimaging/status").items()}


def assert_still_up(orthanc):
    """GET /system answers: Orthanc survived (the crash of issue 11 dropped every connection)."""
    answer = requests.get(orthanc.url + "/system", auth=ADMIN, timeout=10)
    assert answer.status_code == 200, "Orthanc is down after the case; log:\n%s" % orthanc.log_text()[-3000:]
    assert orthanc.pid and os.path.exists("/proc/%d" % orthanc.pid)


def assert_no_traceback(*texts):
    for text in texts:
        assert "Traceback" not in text and "internal error" not in text, text[-2000:]


@pytest.fixture(scope="module")
def plugin_database(postgres_cluster):
    """A database and login role for the module's Orthanc (its index and the router's queue)."""
    import secrets
    name = "badinput_" + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    postgres_cluster.create_role(name, password)
    postgres_cluster.create_database(name, name)
    yield {"host": LOOPBACK, "port": postgres_cluster.port, "database": name, "user": name, "password": password}
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="module")
def plugin_orthanc(tmp_path_factory, plugin_database):
    """One Orthanc with every plugin feature running, for all the cases of a module; stopped at the end."""
    from lab.orthanc import OrthancProcess
    started = []

    def factory(name, **kwargs):
        process = OrthancProcess(str(tmp_path_factory.mktemp(name)), name=name, **kwargs)
        started.append(process)
        return process.start()

    try:
        orthanc = start_plugin_orthanc(factory, plugin_database)
        wait_for_features(orthanc)
        yield orthanc
    finally:
        for process in started:
            process.stop()


def wait_for_features(orthanc, timeout=60):  # returns at once when settled; 60 s for a loaded machine
    """Until no feature is "starting" any more; their states."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        states = feature_states(orthanc)
        if "starting" not in states.values() or time.monotonic() > deadline:
            return states
        time.sleep(0.2)
