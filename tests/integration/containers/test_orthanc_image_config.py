"""The image configured the container way from the collection's model: orthanc_config.build_config() -> to_env()
-> ORTHANC__* variables (the password as a /run/secrets file) -> the entrypoint -> the same JSON in Orthanc,
with a PostgreSQL index the readiness probe queries."""
import json
import os
import random
import sys
import uuid

import pytest
import requests

from lab.containers import images
from lab.containers.runtime import REPO_ROOT, owner_label, podman, remove_labelled
from lab.proc import free_port

COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")  # the collection linked in place (make setup)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
from ansible_collections.medimaging.orthanc.plugins.module_utils import orthanc_config as model  # noqa: E402

OWNER = "test-orthanc-image-config"
PLUGIN_SCRIPT = "/usr/share/medimaging/orthanc-plugin/entrypoint.py"


@pytest.fixture
def model_config(pg_database):
    return model.build_config({
        "storage_dir": "/var/lib/orthanc/db", "http_port": free_port(), "dicom_port": free_port(),
        "users": {"radiology": "long-enough-1"}, "name": "from-the-model",
        "postgresql": {"enabled": True, "host": pg_database["host"], "port": pg_database["port"],
                       "database": pg_database["database"], "username": pg_database["user"],
                       "password": pg_database["password"], "lock": False},
        "python": {"script": PLUGIN_SCRIPT}})


def test_model_env_and_secret_file_give_the_models_json_and_a_ready_orthanc(model_config, tmp_path):
    remove_labelled(OWNER)
    env = model.to_env(model_config)
    secret = tmp_path / "ORTHANC__POSTGRESQL__PASSWORD"
    secret.write_text(env.pop("ORTHANC__POSTGRESQL__PASSWORD") + "\n")
    os.chmod(secret, 0o644)  # the container's random UID reads it, as a mounted Kubernetes Secret
    name = f"{OWNER}-{uuid.uuid4().hex[:6]}"
    args = ["run", "-d", "--name", name, "--label", owner_label(OWNER), "--network", "host", "--read-only",
            "--user", f"{1000000000 + random.randrange(32768)}:0",
            "-v", f"{secret}:/run/secrets/ORTHANC__POSTGRESQL__PASSWORD:ro"]
    for key, value in sorted(env.items()):
        args += ["-e", f"{key}={value}"]
    podman(*args, images.ensure("orthanc"))
    try:
        done = podman("exec", name, "medimaging-probe", "ready", check=False)
        for _ in range(120):
            if done.returncode == 0:
                break
            done = podman("exec", name, "sh", "-c", "sleep 0.5; medimaging-probe ready", check=False)
        logs = podman("logs", name, check=False).stderr.decode(errors="replace")[-1500:]
        assert done.returncode == 0, f"not ready: {done.stderr.decode()} / {logs}"
        written = json.loads(podman("exec", name, "cat", "/tmp/orthanc/orthanc.json").stdout)
        for key, value in model_config.items():
            if key != "Plugins":  # the model writes [] (none given): the entrypoint chose them from the sections
                assert written[key] == value, key
        assert sorted(os.path.basename(p) for p in written["Plugins"]) == [
            "libOrthancDicomWeb.so", "libOrthancPostgreSQLIndex.so", "libOrthancPostgreSQLStorage.so",
            "libOrthancPython.so"]
        url = "http://127.0.0.1:%d" % model_config["HttpPort"]
        loaded = requests.get(url + "/plugins", auth=("radiology", "long-enough-1"), timeout=10).json()
        assert {"python", "dicom-web", "postgresql-index"} <= set(loaded)
    finally:
        podman("rm", "-f", "-v", name, check=False)
        remove_labelled(OWNER)
