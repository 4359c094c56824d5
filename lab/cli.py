"""The lab launcher: python -m lab up|down|status|env [--json].

Brings up, on 127.0.0.1 and under one lab directory ($LAB_DIR or <repo>/.lab): a PostgreSQL cluster
(TLS with the lab CA), Azurite (HTTPS, OAuth) and the Azure emulator. `up` is idempotent and starts
only what is not running; `down` stops only what the lab recorded (pidfiles), by PID.
"""
import argparse
import fcntl
import json
import os
import pwd
import shlex
import shutil
import sys
import time

from lab.azure import container_apps
from lab.azure.config import REPO_ROOT, LabLayout, new_facts
from lab.azurite import Azurite
from lab.ca import LabCA
from lab.postgres import PostgresCluster
from lab.proc import LOOPBACK, LabError, free_port, pid_alive, port_in_use, read_pidfile, start_daemon, stop_pid, \
    wait_for_http
from lab.site.host import Site
from lab.site.plan import HYBRID_LAB

SERVICES = ("postgres", "azurite", "emulator")
SYSTEM_CAS = ("/etc/ssl/certs/ca-certificates.crt",)


class Lab:
    def __init__(self, root=None):
        self.layout = LabLayout(root)

    # Facts and parts -------------------------------------------------------------------------------------
    def facts(self):
        return self.layout.load_facts() if os.path.exists(self.layout.facts_file) else None

    def ensure_facts(self, requested_ports):
        facts = self.facts()
        if facts is None:
            ports = {name: requested_ports.get(name) or free_port() for name in SERVICES}
            facts = new_facts(ports)
        else:
            facts["ports"].update({k: v for k, v in requested_ports.items() if v})
        self.layout.save_facts(facts)
        return facts

    def parts(self, facts):
        ca = os.path.join(self.layout.ca_dir, "server.pem"), os.path.join(self.layout.ca_dir, "server.key")
        return {"postgres": PostgresCluster(self.layout.postgres_data, facts["ports"]["postgres"]),
                "azurite": Azurite(self.layout.azurite_dir, facts["ports"]["azurite"], *ca)}

    def emulator_pid(self):
        pid = read_pidfile(self.layout.emulator_pidfile)
        return pid if pid and pid_alive(pid) and _cmdline_has(pid, "lab.azure") else 0

    def running(self, facts):
        parts = self.parts(facts)
        return {"postgres": parts["postgres"].pid if parts["postgres"].running() else 0,
                "azurite": parts["azurite"].pid if parts["azurite"].running() else 0,
                "emulator": self.emulator_pid()}

    # up ------------------------------------------------------------------------------------------------------
    def up(self, requested_ports=None):
        os.makedirs(self.layout.root, exist_ok=True)
        os.chmod(self.layout.root, 0o755)  # the 'postgres' account must reach its data folder
        with _locked(self.layout.lock_file):
            facts = self.ensure_facts(requested_ports or {})
            running = self.running(facts)
            for name in SERVICES:
                port = facts["ports"][name]
                if not running[name] and port_in_use(port):
                    raise LabError(f"port {port} on {LOOPBACK} ({name}) is already used by another process: stop "
                                   f"it, or choose another port (python -m lab up --{name}-port N), or start a "
                                   "separate lab with LAB_DIR=<another folder>.")
            self.ensure_tls()
            started = []
            try:
                parts = self.parts(facts)
                if not running["postgres"]:
                    self.start_postgres(parts["postgres"])
                    started.append(("postgres", parts["postgres"].stop))
                if not running["azurite"]:
                    parts["azurite"].start()
                    started.append(("azurite", parts["azurite"].stop))
                if not running["emulator"]:
                    self.start_emulator(facts)
                    started.append(("emulator", self.stop_emulator))
            except BaseException:
                for _name, stop in reversed(started):
                    stop()
                raise
            return facts, [name for name, _ in started]

    def ensure_tls(self):
        ca = LabCA(self.layout.ca_dir)
        ca.ensure()
        # The hospital site reaches the cloud side on its network's gateway (lab.site): that address too.
        ca.issue_server_cert("server", sans=("localhost", LOOPBACK, HYBRID_LAB.gateway))
        bundle = os.path.join(self.layout.ca_dir, "bundle.pem")
        # Lab CA plus the system's CAs: exporting it as REQUESTS_CA_BUNDLE must not break pip and friends.
        with open(bundle, "w", encoding="utf-8") as out:
            with open(ca.cert_path, encoding="utf-8") as handle:
                out.write(handle.read())
            for path in SYSTEM_CAS:
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as handle:
                        out.write(handle.read())

    def start_postgres(self, cluster):
        if cluster.init():
            tls_dir = os.path.join(self.layout.postgres_dir, "tls")
            os.makedirs(tls_dir, exist_ok=True)
            for name in ("server.pem", "server.key"):
                shutil.copy(os.path.join(self.layout.ca_dir, name), os.path.join(tls_dir, name))
            os.chmod(os.path.join(tls_dir, "server.key"), 0o600)
            if os.geteuid() == 0:
                account = pwd.getpwnam("postgres")
                for path in (tls_dir, *(os.path.join(tls_dir, n) for n in os.listdir(tls_dir))):
                    os.chown(path, account.pw_uid, account.pw_gid)
            with open(os.path.join(cluster.datadir, "postgresql.conf"), "a", encoding="utf-8") as conf:
                conf.write(f"\n# medimaging lab: TLS as on Azure flexible server\nssl = on\n"
                           f"ssl_cert_file = '{tls_dir}/server.pem'\nssl_key_file = '{tls_dir}/server.key'\n"
                           "ssl_min_protocol_version = 'TLSv1.2'\n")
        cluster.start()

    def start_emulator(self, facts):
        env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("LAB_DIR", None)
        argv = [sys.executable, "-m", "lab.azure", "--lab-dir", self.layout.root]
        pid = start_daemon(argv, self.layout.emulator_log, self.layout.emulator_pidfile, env=env, cwd=REPO_ROOT)
        try:
            wait_for_http(f"https://{LOOPBACK}:{facts['ports']['emulator']}/_lab/health", timeout=60, pid=pid,
                          logfile=self.layout.emulator_log, cafile=os.path.join(self.layout.ca_dir, "ca.pem"),
                          accept=(200,))
        except LabError:
            stop_pid(pid, timeout=10)
            raise

    def stop_emulator(self):
        pid = self.emulator_pid()
        if pid:
            stop_pid(pid, timeout=60)  # it stops the DICOM services' Orthancs first
        if os.path.exists(self.layout.emulator_pidfile):
            os.remove(self.layout.emulator_pidfile)

    # down ------------------------------------------------------------------------------------------------------
    def down(self, purge=False):
        facts = self.facts()
        if facts is None:
            return []
        with _locked(self.layout.lock_file):
            stopped = []
            site = Site(HYBRID_LAB, os.path.join(self.layout.root, "site"))
            if os.path.exists(site.state_file):  # only the site this lab made (another LAB_DIR's is not ours)
                stopped += [f"site: {item}" for item in site.down()]
            if self.emulator_pid():
                self.stop_emulator()
                stopped.append("emulator")
            stopped += container_apps.remove_lab(self.layout.root)  # what a killed emulator left
            stopped += self.stop_orphan_orthancs()
            parts = self.parts(facts)
            for name in ("azurite", "postgres"):
                if parts[name].running():
                    parts[name].stop()
                    stopped.append(name)
        if purge:
            shutil.rmtree(self.layout.root, ignore_errors=True)
        return stopped

    def stop_orphan_orthancs(self):
        """Orthancs of DICOM services left behind by an emulator that was killed: stopped by their pidfiles."""
        stopped = []
        if not os.path.isdir(self.layout.dicom_dir):
            return stopped
        for name in os.listdir(self.layout.dicom_dir):
            pidfile = os.path.join(self.layout.dicom_dir, name, "orthanc.pid")
            pid = read_pidfile(pidfile)
            if pid and pid_alive(pid) and _cmdline_has(pid, "Orthanc"):
                stop_pid(pid, timeout=20)
                stopped.append(f"orthanc:{name}")
        return stopped

    # status / env ------------------------------------------------------------------------------------------------
    def status(self):
        facts = self.facts()
        if facts is None:
            return {"labDir": self.layout.root, "services": {}, "state": "absent"}
        running = self.running(facts)
        services = {name: {"running": bool(pid), "pid": pid or None, "port": facts["ports"][name]}
                    for name, pid in running.items()}
        count = sum(1 for s in services.values() if s["running"])
        state = "up" if count == len(SERVICES) else ("down" if count == 0 else "partial")
        return {"labDir": self.layout.root, "services": services, "state": state}

    def env(self):
        facts = self.facts()
        if facts is None:
            raise LabError(f"no lab in {self.layout.root}: run `python -m lab up` first")
        ports = facts["ports"]
        base = f"https://{LOOPBACK}:{ports['emulator']}"
        return {
            "lab_dir": self.layout.root,
            "arm_endpoint": base, "authority_host": base, "graph_endpoint": f"{base}/v1.0",
            "ca_bundle": os.path.join(self.layout.ca_dir, "bundle.pem"),
            "lab_ca_cert": os.path.join(self.layout.ca_dir, "ca.pem"),
            "tenant_id": facts["tenantId"], "subscription_id": facts["subscriptionId"],
            "client_id": facts["admin"]["clientId"], "client_secret": facts["admin"]["clientSecret"],
            "principal_id": facts["admin"]["objectId"], "location": facts["location"],
            "azurite_blob_endpoint": f"https://{LOOPBACK}:{ports['azurite']}",
            "postgres_host": LOOPBACK, "postgres_port": ports["postgres"],
            "request_log": self.layout.request_log, "oidc_issuer_base": f"{base}/_lab/oidc",
        }


