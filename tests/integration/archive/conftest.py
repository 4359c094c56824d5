"""Fixtures of the archive's integration tests: Azurite over HTTPS for the module, stopped by PID at the end."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from archive_lab import BlobLab  # noqa: E402

ADMIN = ("admin", "archive-test-pw")


@pytest.fixture(scope="module")
def blob_lab(tmp_path_factory):
    lab = BlobLab(str(tmp_path_factory.mktemp("blob-lab")))
    try:
        yield lab.start()
    finally:
        lab.stop()


@pytest.fixture
def pacs(orthanc_factory):
    """An on-prem Orthanc with authentication and the DICOMweb plugin (for the cloud check)."""
    def start(name="pacs", servers=None):
        config = {"AuthenticationEnabled": True, "RegisteredUsers": {ADMIN[0]: ADMIN[1]},
                  "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Servers": servers or {}}}
        return orthanc_factory(name=name, config=config, plugins=["DicomWeb"], auth=ADMIN)
    return start
