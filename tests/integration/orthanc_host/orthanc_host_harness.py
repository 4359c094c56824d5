"""Harness: the orthanc_host role run for real on a systemd host (a podman container of the lab's host image, systemd
as PID 1, on this machine's network), TLS material from the lab CA.

The role needs systemd, so it runs on a PacsHost: `localhost/medimaging/host:<release>` started with --network host
(Orthanc's ports, the session PostgreSQL on 127.0.0.1 and the test's clients are the same as on this machine) and the
TLS material's folder mounted at the same path. Each deployment is its own instance (name, folders, free ports,
database in the session PostgreSQL of tests/conftest.py). A finalizer registered *before* the role runs tears it down
with the role itself (orthanc_host_state=absent, purge) and drops the database; the host containers are removed by
label at the end of the session (and leftovers of a crashed run before the first one starts).
"""
import atexit
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
from lab.containers import images
from lab.containers.runtime import podman, podman_env, remove_labelled, remove_stale_sessions, session_owner
from lab.proc import LOOPBACK, free_port, port_in_use

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

PLAYBOOK = os.path.join(HERE, "playbooks", "orthanc_host.yml")
# The Debian package on the test machine itself (tests/integration/badinput checks it); the role runs on a PacsHost.
ORTHANC_BINARY = "/usr/sbin/Orthanc"
SERVICE_USER = SERVICE_GROUP = "orthanc"  # the role's defaults (orthanc_host_user / _group)
DICOM_AET = "TLSPACS"
# label io.medimaging.lab=<OWNER> on the host containers: one owner per test process, because the orthanc_host and
# badinput folders run as parallel parts and must not remove each other's hosts.
OWNER_PREFIX = "test-orthanc-host-"
OWNER = session_owner(OWNER_PREFIX)
# Debian 13: its civetweb (1.16) serves HTTPS; Debian 12's (1.15) crashes with OpenSSL 3 and the role refuses HTTPS there.
DEFAULT_RELEASE = "trixie"
# TLS material lives under this folder, mounted into every host container at the same path.
TLS_ROOT = "/var/lib/medimaging-orthanc-host-tests"
# Never used by these tests: Orthanc's defaults and `make lab`'s.
RESERVED_PORTS = {8042, 4242, 18042, 14242}


# Debian 12's civetweb 1.15 and Debian 13's 1.16+dfsg-2 load "libssl.so" at run time and look their functions up by
# their OpenSSL 1.1 names. OpenSSL 3 no longer exports SSL_get_peer_certificate (now a macro for
# SSL_get1_peer_certificate): civetweb keeps a NULL pointer and calls it on the first HTTPS connection, so Orthanc dies
# with SIGSEGV (the role refuses HTTPS there). This shim exports the old name; first on LD_LIBRARY_PATH, civetweb's
# dlopen("libssl.so") finds it (and, through its DT_NEEDED libssl.so.3, every other function), so the tests can prove
# the role's HTTPS wiring. Built on this machine, it loads on the newer glibc of Debian 13 too.
CIVETWEB_SHIM_C = r"""
typedef struct ssl_st SSL;
typedef struct x509_st X509;
X509 *SSL_get1_peer_certificate(const SSL *s);
X509 *SSL_get_peer_certificate(const SSL *s) { return SSL_get1_peer_certificate(s); }
"""
LIBDIR = "/usr/lib/x86_64-linux-gnu"


