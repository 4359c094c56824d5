"""The same Orthanc as lab/orthanc.py, run by the project's image (Orthanc 1.12.7 from Debian 13) under podman.

Host networking: the container listens on the ports its configuration names and reaches the lab's services on
127.0.0.1, so a harness's configuration works unchanged. The configuration is mounted where the image's entrypoint
reads it (/etc/orthanc) and every host path it or the environment names (the plugin's working tree, CA files,
secret files) is mounted at the same path, read-only; the workdir read-write. `podman run` runs in the
foreground as the lab's daemon: its PID, log file and SIGTERM (proxied to Orthanc) work as for a host Orthanc.
"""
import os
import uuid

from lab.containers import images
from lab.containers.runtime import owner_label, podman, podman_env, remove_stale_sessions, session_owner
from lab.orthanc import OrthancProcess
from lab.proc import stop_pid

# Per test session (several may run at once on one machine): a session removes its own containers, and those of
# sessions whose process is gone (crashed runs), never a live session's.
OWNER_PREFIX = "orthanc-line-"
OWNER = session_owner(OWNER_PREFIX)
# The plugin needs no PyPI package; the host's plugin venv is built for Python 3.11 and does not fit 3.13.
HOST_ONLY_ENV = ("PYTHONPATH",)
# Never mounted over the image's own folders (nor /tmp itself, where its entrypoint writes).
IMAGE_FOLDERS = ("/usr", "/etc", "/var", "/run", "/tmp", "/opt", "/lib", "/bin", "/sbin")


class OrthancContainer(OrthancProcess):
    """OrthancProcess's interface (url, request, stop, kill, restart, log_text) on the project's image."""

    def __init__(self, workdir, config=None, env=None, plugins=(), auth=None, name="orthanc", image="orthanc"):
        config = dict(config or {})
        # Orthanc's own default on the host: authentication only when remote access is allowed.
        config.setdefault("AuthenticationEnabled", bool(config.get("RemoteAccessAllowed", False)))
        env = {k: v for k, v in (env or {}).items() if k not in HOST_ONLY_ENV}
        super().__init__(workdir, config=config, env=env, plugins=plugins, auth=auth, name=name)
        self.tag = images.ensure(image)
        self.container = f"{OWNER}-{name}-{uuid.uuid4().hex[:6]}"

    def command(self):
        argv = ["podman", "run", "--rm", "--name", self.container, "--label", owner_label(OWNER),
                "--network", "host", "--user", "0:0", "--sig-proxy=true",
                "-v", f"{self.workdir}:{self.workdir}", "-v", f"{self.config_path}:/etc/orthanc/lab.json:ro"]
        for path in host_paths([self.config, self.env], exclude=self.workdir):
            argv += ["-v", f"{path}:{path}:ro"]
        for key, value in sorted(self.env.items()):
            argv += ["-e", f"{key}={value}"]
        return argv + [self.tag]

    def process_env(self):
        return podman_env()

    def stop(self, timeout=20):
        stop_pid(self.pid, timeout=timeout)
        podman("rm", "-f", self.container, check=False)

    def kill(self):
        podman("kill", "--signal", "KILL", self.container, check=False)
        stop_pid(self.pid, timeout=10)
        podman("rm", "-f", self.container, check=False)


def remove_leftovers():
    """Remove this session's containers and those of sessions whose process no longer exists."""
    return remove_stale_sessions(OWNER_PREFIX)


def host_paths(values, exclude):
    """Paths to mount for every existing absolute path named in values (a file: its folder), outside exclude."""
    found = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, str) and value.startswith("/") and os.path.exists(value):
            folder = value if os.path.isdir(value) else os.path.dirname(value)
            if folder == "/tmp" and folder != value:
                folder = value  # a file directly in /tmp: that file alone (the entrypoint writes in /tmp)
            inside = folder == exclude or folder.startswith(exclude + os.sep)
            ours = any(folder == top or (top != "/tmp" and folder.startswith(top + os.sep)) for top in IMAGE_FOLDERS)
            if not inside and folder != "/" and not ours:
                found.add(folder)
    # A folder inside another one found is covered by it.
    return sorted(p for p in found if not any(p != q and p.startswith(q + os.sep) for q in found))
