"""Harness: the orthanc_host role run for real on this machine (ansible-playbook -c local), TLS material from the lab CA.

Each deployment is its own instance (name, folders, free ports, database in the session PostgreSQL of
tests/conftest.py). A finalizer registered *before* the role runs tears it down with the role itself
(orthanc_host_state=absent, purge), stops by PID whatever Orthanc or supervisor the role left behind, drops the
database and removes the instance's log; the session PostgreSQL is stopped by PID at the end of the session.
"""
import grp
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

import requests

from lab.ca import LabCA
from lab.proc import LOOPBACK, free_port, pid_alive, port_in_use, read_pidfile, stop_pid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(HERE, "..", "azure"))
from playbook_runner import run_local_playbook  # noqa: E402  (one ansible-playbook runner for the tests)

PLAYBOOK = os.path.join(HERE, "playbooks", "orthanc_host.yml")
ORTHANC_BINARY = "/usr/sbin/Orthanc"
SERVICE_USER = SERVICE_GROUP = "orthanc"  # the role's defaults (orthanc_host_user / _group)
DICOM_AET = "TLSPACS"
LOG_DIR = "/var/log/orthanc-medimaging"  # the role's defaults (orthanc_host_log_dir / _run_dir)
RUN_DIR = "/run/orthanc-medimaging"
# Never used by these tests: Orthanc's defaults, `make lab`'s, and the orthanc_host molecule scenario's.
RESERVED_PORTS = {8042, 4242, 18042, 14242}
MOLECULE_STATE = "/var/tmp/medimaging-molecule-orthanc-host/postgres/state.json"

# Debian 12 ships civetweb 1.15, which loads "libssl.so" at run time and looks its functions up by their OpenSSL
# 1.1 names. OpenSSL 3 no longer exports SSL_get_peer_certificate (now a macro for SSL_get1_peer_certificate):
# civetweb keeps a NULL pointer and calls it on the first HTTPS connection, so Orthanc dies with SIGSEGV.
# This shim exports the old name; put first on LD_LIBRARY_PATH, civetweb's dlopen("libssl.so") finds it
# (and, through its DT_NEEDED, every other function in the real libssl.so.3).
CIVETWEB_SHIM_C = r"""
typedef struct ssl_st SSL;
typedef struct x509_st X509;
X509 *SSL_get1_peer_certificate(const SSL *s);
X509 *SSL_get_peer_certificate(const SSL *s) { return SSL_get1_peer_certificate(s); }
"""


