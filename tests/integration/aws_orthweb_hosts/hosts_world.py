"""The aws_orthweb deployment with real hosts, from nothing and gone after: moto, one converge of inventories/aws_lab
with the lab's host variables, the instances realized by lab/aws/hosts. Shared by the tests and bench/aws_failover.py."""
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws_orthweb"))
from aws_harness import Scenario, succeeded  # noqa: E402  (the scenario harness of the moto-only tests)

from lab.aws.hosts.fleet import Fleet  # noqa: E402
from lab.aws.moto import throwaway_moto  # noqa: E402
from lab.containers.runtime import remove_labelled  # noqa: E402


@contextlib.contextmanager
def hosts_world(owner, log=print):
    """Yields (scenario, fleet, site); everything labelled io.medimaging.lab=<owner> is removed before and after."""
    remove_labelled(owner)  # what a crashed earlier run left
    with throwaway_moto("medimaging-" + owner + "-") as moto:
        scenario = Scenario(moto, moto.lab_dir)
        fleet = Fleet(moto, os.path.join(moto.lab_dir, "hosts"), owner)
        try:
            started = time.monotonic()
            succeeded(scenario.play("aws_orthweb.yml", fleet.converge_vars()))
            converged = time.monotonic()
            site = fleet.up(log)
            log(f"converge {converged - started:.0f} s, hosts up {time.monotonic() - converged:.0f} s")
            yield scenario, fleet, site
        finally:
            fleet.down()
