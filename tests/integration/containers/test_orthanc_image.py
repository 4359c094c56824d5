"""The project's Orthanc image under an arbitrary UID in group 0 (OpenShift restricted-v2): healthy, plugin loaded,
nothing written outside its group-0 paths (read-only root file system), probes answer without leaking."""
import random
import secrets
import time
import uuid

import pytest
import requests

from lab.containers import images
from lab.dicom_factory import make_instance
from lab.containers.runtime import owner_label, podman, remove_labelled
from lab.proc import free_port

OWNER = "test-orthanc-image"


@pytest.fixture(scope="module")
def orthanc_container():
    remove_labelled(OWNER)  # a crashed earlier run's containers
    tag = images.ensure("orthanc")
    name = f"{OWNER}-{uuid.uuid4().hex[:6]}"
    uid = 1000000000 + random.randrange(32768)
    port = free_port()
    password = secrets.token_urlsafe(12)
    podman("run", "-d", "--name", name, "--label", owner_label(OWNER), "--user", f"{uid}:0", "--read-only",
           "-p", f"127.0.0.1:{port}:8042", "-e", '''ORTHANC__REGISTERED_USERS={"admin": "%s"}''' % password,
           "-e", "ORTHANC__NAME=random-uid", tag)
    try:
        yield {"name": name, "uid": uid, "url": f"http://127.0.0.1:{port}", "auth": ("admin", password)}
    finally:
        podman("rm", "-f", "-v", name, check=False)  # -v: the anonymous volume of /var/lib/orthanc/db
        remove_labelled(OWNER)


def probe(name, kind, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        done = podman("exec", name, "medimaging-probe", kind, check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def test_random_uid_gets_a_ready_orthanc_with_the_plugin(orthanc_container):
    name = orthanc_container["name"]
    done = probe(name, "ready")
    logs = podman("logs", name, check=False).stderr.decode(errors="replace")[-2000:]
    assert done.returncode == 0, f"not ready: {done.stderr.decode()} / {logs}"
    assert b'"ready"' in done.stdout
    assert podman("exec", name, "id", "-u").stdout.decode().strip() == str(orthanc_container["uid"])
    auth = orthanc_container["auth"]
    system = requests.get(orthanc_container["url"] + "/system", auth=auth, timeout=10).json()
    assert system["Name"] == "random-uid" and system["Version"].startswith("1.12.")
    assert "python" in requests.get(orthanc_container["url"] + "/plugins", auth=auth, timeout=10).json()
    status = requests.get(orthanc_container["url"] + "/medimaging/status", auth=auth, timeout=10)
    assert status.status_code == 200, status.text
    # Storage works: an upload lands in the group-0 volume as the arbitrary UID.
    stored = requests.post(orthanc_container["url"] + "/instances", data=make_instance(), auth=auth, timeout=30)
    assert stored.status_code == 200, stored.text
    owners = podman("exec", name, "find", "/var/lib/orthanc/db", "-type", "f", "-printf", "%u\n").stdout.decode()
    assert set(owners.split()) == {str(orthanc_container["uid"])}


def test_probes_live_and_health_routes_leak_nothing(orthanc_container):
    name, url = orthanc_container["name"], orthanc_container["url"]
    assert probe(name, "live").returncode == 0
    assert probe(name, "ready").returncode == 0
    # Orthanc's authentication comes first (1.12 as 1.10): without credentials a probe route is refused...
    assert requests.get(url + "/medimaging/health/ready", timeout=10).status_code == 401
    # ...and with them it says one word.
    answer = requests.get(url + "/medimaging/health/ready", auth=orthanc_container["auth"], timeout=10)
    assert answer.json() == {"status": "ready"}


def test_configuration_written_only_for_its_user(orthanc_container):
    listing = podman("exec", orthanc_container["name"], "stat", "-c", "%a %u", "/tmp/orthanc/orthanc.json")
    mode, owner = listing.stdout.decode().split()
    assert mode == "600" and owner == str(orthanc_container["uid"])
