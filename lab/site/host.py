"""The site's lifecycle: network, PACS host container (systemd, the site's PostgreSQL), relay to the cloud side.

State lives in <state_dir>/state.json (0600: it holds the database password), read by inventories/local.
Everything created is labelled io.medimaging.lab=<owner>; down() removes it all, with the state folder: the
site's PostgreSQL data lives only in the container, so nothing of the hospital (studies, the router's queue)
survives a teardown.
"""
import json
import os
import secrets
import shutil
import sys
import time

from lab.azure.config import REPO_ROOT, LabLayout, write_private_json
from lab.containers import images
from lab.containers.runtime import (ContainerError, container_state, owner_label, podman, podman_json, remove_labelled,
                                    wait_for_postgresql)
from lab.proc import LabError, pid_alive, read_pidfile, start_daemon, stop_pid
from lab.site.plan import HYBRID_LAB, SITE_IMAGE

BOOT_TIMEOUT = 90


class Site:
    def __init__(self, plan, state_dir):
        self.plan = plan
        self.state_dir = os.path.abspath(state_dir)
        self.state_file = os.path.join(self.state_dir, "state.json")
        self.relay_pidfile = os.path.join(self.state_dir, "relay.pid")
        self.relay_log = os.path.join(self.state_dir, "relay.log")

    # up ----------------------------------------------------------------------------------------------------------
    def up(self, relay_ports=(), log=print):
        """Create what is missing; returns the state (idempotent: a running site is reused)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        tag = images.ensure(SITE_IMAGE, log)
        self.ensure_network()
        fresh = self.ensure_host(tag)
        self.wait_booted()
        state = self.load_state() if not fresh else None
        if state is None or not self.database_ready(state["postgres"]):
            state = {"postgres": self.ensure_database()}
        self.ensure_relay(relay_ports)
        state.update(owner=self.plan.owner, network=self.plan.network, subnet=self.plan.subnet,
                     gateway=self.plan.gateway, pacs={"container": self.plan.pacs_container,
                                                      "address": self.plan.pacs_address},
                     relay_ports=list(relay_ports))
        write_private_json(self.state_file, state)
        return state

    def ensure_network(self):
        existing = podman_json("network", "ls", "--format", "json", "--filter", f"name=^{self.plan.network}$")
        if existing:
            subnets = [s.get("subnet") for s in existing[0].get("subnets", [])]
            if self.plan.subnet not in subnets:
                raise ContainerError(f"podman network {self.plan.network} exists with subnets {subnets}, not "
                                     f"{self.plan.subnet}: remove it (podman network rm {self.plan.network})")
            return False
        podman("network", "create", "--label", owner_label(self.plan.owner), "--subnet", self.plan.subnet,
               "--gateway", self.plan.gateway, self.plan.network)
        return True

    def ensure_host(self, tag):
        """Start the PACS host container unless it runs; True when it was (re)created."""
        name = self.plan.pacs_container
        state = container_state(name)
        if state == "running":
            return False
        if state is not None:
            podman("rm", "-f", name)
        # SYS_PTRACE: as on a VM, root sees which process holds a port (orthanc_host's preflight tells its own
        # running Orthanc from another program that way; a re-run of `make lab` would refuse its own ports without it).
        podman("run", "-d", "--name", name, "--hostname", "pacs", "--label", owner_label(self.plan.owner),
               "--network", self.plan.network, "--ip", self.plan.pacs_address, "--systemd=always",
               "--cap-add", "SYS_PTRACE", tag)
        return True

    def wait_booted(self):
        name, state = self.plan.pacs_container, ""
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.decode().strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(1)
        failed = podman("exec", name, "systemctl", "--failed", "--no-legend", check=False).stdout.decode().strip()
        raise ContainerError(f"{name}: systemd says {state!r} after {BOOT_TIMEOUT} s; failed units: {failed or '-'}; "
                             f"see `podman logs {name}`")

    def psql(self, sql, database="postgres", check=True):
        return podman("exec", self.plan.pacs_container, "runuser", "-u", "postgres", "--", "psql", "-X", "-q",
                      "-tA", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql, check=check)

    def database_ready(self, postgres):
        done = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{postgres['database']}'", check=False)
        return done.returncode == 0 and done.stdout.decode().strip() == "1"

    def ensure_database(self, database="orthanc", user="orthanc"):
        """The site DBA's work: a login role and a database for Orthanc in the host's own PostgreSQL."""
        wait_for_postgresql(self.plan.pacs_container)
        password = secrets.token_urlsafe(18)
        self.psql(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN "
                   f"CREATE ROLE {user} LOGIN; END IF; END$$; ALTER ROLE {user} PASSWORD '{password}'")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'").stdout.decode().strip() != "1":
            self.psql(f"CREATE DATABASE {database} OWNER {user}")
        return {"host": "127.0.0.1", "port": 5432, "database": database, "user": user, "password": password}

    def ensure_relay(self, ports):
        pid = read_pidfile(self.relay_pidfile)
        if pid and pid_alive(pid):
            stop_pid(pid)  # the cloud's ports may have changed: one relay, current ports
        if not ports:
            return 0
        argv = [sys.executable, "-m", "lab.site.relay", "--listen", self.plan.gateway]
        for port in ports:
            argv += ["--port", str(port)]
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        pid = start_daemon(argv, self.relay_log, self.relay_pidfile, env=env, cwd=REPO_ROOT)
        time.sleep(0.3)
        if not pid_alive(pid):
            with open(self.relay_log, encoding="utf-8", errors="replace") as handle:
                tail = handle.read()[-600:]
            raise ContainerError(f"the relay to the cloud side exited at start: {tail}")
        return pid

    # down / status -------------------------------------------------------------------------------------------------
    def down(self):
        """Remove the relay, the host container (and with it the site's PostgreSQL data), the network, any labelled
        volume, and the state folder. Returns what was removed."""
        removed = []
        pid = read_pidfile(self.relay_pidfile)
        if pid and pid_alive(pid):
            stop_pid(pid)
            removed.append("relay")
        count = remove_labelled(self.plan.owner)
        if count:
            removed.append(f"{count} labelled container/network/volume(s)")
        if os.path.isdir(self.state_dir):
            shutil.rmtree(self.state_dir)
            removed.append(self.state_dir)
        return removed

    def load_state(self):
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def status(self):
        pid = read_pidfile(self.relay_pidfile)
        return {"owner": self.plan.owner, "network": self.plan.network, "gateway": self.plan.gateway,
                "pacs": {"container": self.plan.pacs_container, "address": self.plan.pacs_address,
                         "state": container_state(self.plan.pacs_container)},
                "relay": {"running": bool(pid and pid_alive(pid)), "pid": pid or None}}


def site_for(lab_dir=None):
    """The hybrid lab's site, its state under <lab dir>/site."""
    return Site(HYBRID_LAB, os.path.join(LabLayout(lab_dir).root, "site"))


def cloud_ports(lab_dir=None):
    """The ports of the lab's cloud side (emulator, Azurite), as the launcher recorded them."""
    layout = LabLayout(lab_dir)
    if not os.path.exists(layout.facts_file):
        raise LabError(f"no lab in {layout.root}: run `python -m lab up` first")
    ports = layout.load_facts()["ports"]
    return [ports["emulator"], ports["azurite"]]
