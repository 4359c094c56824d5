"""The launcher: idempotent up, repair of a half-started lab, clear refusal of a busy port without orphans."""
import os
import socket
import subprocess
import sys

from lab.azurite import Azurite
from lab.cli import Lab
from lab.proc import pid_alive

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_up_is_idempotent_and_restarts_only_what_is_missing(lab):
    _facts, started = lab.up()
    assert started == []
    facts = lab.facts()
    azurite = Azurite(lab.layout.azurite_dir, facts["ports"]["azurite"], "", "")
    old_pid = azurite.pid
    azurite.stop()
    assert lab.status()["state"] == "partial"
    _facts, started = lab.up()
    assert started == ["azurite"] and lab.status()["state"] == "up" and azurite.pid != old_pid


def test_busy_port_gives_a_clear_message_and_starts_nothing(tmp_path):
    lab_dir = tmp_path / "busy"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "lab", "--lab-dir", str(lab_dir), "up", "--emulator-port",
                                 str(port)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "already used" in result.stderr
    status = Lab(str(lab_dir)).status()
    assert status["state"] == "down"
    assert not any(pid_alive(s["pid"]) for s in status["services"].values() if s["pid"])


def test_env_prints_exports_and_json(lab):
    env = lab.env()
    assert env["arm_endpoint"].startswith("https://127.0.0.1:") and os.path.exists(env["ca_bundle"])
    result = subprocess.run([sys.executable, "-m", "lab", "--lab-dir", lab.layout.root, "env"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert f"export AZURE_TENANT_ID={env['tenant_id']}" in result.stdout
