"""Azurite (the Azure Storage emulator, npm) as the lab's Blob data plane: HTTPS, OAuth, named accounts.

Azurite reads its accounts from AZURITE_ACCOUNTS at start, so adding a storage account means a restart
with the new list; the data folder survives it. The account list lives in accounts.json (0600, it
holds the keys) next to the data.
"""
import json
import os
import shutil
import subprocess
import time

from lab.proc import LOOPBACK, LabError, pid_alive, port_in_use, read_pidfile, start_daemon, stop_pid, wait_for_port

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_PREFIX = os.path.join(REPO_ROOT, ".cache", "node")
# azure-storage-blob sends newer x-ms-version values than Azurite knows; real Azure accepts them, so the lab does too.
AZURITE_FLAGS = ("--oauth", "basic", "--skipApiVersionCheck", "--disableProductStyleUrl", "--loose")


def _node_major(node):
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=10).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return 0


def find_node(prefix=NODE_PREFIX):
    """A Node 22+ binary: the repo's .cache/node first, then PATH."""
    for candidate in (os.path.join(prefix, "bin", "node"),
                      os.path.join(prefix, "node_modules", "node", "bin", "node"),
                      shutil.which("node") or ""):
        if candidate and os.path.exists(candidate) and _node_major(candidate) >= 22:
            return candidate
    raise LabError("Node 22 not found: run scripts/install-node-tools.sh "
                   "(or `npm install --prefix .cache/node node@22 azurite`)")


def find_azurite_blob(prefix=NODE_PREFIX):
    for candidate in (os.path.join(prefix, "lib", "node_modules", "azurite", "dist", "src", "blob", "main.js"),
                      os.path.join(prefix, "node_modules", "azurite", "dist", "src", "blob", "main.js")):
        if os.path.exists(candidate):
            return candidate
    raise LabError("Azurite not found under .cache/node: run scripts/install-node-tools.sh "
                   "(or `npm install --prefix .cache/node node@22 azurite`)")


class Azurite:
    """Azurite's blob service on 127.0.0.1:port over HTTPS, data and pidfile under `directory`."""

    def __init__(self, directory, port, cert, key):
        self.directory = os.path.abspath(directory)
        self.port = int(port)
        self.cert, self.key = cert, key
        self.data_dir = os.path.join(self.directory, "data")
        self.accounts_file = os.path.join(self.directory, "accounts.json")
        self.pidfile = os.path.join(self.directory, "azurite.pid")
        self.logfile = os.path.join(self.directory, "azurite.log")

    @property
    def pid(self):
        return read_pidfile(self.pidfile)

    def running(self):
        return pid_alive(self.pid)

    def endpoint(self, account):
        """Path-style blob endpoint (no wildcard DNS on 127.0.0.1), as primaryEndpoints.blob reports it."""
        return f"https://{LOOPBACK}:{self.port}/{account}/"

    def accounts(self):
        try:
            with open(self.accounts_file, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def save_accounts(self, accounts):
        os.makedirs(self.directory, exist_ok=True)
        fd = os.open(self.accounts_file + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(accounts, handle)
        os.replace(self.accounts_file + ".tmp", self.accounts_file)

    def start(self, timeout=30):
        if self.running():
            return False
        if port_in_use(self.port):
            raise LabError(f"port {self.port} on {LOOPBACK} is already in use: Azurite cannot start there")
        node, entry = find_node(), find_azurite_blob()
        os.makedirs(self.data_dir, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
        accounts = self.accounts()
        if accounts:
            env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{keys[0]}:{keys[1]}" for name, keys in accounts.items())
        argv = [node, entry, "--blobHost", LOOPBACK, "--blobPort", str(self.port), "--location", self.data_dir,
                "--cert", self.cert, "--key", self.key, *AZURITE_FLAGS]
        pid = start_daemon(argv, self.logfile, self.pidfile, env=env, cwd=self.directory)
        try:
            wait_for_port(LOOPBACK, self.port, timeout, pid=pid, logfile=self.logfile)
        except LabError:
            stop_pid(pid, timeout=5)
            raise
        return True

    def stop(self):
        stop_pid(self.pid, timeout=10)
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)

    def restart(self, timeout=30):
        self.stop()
        # The old socket may linger a moment after the process is gone.
        wait_until_free(self.port, timeout=10)
        return self.start(timeout)


def wait_until_free(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.1)
