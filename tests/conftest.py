"""Shared fixtures: import paths for every test folder, a session PostgreSQL, and an Orthanc factory."""
import logging
import os
import secrets
import shutil
import sys
import tempfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The repository (lab/), the plugin package (medimaging_plugin, imported without Orthanc by the unit tests) and
# tests/unit (fakes shared by several unit folders).
for _path in (REPO_ROOT, os.path.join(REPO_ROOT, "files", "orthanc-plugin"), os.path.join(REPO_ROOT, "tests", "unit")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from lab.orthanc_lines import DEFAULT_LINE, LINES, check_line, orthanc_for, runs_plugin  # noqa: E402  (needs the path above)
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


def pytest_configure(config):
    # The lab kubelet's few INFO records (a pod's readiness changing and why, a Service refusing a connection for
    # want of a Ready endpoint, a probe killing a container) appear in a failing test's captured log.
    logging.getLogger("lab.kube").setLevel(logging.INFO)
    config.addinivalue_line("markers", "orthanc_lines(*lines): run on these Orthanc lines (lab/orthanc_lines.py); "
                                       "unmarked tests run on %s only" % DEFAULT_LINE)


def pytest_generate_tests(metafunc):
    """Tests marked orthanc_lines("1.10", "1.12") run once per line (ids end in [1.10], [1.12]); the others on
    1.10, with the same parameter, so a module's tests on one line share its module-scoped lab."""
    if "orthanc_line" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("orthanc_lines")
    lines = marker.args if marker else (DEFAULT_LINE,)
    unknown = set(lines) - set(LINES)
    assert not unknown, "unknown Orthanc lines %s; known: %s" % (sorted(unknown), LINES)
    metafunc.parametrize("orthanc_line", lines, indirect=True, scope="module")


@pytest.fixture(scope="module")
def orthanc_line(request):
    """The Orthanc line of the Orthancs that run the plugin: 1.10 (host) or 1.12 (the project's image)."""
    line = getattr(request, "param", DEFAULT_LINE)
    if line != DEFAULT_LINE:
        from lab.orthanc_container import remove_leftovers
        remove_leftovers()  # a crashed earlier run's containers (never another live session's)
        yield line
        remove_leftovers()
    else:
        yield line


@pytest.fixture
def orthanc_factory(tmp_path, orthanc_line):
    """Call with (config=..., plugins=[...], env=..., auth=...) to start Orthancs; all are stopped at teardown.
    Those whose configuration runs the plugin start on `orthanc_line`."""
    started = []

    def factory(name="orthanc", **kwargs):
        process = orthanc_for(orthanc_line, os.path.join(tmp_path, name), name=name, **kwargs)
        started.append(process)
        process.start()
        if runs_plugin(kwargs.get("config")):
            check_line(process, orthanc_line)
        return process

    yield factory
    for process in started:
        process.stop()
