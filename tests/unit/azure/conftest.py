"""Unit-test plumbing for the Azure engine and modules: the collection on sys.path and a fake ARM."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
for path in (HERE, COLLECTIONS):
    if path not in sys.path:
        sys.path.insert(0, path)

if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "medimaging", "orthanc")):
    pytest.exit("run `make setup` first: .cache/collections/ansible_collections/medimaging/orthanc is missing", 2)

from fake_arm import FakeArm  # noqa: E402


@pytest.fixture
def arm():
    return FakeArm()


@pytest.fixture
def arm_lro():
    return FakeArm(lro=True)
