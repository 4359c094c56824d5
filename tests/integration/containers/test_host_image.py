"""The lab's systemd host images boot for real under podman, get their own address, and leave nothing behind."""
import time
import uuid

import pytest

from lab.containers import images
from lab.containers.runtime import container_ip, container_state, podman, remove_labelled

OWNER = "test-host-image"


@pytest.fixture(scope="module", autouse=True)
def no_leftovers():
    remove_labelled(OWNER)  # a crashed earlier run's containers
    yield
    remove_labelled(OWNER)


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_systemd_host_boots_and_is_removed_by_label(release):
    tag = images.ensure(f"host-{release}")
    name = f"{OWNER}-{release}-{uuid.uuid4().hex[:6]}"
    podman("run", "-d", "--name", name, "--label", f"io.medimaging.lab={OWNER}", "--systemd=always", tag)
    deadline = time.monotonic() + 180  # systemd's boot: ~15 s alone, much more when 3 parts share 2 cores
    state = ""
    while time.monotonic() < deadline:
        state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.decode().strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    failed = podman("exec", name, "systemctl", "--failed", "--no-legend").stdout.decode().strip()
    assert state == "running", f"{release}: systemd says {state!r}; failed units: {failed}"
    assert podman("exec", name, "python3", "-c", "print(1)").stdout.decode().strip() == "1"
    assert container_ip(name, "podman").startswith("10.88.")
    assert remove_labelled(OWNER) >= 1
    assert container_state(name) is None
