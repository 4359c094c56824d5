"""A PostgreSQL stand-in for the RDS endpoint moto reports: TLS only, the master login from the role's secret.

The lab's site host image (Debian's PostgreSQL 15, systemd) on the lab network at an address in a private subnet;
the hosts resolve the RDS endpoint name to it (podman --add-host), and its server certificate, from the lab CA,
names that endpoint, so Orthanc's sslmode=verify-full checks it as it would check RDS. Like rds.force_ssl=1: any
connection without TLS is refused (pg_hba hostnossl reject).
"""
import time

from lab.containers import images
from lab.containers.runtime import ContainerError, owner_label, podman, wait_for_postgresql

IMAGE = "site-bookworm"
CLUSTER = "/etc/postgresql/15/main"
BOOT_TIMEOUT = 90


def _sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def _ident(text):
    return '"' + text.replace('"', '""') + '"'


def wait_booted(name, timeout=BOOT_TIMEOUT):
    """Wait for systemd in container `name` to finish booting ('running' or 'degraded')."""
    state, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.decode().strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    raise ContainerError(f"{name}: systemd says {state!r} after {timeout} s; see `podman logs {name}`")


class Database:
    def __init__(self, owner, name, network, address, endpoint):
        self.owner, self.name, self.network, self.address, self.endpoint = owner, name, network, address, endpoint

    def start(self, ca, login, database, log=print):
        """Run the container, serve TLS with a certificate for the endpoint name, create the login and database."""
        tag = images.ensure(IMAGE, log)
        podman("run", "-d", "--name", self.name, "--hostname", self.endpoint.split(".")[0],
               "--label", owner_label(self.owner), "--network", self.network, "--ip", self.address,
               "--systemd=always", tag)
        wait_booted(self.name)
        cert_path, key_path = ca.issue_server_cert("rds-" + self.owner, sans=(self.endpoint,))
        for source, target in ((cert_path, "server.crt"), (key_path, "server.key")):
            podman("cp", source, f"{self.name}:{CLUSTER}/{target}")
        config = ("listen_addresses = '*'\nssl = on\nssl_cert_file = '%s/server.crt'\n"
                  "ssl_key_file = '%s/server.key'\nssl_min_protocol_version = 'TLSv1.2'\n" % (CLUSTER, CLUSTER))
        hba = "hostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 scram-sha-256\n"
        script = (f"set -e; cd {CLUSTER}; chown postgres:postgres server.crt server.key; chmod 0600 server.key; "
                  f"cat > conf.d/lab-rds.conf; printf '{hba}' >> pg_hba.conf; systemctl restart postgresql@15-main")
        podman("exec", "-i", self.name, "sh", "-c", script, input_bytes=config.encode())
        self.wait_ready()
        user, password = login["username"], login["password"]
        self.psql(f"CREATE ROLE {_ident(user)} LOGIN PASSWORD {_sql_literal(password)}")
        self.psql(f"CREATE DATABASE {_ident(database)} OWNER {_ident(user)}")

    def set_password(self, login):
        """What RDS does on ModifyDBInstance MasterUserPassword: the login's new password; open sessions stay."""
        self.psql(f"ALTER ROLE {_ident(login['username'])} PASSWORD {_sql_literal(login['password'])}")

    def wait_ready(self, timeout=180):
        wait_for_postgresql(self.name, timeout)

    def psql(self, sql, database="postgres"):
        """Run SQL as the superuser over the local socket; the rows, '|'-separated."""
        done = podman("exec", self.name, "runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-tA",
                      "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql)
        return done.stdout.decode().strip()