def ldd_paths(binary):
    """soname -> path of the libraries binary links."""
    done = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    found = {}
    for line in done.stdout.splitlines():
        match = re.match(r"\s*(\S+) => (/\S+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def civetweb_https_defect():
    """Why Orthanc's HTTPS cannot work with this host's packages (a sentence), or None."""
    libs = ldd_paths(ORTHANC_BINARY)
    civetweb = next((path for name, path in libs.items() if name.startswith("libcivetweb")), None)
    if not civetweb:
        return None
    with open(civetweb, "rb") as handle:
        image = handle.read()
    if b"libssl.so\x00" not in image or b"SSL_get_peer_certificate\x00" not in image:
        return None  # linked against OpenSSL, or a civetweb that no longer wants the old name
    # Ask the system's Python (no libssl of its own loaded) what dlopen("libssl.so") gives civetweb.
    probe = ("import ctypes, sys\ntry:\n    lib = ctypes.CDLL('libssl.so')\nexcept OSError:\n    sys.exit(4)\n"
             "sys.exit(0 if hasattr(lib, 'SSL_get_peer_certificate') else 3)")
    code = subprocess.run(["/usr/bin/python3", "-c", probe], check=False).returncode
    if code == 0:
        return None
    if code == 4:
        return (f"{civetweb} loads libssl.so at run time and this host has none (package libssl-dev): Orthanc "
                "cannot serve HTTPS")
    return (f"{civetweb} (civetweb 1.15) loads libssl.so at run time and calls SSL_get_peer_certificate, which "
            "OpenSSL 3 no longer exports: Orthanc dies with SIGSEGV on its first HTTPS connection")


def reserved_ports():
    ports = set(RESERVED_PORTS)
    try:
        with open(MOLECULE_STATE, encoding="utf-8") as handle:
            state = json.load(handle)
        ports.add(int(state.get("port", 0)))
        ports.update(int(p) for p in state.get("spare_ports", []))
    except (OSError, ValueError):
        pass
    return ports


def pick_ports(count, taken=()):
    avoid = reserved_ports() | set(taken)
    chosen = []
    while len(chosen) < count:
        port = free_port()
        if port not in avoid and port not in chosen:
            chosen.append(port)
    return chosen


def run_role(extra_vars, workdir, label, timeout=300):
    """ansible-playbook playbooks/orthanc_host.yml on localhost; extra vars from a 0600 JSON file. No assertion."""
    return run_local_playbook(PLAYBOOK, extra_vars, workdir, label, timeout)


def _tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


class TlsMaterial:
    """A lab CA and what the deployments need, under one folder outside /tmp (systemd's PrivateTmp would hide it).

    ca/    root only (0700): the CA, the HTTPS certificate and key (the role reads them as root), the SCU's client
           certificate and key.
    host/  root:orthanc 0750: what Orthanc itself reads for DICOM TLS: certificate chain, key (0640), trusted CAs.
    rogue/ another CA and a client certificate it signed (must be refused).
    """

    def __init__(self, base):
        self.base = base
        self.ca = LabCA(os.path.join(base, "ca"))
        self.ca.ensure()
        os.chmod(self.ca.directory, 0o700)
        self.https_cert, self.https_key = self.ca.issue_server_cert("https", sans=("localhost", LOOPBACK))
        dicom_cert, dicom_key = self.ca.issue_server_cert("dicom", sans=("localhost", LOOPBACK))
        self.client_cert, self.client_key = self.ca.issue_client_cert("scu", common_name="TLSSCU")
        group = grp.getgrnam(SERVICE_GROUP).gr_gid
        self.host_dir = os.path.join(base, "host")
        os.makedirs(self.host_dir)
        os.chown(self.host_dir, 0, group)
        os.chmod(self.host_dir, 0o750)
        self.dicom_cert = os.path.join(self.host_dir, "dicom.pem")
        self.dicom_key = os.path.join(self.host_dir, "dicom.key")
        self.trusted = os.path.join(self.host_dir, "trusted.pem")
        for source, target, mode in ((dicom_cert, self.dicom_cert, 0o644), (dicom_key, self.dicom_key, 0o600),
                                     (self.ca.cert_path, self.trusted, 0o644)):
            shutil.copyfile(source, target)
            os.chown(target, 0, group)
            os.chmod(target, mode)
        rogue = LabCA(os.path.join(base, "rogue"))
        rogue.ensure()
        self.rogue_cert, self.rogue_key = rogue.issue_client_cert("scu", common_name="TLSSCU")
        self.workdir = os.path.join(base, "work")  # extra-vars files (passwords): root only
        os.makedirs(self.workdir, mode=0o700)


class Deployment:
    """One orthanc_host instance on this machine: deploy() with the role, teardown() with the role (absent)."""

    def __init__(self, instance, material, cluster, extra_vars=None, label=None):
        self.instance = instance
        self.material = material
        self.cluster = cluster
        self.label = label or instance
        self.http_port, self.dicom_port = pick_ports(2, taken=[cluster.port])
        self.user = "tls-admin"
        self.password = secrets.token_urlsafe(18)
        self.database = "orthanc_" + re.sub(r"\W", "_", instance)
        db_password = secrets.token_urlsafe(18)
        cluster.create_role(self.database, db_password)
        cluster.create_database(self.database, self.database)
        self.config_dir = f"/etc/orthanc-medimaging/{instance}"
        self.data_dir = f"/var/lib/orthanc-medimaging/{instance}"
        self.plugin_dir = f"/opt/orthanc-medimaging/{instance}/plugin"
        self.logfile = os.path.join(LOG_DIR, f"{instance}.log")
        self.supervisor_pidfile = os.path.join(RUN_DIR, f"{instance}.pid")
        self.orthanc_pidfile = os.path.join(RUN_DIR, f"{instance}.orthanc.pid")
        self.torn_down = False
        self.vars = {
            "orthanc_host_state": "present",
            "orthanc_host_instance": instance,
            "orthanc_host_name": f"TLS test {instance}",
            "orthanc_host_users": {self.user: self.password},
            "orthanc_host_http_port": self.http_port,
            "orthanc_host_dicom_port": self.dicom_port,
            "orthanc_host_dicom_aet": DICOM_AET,
            "orthanc_host_postgresql_host": LOOPBACK,
            "orthanc_host_postgresql_port": cluster.port,
            "orthanc_host_postgresql_database": self.database,
            "orthanc_host_postgresql_user": self.database,
            "orthanc_host_postgresql_password": db_password,
            # The packages are installed (the prerequisites fixture checked); no apt run racing other tests.
            "orthanc_host_install_packages": False,
            # The medimaging plugin is not what this test is about (other tests cover it).
            "orthanc_host_plugin_enabled": False,
            "orthanc_host_start_timeout": 40,
            "orthanc_host_purge_data": True,
        }
        self.vars.update(extra_vars or {})

    @property
    def https(self):
        return bool(self.vars.get("orthanc_host_https_enabled"))

    @property
    def url(self):
        return f"{'https' if self.https else 'http'}://{LOOPBACK}:{self.http_port}"

    def run(self, state="present", **overrides):
        extra = dict(self.vars, orthanc_host_state=state, **overrides)
        return run_role(extra, self.material.workdir, f"{self.label}-{state}")

    def deploy(self):
        done = self.run("present")
        assert done.returncode == 0, (f"orthanc_host (present, {self.instance}) failed rc={done.returncode}:\n"
                                      f"{_tail(done.stdout, 60)}\n{_tail(done.stderr, 20)}\nlog:\n{self.log_tail()}")
        return done

    def pids(self):
        """(supervisor PID, Orthanc PID) from the role's pidfiles; 0 when absent."""
        return read_pidfile(self.supervisor_pidfile), read_pidfile(self.orthanc_pidfile)

    def rest(self, method, path, auth="registered", verify=None, **kwargs):
        """A request to the instance's REST API: the registered user unless auth says otherwise (None: anonymous);
        TLS verified against the lab CA unless verify says otherwise (True: the public CAs of certifi only)."""
        kwargs.setdefault("timeout", 30)
        with requests.Session() as session:
            session.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE set by another fixture
            session.auth = (self.user, self.password) if auth == "registered" else auth
            session.verify = self.material.ca.cert_path if verify is None else verify
            return session.request(method, self.url + path, **kwargs)

    def log_text(self):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def log_tail(self, lines=30):
        return _tail(self.log_text(), lines)

    def wait_for_log(self, pattern, since=0, timeout=10):
        """The log text after offset `since` once it matches `pattern` (regex), or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()[since:]
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def teardown(self):
        """The role's own teardown (absent, purge), then by PID whatever it left; drop the database; remove the log."""
        pids = self.pids()
        failure = None
        if not self.torn_down:
            done = self.run("absent")
            if done.returncode != 0:
                failure = f"orthanc_host (absent, {self.instance}) failed:\n{_tail(done.stdout)}\n{_tail(done.stderr)}"
            self.torn_down = True
        for pid in pids:
            if pid_alive(pid) and self._is_ours(pid):
                stop_pid(pid, timeout=20)
        for path in (self.supervisor_pidfile, self.orthanc_pidfile, self.logfile,
                     f"/usr/local/lib/orthanc-medimaging/supervise-{self.instance}"):
            if os.path.exists(path):
                os.remove(path)
        for path in (self.config_dir, self.data_dir, os.path.dirname(self.plugin_dir)):
            shutil.rmtree(path, ignore_errors=True)
        self.cluster.drop_database(self.database)
        if failure:
            raise AssertionError(failure)

    def _is_ours(self, pid):
        """The PID still runs this instance's Orthanc or supervisor (not a process that reused the number)."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return False
        return f"/{self.instance}/orthanc.json" in command or command.rstrip().endswith(f"supervise-{self.instance}")

    def ports_closed(self):
        return not port_in_use(self.http_port) and not port_in_use(self.dicom_port)


def deploy_instance(request, instance, material, cluster, extra_vars=None, label=None):
    """Deploy one instance with the role; its teardown is registered first, so a failed deploy is cleaned up too."""
    deployment = Deployment(instance, material, cluster, extra_vars, label)
    request.addfinalizer(deployment.teardown)
    deployment.deploy()
    return deployment
