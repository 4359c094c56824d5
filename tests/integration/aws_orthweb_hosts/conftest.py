"""One moto server, one converge of inventories/aws_lab with the lab's host variables, and the instances realized as
host containers (lab/aws/hosts) for the folder; everything labelled aws-orthweb-hosts is removed after."""
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "aws_orthweb"))  # the scenario harness of the moto-only tests
from aws_harness import Scenario, succeeded  # noqa: E402

from lab.aws.hosts.fleet import Fleet  # noqa: E402
from lab.aws.moto import throwaway_moto  # noqa: E402
from lab.containers.runtime import remove_labelled  # noqa: E402

OWNER = "aws-orthweb-hosts"


@pytest.fixture(scope="session")
def scenario():
    with throwaway_moto("medimaging-aws-hosts-") as moto:
        yield Scenario(moto, moto.lab_dir)


@pytest.fixture(scope="session")
def fleet(scenario):
    remove_labelled(OWNER)  # what a crashed earlier run left
    hosts = Fleet(scenario.moto, os.path.join(scenario.workdir, "hosts"), OWNER)
    try:
        started = time.monotonic()
        succeeded(scenario.play("aws_orthweb.yml", hosts.converge_vars()))
        converged = time.monotonic()
        hosts.site_info = hosts.up()
        print(f"\nconverge {converged - started:.0f} s, hosts up {time.monotonic() - converged:.0f} s")
        yield hosts
    finally:
        hosts.down()


@pytest.fixture(scope="session")
def site(fleet):
    return fleet.site_info
