"""Shared fixtures: the repo root on sys.path (for lab/), a session PostgreSQL, and an Orthanc factory."""
import os
import secrets
import shutil
import sys
import tempfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from lab.orthanc import OrthancProcess  # noqa: E402  (needs the path above)
from lab.postgres import PostgresCluster  # noqa: E402
from lab.proc import free_port  # noqa: E402


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL cluster on 127.0.0.1 for the whole session; stopped (by PID) at the end."""
    # Not under pytest's tmp_path: its 0700 parents would keep the 'postgres' account out.
    base = tempfile.mkdtemp(prefix="medimaging-pg-")
    os.chmod(base, 0o755)
    cluster = PostgresCluster(os.path.join(base, "data"), free_port())
    cluster.init()
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_database(postgres_cluster):
    """A fresh database and login role for one test: dict(host, port, database, user, password)."""
    name = "t_" + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    postgres_cluster.create_role(name, password)
    postgres_cluster.create_database(name, name)
    yield {"host": "127.0.0.1", "port": postgres_cluster.port, "database": name, "user": name, "password": password}
    postgres_cluster.drop_database(name)


@pytest.fixture
def orthanc_factory(tmp_path):
    """Call with (config=..., plugins=[...], env=..., auth=...) to start Orthancs; all are stopped at teardown."""
    started = []

    def factory(name="orthanc", **kwargs):
        process = OrthancProcess(os.path.join(tmp_path, name), name=name, **kwargs)
        started.append(process)
        return process.start()

    yield factory
    for process in started:
        process.stop()
