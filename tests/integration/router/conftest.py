"""Fixtures of the router's integration tests: a plain "cloud" Orthanc; on-prem ones come from orthanc_factory."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from router_harness import cloud_config, plugin_site_packages  # noqa: E402


@pytest.fixture
def cloud(orthanc_factory):
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: scripts/install-plugin-venv.sh")
    return orthanc_factory("cloud", config=cloud_config(), plugins=["DicomWeb"])
