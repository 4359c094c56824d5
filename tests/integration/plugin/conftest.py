"""Fixtures of the plugin's integration tests: one PluginLab (token server + cloud + on-prem Orthanc)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plugin_harness import LAB_MARGIN, LAB_TTL, PluginLab, missing_prerequisites  # noqa: E402


@pytest.fixture(scope="module")
def plugin_lab(tmp_path_factory, orthanc_line):
    missing = missing_prerequisites()
    if missing:
        pytest.fail("plugin integration prerequisites missing: " + "; ".join(missing))
    lab = PluginLab(str(tmp_path_factory.mktemp("plugin-lab")), ttl=LAB_TTL, margin=LAB_MARGIN,
                    extra_servers={"wrongsecret": {"ClientSecretFile": None, "ClientSecret": "not-the-secret"}},
                    line=orthanc_line)
    try:
        lab.start()
        lab.wait_for_token("cloud")
        yield lab
    finally:
        lab.stop()
