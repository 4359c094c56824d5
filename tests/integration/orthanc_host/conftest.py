"""Fixtures of the orthanc_host TLS tests: prerequisites, the lab CA's material (see the harness)."""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orthanc_host_harness import TLS_ROOT, PacsHost, TlsMaterial, build_civetweb_shim  # noqa: E402


@pytest.fixture(scope="session")
def orthanc_host_prerequisites():
    if os.geteuid() != 0:
        pytest.skip("the orthanc_host tests run systemd host containers with rootful podman: run as root")
    from lab.containers.runtime import require_runtime
    require_runtime()  # a clear error (run `make setup`) when podman or its configuration is missing
    yield
    PacsHost.remove_all()


@pytest.fixture(scope="session")
def tls_material(orthanc_host_prerequisites):
    os.makedirs(TLS_ROOT, mode=0o755, exist_ok=True)
    base = tempfile.mkdtemp(prefix="tls-", dir=TLS_ROOT)
    os.chmod(base, 0o750)
    try:
        yield TlsMaterial(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def civetweb_shim(tls_material):
    """A folder for LD_LIBRARY_PATH with which the packaged civetweb serves HTTPS (see the harness)."""
    folder = build_civetweb_shim(os.path.join(TLS_ROOT, "civetweb-shim-%d" % os.getpid()))
    if folder is None:
        pytest.skip("the HTTPS tests need a C compiler and libssl.so.3 on this machine to build the civetweb shim")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