def build_civetweb_shim(folder):
    """The shim in folder (readable by every account), or None when this machine cannot build it."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler or not os.path.exists(os.path.join(LIBDIR, "libssl.so.3")):
        return None
    os.makedirs(folder, mode=0o755, exist_ok=True)
    os.chmod(folder, 0o755)
    source = os.path.join(folder, "shim.c")
    with open(source, "w", encoding="ascii") as handle:
        handle.write(CIVETWEB_SHIM_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", os.path.join(folder, "libssl.so"), source,
                    "-Wl,--no-as-needed", os.path.join(LIBDIR, "libssl.so.3")], check=True, capture_output=True)
    os.chmod(os.path.join(folder, "libssl.so"), 0o755)
    crypto = os.path.join(folder, "libcrypto.so")  # civetweb's dlopen("libcrypto.so") too (the host's libcrypto)
    if not os.path.lexists(crypto):
        os.symlink(os.path.join(LIBDIR, "libcrypto.so.3"), crypto)
    return folder


class PacsHost:
    """A systemd host container for the role (one per release and session), reached over containers.podman.podman."""

    _started = {}

    def __init__(self, release):
        self.release = release
        self.name = f"{OWNER}-{release}"

    @classmethod
    def get(cls, release=DEFAULT_RELEASE):
        """The session's host for release, started on first use."""
        if release not in cls._started:
            if not cls._started:
                remove_stale_sessions(OWNER_PREFIX)  # crashed earlier runs' containers, never a live run's
                atexit.register(remove_labelled, OWNER)
            host = cls(release)
            host.start()
            cls._started[release] = host
        return cls._started[release]

    @classmethod
    def remove_all(cls):
        cls._started.clear()
        remove_labelled(OWNER)

    def start(self):
        tag = images.ensure(f"host-{self.release}")
        os.makedirs(TLS_ROOT, mode=0o755, exist_ok=True)
        podman("run", "-d", "--name", self.name, "--label", f"io.medimaging.lab={OWNER}", "--systemd=always",
               # Root's capability to see which process holds a port (ss -p), as on a real host.
               "--cap-add", "SYS_PTRACE", "--network", "host", "--hostname", self.name, "-v", f"{TLS_ROOT}:{TLS_ROOT}", tag)
        deadline = time.monotonic() + 180  # systemd's boot: ~15 s alone, much more when 3 parts share 2 cores
        state = ""
        while time.monotonic() < deadline:
            state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(1)
        raise AssertionError(f"{self.name}: systemd did not finish booting (state {state!r})")

    def run(self, *argv, check=True):
        done = podman("exec", self.name, *argv, check=check)
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                           done.stderr.decode(errors="replace"))

    def read(self, path):
        """The file's bytes, or None when it does not exist."""
        done = podman("exec", self.name, "cat", path, check=False)
        return done.stdout if done.returncode == 0 else None

    def exists(self, path):
        return self.run("test", "-e", path, check=False).returncode == 0

    def stat(self, path):
        """(mode, owner name, group name) of path on the host."""
        mode, owner, group = self.run("stat", "-c", "%a %U %G", path).stdout.split()
        return int(mode, 8), owner, group

    def main_pid(self, service):
        done = self.run("systemctl", "show", "--property=MainPID", "--value", service, check=False)
        return int(done.stdout.strip() or 0)

    def pid_alive(self, pid):
        return bool(pid) and self.exists(f"/proc/{pid}")

    def process_user(self, pid):
        """The account a process runs as (the owner of its /proc entry; the host image has no ps)."""
        return self.run("stat", "-c", "%U", f"/proc/{pid}", check=False).stdout.strip()

    def journal(self, service):
        return self.run("journalctl", "--unit", service, "--no-pager", "--output", "cat", check=False).stdout

    def playbook(self, playbook, extra_vars, workdir, label, timeout=1200, args=()):
        """ansible-playbook PLAYBOOK against this host (extra vars from a 0600 JSON file); no judgement.
        1200 s: a first deployment installs Debian packages; at CI's load one took more than 600 s (TimeoutExpired
        in badinput/test_plugin_config's setup). The part's own limit (TEST_PART_TIMEOUT) still bounds a hang."""
        vars_file = os.path.join(workdir, f"extra-vars-{label}.json")
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(extra_vars, handle)
        bindir = os.path.dirname(sys.executable)
        env = podman_env(dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
                              PYTHONDONTWRITEBYTECODE="1", ANSIBLE_NOCOLOR="1",
                              PATH=bindir + os.pathsep + os.environ.get("PATH", "")))
        command = [os.path.join(bindir, "ansible-playbook"), "-i", self.name + ",",
                   "-c", "containers.podman.podman", "-e", "ansible_python_interpreter=/usr/bin/python3",
                   "-e", "ansible_pipelining=true", "-e", "@" + vars_file] + list(args) + [playbook]
        return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)


