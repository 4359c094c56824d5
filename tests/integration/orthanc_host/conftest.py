"""Fixtures of the orthanc_host TLS tests: prerequisites, the lab CA's material, the civetweb shim (see the harness)."""
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orthanc_host_harness import (  # noqa: E402
    CIVETWEB_SHIM_C, ORTHANC_BINARY, SERVICE_GROUP, SERVICE_USER, TlsMaterial, ldd_paths, civetweb_https_defect)


@pytest.fixture(scope="session")
def orthanc_host_prerequisites():
    if os.geteuid() != 0:
        pytest.skip("the orthanc_host role deploys system-wide (accounts, /etc, /var/lib): run as root")
    if not os.path.exists(ORTHANC_BINARY):
        pytest.skip(f"{ORTHANC_BINARY} missing: run `make setup` (Debian package orthanc)")
    try:
        grp.getgrnam(SERVICE_GROUP)
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pytest.skip(f"no '{SERVICE_USER}' account: run `make setup` (the Debian package orthanc creates it)")


@pytest.fixture(scope="session")
def tls_material(orthanc_host_prerequisites):
    base = tempfile.mkdtemp(prefix="medimaging-orthanc-host-tls-", dir="/var/lib")
    os.chown(base, 0, grp.getgrnam(SERVICE_GROUP).gr_gid)
    os.chmod(base, 0o750)
    try:
        yield TlsMaterial(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def civetweb_shim(tls_material):
    """(defect, folder for LD_LIBRARY_PATH): folder is None when this host's civetweb needs no shim."""
    defect = civetweb_https_defect()
    if defect is None:
        return None, None
    compiler = shutil.which("cc") or shutil.which("gcc")
    libssl = ldd_paths(ORTHANC_BINARY).get("libssl.so.3")
    libcrypto = ldd_paths(ORTHANC_BINARY).get("libcrypto.so.3")
    if not (compiler and libssl and libcrypto):
        pytest.skip(f"{defect}; the test's workaround needs a C compiler and Orthanc linked to libssl.so.3")
    folder = os.path.join(tls_material.base, "civetweb-shim")
    os.makedirs(folder)
    os.chmod(folder, 0o755)
    source = os.path.join(folder, "shim.c")
    with open(source, "w", encoding="ascii") as handle:
        handle.write(CIVETWEB_SHIM_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", os.path.join(folder, "libssl.so"), source,
                    "-Wl,--no-as-needed", libssl], check=True, capture_output=True)
    os.symlink(libcrypto, os.path.join(folder, "libcrypto.so"))  # civetweb's dlopen("libcrypto.so") too
    os.chmod(os.path.join(folder, "libssl.so"), 0o755)
    return defect, folder
