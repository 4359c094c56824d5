"""Fixtures of the storage area's integration tests: one StorageLab per session, stopped by PID at the end."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_lab import StorageLab, plugin_site_packages  # noqa: E402


@pytest.fixture(scope="session")
def storage_lab(tmp_path_factory):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    lab = StorageLab(str(tmp_path_factory.mktemp("storage-lab")))
    try:
        yield lab.start()
    finally:
        lab.stop()