def pick_ports(count, taken=()):
    avoid = RESERVED_PORTS | set(taken)
    chosen = []
    while len(chosen) < count:
        port = free_port()
        if port not in avoid and port not in chosen:
            chosen.append(port)
    return chosen


def _tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


class TlsMaterial:
    """A lab CA and what the deployments need, under one folder of TLS_ROOT (mounted into the host containers).

    ca/    root only (0700): the CA, the HTTPS certificate and key (the role reads them as root), the SCU's client
           certificate and key.
    host/  root 0750: the DICOM TLS certificate chain, key (0600, root-only as most tools make it), trusted CAs; the
           role copies them for Orthanc (key root:orthanc 0640).
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
        group = 0  # root reads them on the host; the role gives Orthanc its own copies (root:orthanc)
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
    """One orthanc_host instance on a PacsHost: deploy() with the role, teardown() with the role (absent)."""

    def __init__(self, instance, material, cluster, extra_vars=None, label=None, release=DEFAULT_RELEASE):
        self.instance = instance
        self.material = material
        self.cluster = cluster
        self.label = label or instance
        self.host = PacsHost.get(release)
        self.http_port, self.dicom_port = pick_ports(2, taken=[cluster.port])
        self.user = "tls-admin"
        self.password = secrets.token_urlsafe(18)
        self.database = "orthanc_" + re.sub(r"\W", "_", instance)
        db_password = secrets.token_urlsafe(18)
        cluster.create_role(self.database, db_password)
        cluster.create_database(self.database, self.database)
        self.service = f"orthanc-medimaging-{instance}"
        self.config_dir = f"/etc/orthanc-medimaging/{instance}"
        self.data_dir = f"/var/lib/orthanc-medimaging/{instance}"
        self.plugin_dir = f"/opt/orthanc-medimaging/{instance}/plugin"
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
            # The medimaging plugin is not what this test is about (other tests cover it).
            "orthanc_host_plugin_enabled": False,
            "orthanc_host_start_timeout": 60,
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
        return self.host.playbook(PLAYBOOK, extra, self.material.workdir, f"{self.label}-{state}")

    def deploy(self):
        done = self.run("present")
        assert done.returncode == 0, (f"orthanc_host (present, {self.instance}) failed rc={done.returncode}:\n"
                                      f"{_tail(done.stdout, 60)}\n{_tail(done.stderr, 20)}\nlog:\n{self.log_tail()}")
        return done

    def main_pid(self):
        """systemd's MainPID of the instance's service on the host (its PID namespace); 0 when it does not run."""
        return self.host.main_pid(self.service)

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
        """Orthanc's log: the service's journal on the host."""
        return self.host.journal(self.service)

    def log_tail(self, lines=30):
        return _tail(self.log_text(), lines)

    def wait_for_log(self, pattern, since=0, timeout=60):  # each read is a podman exec: slow under load
        """The log text after offset `since` once it matches `pattern` (regex), or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()[since:]
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                return None
            time.sleep(0.5)

    def teardown(self):
        """The role's own teardown (absent, purge), then whatever it left on the host; drop the database."""
        failure = None
        if not self.torn_down:
            done = self.run("absent")
            if done.returncode != 0:
                failure = f"orthanc_host (absent, {self.instance}) failed:\n{_tail(done.stdout)}\n{_tail(done.stderr)}"
            self.torn_down = True
        self.host.run("systemctl", "stop", self.service, check=False)
        self.host.run("rm", "-rf", self.config_dir, self.data_dir, os.path.dirname(self.plugin_dir),
                      f"/etc/systemd/system/{self.service}.service", check=False)
        self.cluster.drop_database(self.database)
        if failure:
            raise AssertionError(failure)

    def ports_closed(self):
        return not port_in_use(self.http_port) and not port_in_use(self.dicom_port)


def deploy_instance(request, instance, material, cluster, extra_vars=None, label=None, release=DEFAULT_RELEASE):
    """Deploy one instance with the role; its teardown is registered first, so a failed deploy is cleaned up too."""
    deployment = Deployment(instance, material, cluster, extra_vars, label, release)
    request.addfinalizer(deployment.teardown)
    deployment.deploy()
    return deployment
