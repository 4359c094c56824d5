"""One deployment with real hosts for the folder (hosts_world.py): moto, a converge, the instances as containers."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hosts_world import hosts_world  # noqa: E402

OWNER = "aws-orthweb-hosts"


@pytest.fixture(scope="session")
def world():
    with hosts_world(OWNER) as built:
        yield built


@pytest.fixture(scope="session")
def scenario(world):
    return world[0]


@pytest.fixture(scope="session")
def fleet(world):
    return world[1]


@pytest.fixture(scope="session")
def site(world):
    return world[2]
