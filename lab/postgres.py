"""A throwaway PostgreSQL cluster on 127.0.0.1 for the lab and the tests (Debian's postgresql-15 binaries)."""
import glob
import os
import pwd
import shutil
import subprocess
import time

from lab.proc import LOOPBACK, LabError, port_in_use, read_pidfile, start_daemon, stop_pid, wait_for_port


def pg_bindir():
    """The newest /usr/lib/postgresql/<major>/bin that has initdb."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise LabError("PostgreSQL server binaries not found: run `make setup` (apt package postgresql)")
    return os.path.dirname(candidates[-1])


def _as_service_user(argv):
    # PostgreSQL refuses to run as root: drop to the 'postgres' account the Debian package creates.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    return "'" + value.replace("'", "''") + "'"


class PostgresCluster:
    """initdb + pg_ctl-free start (postgres -D as a daemon) + SQL helpers through psql as the superuser."""

    def __init__(self, datadir, port):
        self.datadir = os.path.abspath(datadir)
        self.port = int(port)
        self.bindir = pg_bindir()
        self.logfile = os.path.join(os.path.dirname(self.datadir), os.path.basename(self.datadir) + ".log")
        self.pidfile = os.path.join(os.path.dirname(self.datadir), os.path.basename(self.datadir) + ".pid")

    @property
    def pid(self):
        return read_pidfile(self.pidfile)

    def init(self):
        if os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            return False
        os.makedirs(self.datadir, exist_ok=True)
        os.chmod(self.datadir, 0o700)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            for path in (self.datadir, os.path.dirname(self.datadir)):
                os.chown(path, account.pw_uid, account.pw_gid)
        result = subprocess.run(_as_service_user([os.path.join(self.bindir, "initdb"), "-D", self.datadir,
                                                  "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                                                  "--no-instructions"]),
                                check=False, capture_output=True, text=True)
        if result.returncode:
            raise LabError(f"initdb failed for {self.datadir} (every parent folder must be readable by the "
                           f"'postgres' account): {result.stderr.strip()}")
        # Local superuser by socket only; every TCP login needs a password (scram), as in production.
        with open(os.path.join(self.datadir, "pg_hba.conf"), "w", encoding="ascii") as hba:
            hba.write("local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        return True

    def start(self, timeout=30):
        if self.running():
            return False
        if port_in_use(self.port):
            raise LabError(f"port {self.port} on {LOOPBACK} is already in use: choose another port for PostgreSQL")
        argv = _as_service_user([os.path.join(self.bindir, "postgres"), "-D", self.datadir,
                                 "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={self.port}",
                                 "-c", f"unix_socket_directories={self.datadir}",
                                 "-c", "max_connections=200", "-c", "fsync=off"])
        pid = start_daemon(argv, self.logfile, self.pidfile)
        wait_for_port(LOOPBACK, self.port, timeout, pid=pid, logfile=self.logfile)
        self._wait_ready(timeout)
        return True

    def _wait_ready(self, timeout):
        """Until the server accepts connections. pg_isready answers 1 at once while the server is still starting
        (it listens before it accepts), which a loaded machine shows: ask again until the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(1, int(deadline - time.monotonic()))
            argv = _as_service_user([os.path.join(self.bindir, "pg_isready"), "-h", self.datadir, "-p",
                                     str(self.port), "-t", str(left)])
            done = subprocess.run(argv, capture_output=True, check=False)
            if done.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise LabError(f"PostgreSQL on port {self.port} not accepting connections after {timeout:.0f} s "
                               f"(pg_isready exit {done.returncode}: {done.stdout.decode(errors='replace').strip()}); "
                               f"see {self.logfile}")
            time.sleep(0.2)

    def running(self):
        pid = self.pid
        return bool(pid) and os.path.exists(f"/proc/{pid}")

    def stop(self):
        pid = self.pid
        if pid:
            stop_pid(pid, timeout=20)
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def sql(self, statement, database="postgres"):
        """Run SQL as the superuser over the cluster's private socket; returns stdout (unaligned, tuples only)."""
        argv = _as_service_user([os.path.join(self.bindir, "psql"), "-h", self.datadir, "-p", str(self.port),
                                 "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement])
        result = subprocess.run(argv, check=False, capture_output=True, text=True)
        if result.returncode:
            raise LabError(f"SQL failed on {database}: {result.stderr.strip()}")
        return result.stdout

    def create_role(self, name, password, superuser=False):
        exists = self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(name)}").strip()
        verb = "ALTER" if exists else "CREATE"
        extra = " SUPERUSER" if superuser else ""
        self.sql(f"{verb} ROLE {quote_ident(name)} LOGIN{extra} PASSWORD {quote_literal(password)}")

    def create_database(self, name, owner):
        if not self.sql(f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(name)}").strip():
            self.sql(f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(owner)}")

    def drop_database(self, name):
        self.sql(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")

    def dsn(self, user, password, database):
        return f"host={LOOPBACK} port={self.port} user={user} password={password} dbname={database}"
