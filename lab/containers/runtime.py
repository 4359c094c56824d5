"""podman for the lab: one way to call it (the project's configuration, clear errors) and cleanup by label.

Every container, network and volume the lab or a test creates carries the label io.medimaging.lab=<owner>;
the code that started it removes it by that label, and a test that finds leftovers of a crashed run with its
owner removes them before it starts.
"""
import json
import os
import shutil
import subprocess
import time

from lab.proc import LabError, pid_alive

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(REPO_ROOT, ".cache", "containers")
LABEL = "io.medimaging.lab"
SETUP_HINT = "run `make setup` (scripts/install-container-runtime.sh installs podman and writes .cache/containers)"


class ContainerError(LabError):
    """podman is missing, misconfigured, or refused an operation; the message says what to do."""


def podman_env(base=None):
    """The environment podman runs with: the project's containers.conf and storage.conf unless already chosen."""
    env = dict(os.environ if base is None else base)
    env.setdefault("CONTAINERS_CONF", os.path.join(CONFIG_DIR, "containers.conf"))
    env.setdefault("CONTAINERS_STORAGE_CONF", os.path.join(CONFIG_DIR, "storage.conf"))
    return env


def require_runtime():
    if shutil.which("podman") is None:
        raise ContainerError("podman is not installed; " + SETUP_HINT)
    env = podman_env()
    for key in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF"):
        if not os.path.isfile(env[key]):
            raise ContainerError(f"{key} names {env[key]}, which does not exist; " + SETUP_HINT)
    return env


def podman(*args, check=True, input_bytes=None, timeout=None, stdout=subprocess.PIPE):
    """Run `podman ARGS`; returns the CompletedProcess (text). Raises ContainerError with podman's own words."""
    env = require_runtime()
    argv = ["podman", *[str(a) for a in args]]
    try:
        done = subprocess.run(argv, env=env, input=input_bytes, stdout=stdout, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ContainerError(f"`{' '.join(argv[:4])} ...` did not finish in {timeout} s") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ContainerError(f"`{' '.join(argv[:6])}{' ...' if len(argv) > 6 else ''}` failed "
                             f"(exit {done.returncode}): {' '.join(message[-3:]) or 'no message'}")
    return done


def podman_json(*args):
    out = podman(*args).stdout.decode().strip()
    return json.loads(out) if out else []


def owner_label(owner):
    return f"{LABEL}={owner}"


def remove_labelled(owner=None):
    """Remove every container, pod, network and volume labelled for owner (None: any lab owner).

    Returns how many were removed."""
    removed = 0
    filt = f"label={owner_label(owner) if owner else LABEL}"
    # Containers and pods first (they hold networks and volumes); only they need -a to list the stopped ones.
    for kind, listing_all in (("container", ["-a"]), ("pod", ["-a"]), ("network", []), ("volume", [])):
        names = podman(kind, "ls", *listing_all, "-q", "--filter", filt, check=False).stdout.decode().split()
        if names:
            podman(kind, "rm", "-f", *names, check=False)
            removed += len(names)
    return removed


def session_owner(prefix):
    """An owner name for this process's containers: prefix + PID, so parallel test processes never remove each
    other's containers (remove_stale_sessions cleans up after the ones that crashed)."""
    return f"{prefix}{os.getpid()}"


def remove_stale_sessions(prefix):
    """Remove the containers (and their pods, networks, volumes) of prefix-owned sessions whose process is gone,
    and this process's own. Returns how many were removed."""
    listed = podman_json("ps", "-a", "--format", "json", "--filter", f"label={LABEL}")
    owners = {(container.get("Labels") or {}).get(LABEL, "") for container in listed}
    removed = 0
    for owner in sorted(owners):
        pid = owner[len(prefix):]  # not a number: not a session's, a crashed tool's leftover
        if owner.startswith(prefix) and (not pid.isdigit() or int(pid) == os.getpid() or not pid_alive(int(pid))):
            removed += remove_labelled(owner)
    return removed


def container_state(name):
    """'running', 'exited', ... or None when no such container exists."""
    done = podman("container", "inspect", "--format", "{{.State.Status}}", name, check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def container_ip(name, network):
    data = podman_json("container", "inspect", name)
    return data[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


def wait_for_postgresql(name, timeout=180):
    """Until the PostgreSQL of systemd container `name` accepts connections. A first start took over 60 s beside CI's
    other parts (2 cores, load ~6)."""
    deadline = time.monotonic() + timeout
    while podman("exec", name, "pg_isready", "-q", "-h", "127.0.0.1", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise ContainerError(f"PostgreSQL in {name} did not start in {timeout} s; "
                                 f"see `podman exec {name} journalctl -u postgresql@15-main`")
        time.sleep(0.5)