EXPORTS = {
    "LAB_DIR": "lab_dir", "LAB_ARM_ENDPOINT": "arm_endpoint", "AZURE_ARM_ENDPOINT": "arm_endpoint",
    "AZURE_AUTHORITY_HOST": "authority_host",
    "LAB_GRAPH_ENDPOINT": "graph_endpoint", "LAB_CA_BUNDLE": "ca_bundle", "REQUESTS_CA_BUNDLE": "ca_bundle",
    "AZURE_TENANT_ID": "tenant_id", "AZURE_SUBSCRIPTION_ID": "subscription_id", "AZURE_CLIENT_ID": "client_id",
    "AZURE_CLIENT_SECRET": "client_secret", "LAB_LOCATION": "location",
    "LAB_AZURITE_BLOB_ENDPOINT": "azurite_blob_endpoint", "LAB_POSTGRES_HOST": "postgres_host",
    "LAB_POSTGRES_PORT": "postgres_port", "LAB_AZURE_REQUEST_LOG": "request_log",
    "LAB_OIDC_ISSUER_BASE": "oidc_issuer_base",
}


def _cmdline_has(pid, marker):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return marker.encode() in handle.read()
    except OSError:
        return False


class _locked:
    """One launcher at a time per lab directory."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.path, "w", encoding="ascii")  # noqa: SIM115 - closed in __exit__
        deadline = time.monotonic() + 120
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"another launcher holds {self.path}") from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab-dir", help="lab directory (default: $LAB_DIR or <repo>/.lab)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is not running")
    for name in SERVICES:
        up.add_argument(f"--{name}-port", type=int, help=f"port for {name} (default: free, then as recorded)")
    down = sub.add_parser("down", help="stop what the lab started")
    down.add_argument("--purge", action="store_true", help="also delete the lab directory (all lab data)")
    sub.add_parser("status", help="what runs, with PIDs and ports (exit 0 up, 1 partial, 3 down)")
    env = sub.add_parser("env", help="shell exports for tools (or --json for inventories)")
    env.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    lab = Lab(args.lab_dir)
    try:
        if args.command == "up":
            ports = {name: getattr(args, f"{name}_port") for name in SERVICES}
            _facts, started = lab.up({k: v for k, v in ports.items() if v})
            print(f"lab up in {lab.layout.root}" + (f" (started: {', '.join(started)})" if started
                                                     else " (already running)"))
            print("load it with: eval \"$(python -m lab env)\"")
            return 0
        if args.command == "down":
            stopped = lab.down(purge=args.purge)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
            return 0
        if args.command == "status":
            status = lab.status()
            print(json.dumps(status, indent=2))
            return {"up": 0, "partial": 1}.get(status["state"], 3)
        values = lab.env()
        if args.json:
            print(json.dumps(values, indent=2))
        else:
            for key, field in EXPORTS.items():
                print(f"export {key}={shlex.quote(str(values[field]))}")
        return 0
    except LabError as err:
        print(f"lab: {err}", file=sys.stderr)
        return 2
