"""The OHIF viewer image (images/ohif-viewer) run by podman as a pod would run it: an arbitrary non-root UID in group
0, read-only root, no capabilities, host network on 127.0.0.1 ports. Shared by tests/integration/viewer_container."""
import os
import shutil
import uuid

from lab.ca import LabCA
from lab.containers.runtime import owner_label, podman
from lab.proc import LOOPBACK, free_port, wait_for_http

UID = 1000740000  # an OpenShift-style UID in group 0, unknown to the image


def run_viewer(owner, tag, environ, *extra, detach=True, network="host"):
    """Start the image with OHIF_VIEWER_* settings; returns (name, viewer URL, health URL) or, not detached, the
    finished run's result (returncode, stdout, stderr)."""
    name = f"{owner}-{uuid.uuid4().hex[:6]}"
    port, health = free_port(), free_port()
    argv = ["run", "--name", name, "--label", owner_label(owner), "--network", network, "--read-only",
            "--user", f"{UID}:0", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-e", f"OHIF_VIEWER_LISTEN_ADDRESS={LOOPBACK}", "-e", f"OHIF_VIEWER_LISTEN_PORT={port}",
            "-e", f"OHIF_VIEWER_HEALTH_PORT={health}"]
    for key, value in environ.items():
        argv += ["-e", f"{key}={value}"]
    if not detach:
        return podman(*argv, *extra, "--rm", tag, check=False, timeout=120)
    podman(*argv, *extra, "-d", tag)
    return name, f"https://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{health}/healthz"


def wait_healthy(name, health, timeout=60):
    """Wait for /healthz; on failure the container's log says why."""
    try:
        wait_for_http(health, timeout=timeout, accept=(200,))
    except Exception as exc:
        logs = podman("logs", name, check=False)
        raise AssertionError(f"{name} not healthy: {logs.stderr.decode(errors='replace')[-1500:]}") from exc


def group_readable_copy(source, folder, name):
    """A file as a Kubernetes Secret volume mounts it (defaultMode 0440): the container's group 0 reads it."""
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, name)
    shutil.copyfile(source, target)
    os.chmod(target, 0o440)
    return target


def mounted_certificate(work):
    """A lab-CA certificate for the viewer, mounted as a TLS Secret would be: {"folder", "ca"}."""
    ca = LabCA(os.path.join(work, "ca"))
    ca.ensure()
    cert, key = ca.issue_server_cert("viewer")
    folder = os.path.join(work, "tls")
    for source, target in ((cert, "tls.crt"), (key, "tls.key")):
        group_readable_copy(source, folder, target)
    return {"folder": folder, "ca": ca.cert_path}
