"""Benchmark (not a test): seconds from the primary host's failure to the first successful C-ECHO through the site
address, with the aws_orthweb failover playbook doing the move, on real lab hosts (lab/aws/hosts).

One run: moto, a converge, both instances booted from their user data; then the primary's container is stopped
(the failure, t=0), a modality retries DCMTK echoscu over TLS every 0.25 s against the site address while the
failover playbook runs. Prints the seconds to the first successful echo, the playbook's own duration, and their
ratio (below 1: the site answered before the playbook's final health check finished).

Usage: .venv/bin/python bench/aws_failover.py
"""
import os
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration", "aws_orthweb_hosts"))

from dicom_tls import echo  # noqa: E402
from hosts_world import hosts_world, succeeded  # noqa: E402

OWNER = "bench-aws-failover"
PRIMARY = "orthweb-lab-primary"


def first_echo(site, failed_at, result, stop):
    """Retry C-ECHO until one succeeds; record its seconds after failed_at."""
    attempts = 0
    while not stop.is_set():
        attempts += 1
        if echo(site, timeout=20).returncode == 0:
            result.update(seconds=time.monotonic() - failed_at, attempts=attempts)
            return
        time.sleep(0.25)


def main():
    with hosts_world(OWNER) as (scenario, fleet, site):
        assert echo(site).returncode == 0, "the site does not answer C-ECHO before the failure"
        fleet.fail(PRIMARY)
        failed_at = time.monotonic()
        result, stop = {}, threading.Event()
        modality = threading.Thread(target=first_echo, args=(site, failed_at, result, stop))
        modality.start()
        succeeded(scenario.play("aws_orthweb_failover.yml", {
            "aws_orthweb_failover_health_url": site["https"] + "/system",
            "aws_orthweb_failover_ca_file": site["ca_file"]}))
        playbook = time.monotonic() - failed_at
        modality.join(timeout=120)
        stop.set()
    if "seconds" not in result:
        print(f"no successful C-ECHO within 120 s after the playbook ({playbook:.1f} s)")
        return 1
    print(f"failure -> first successful C-ECHO: {result['seconds']:.1f} s ({result['attempts']} attempts)")
    print(f"failover playbook: {playbook:.1f} s; echo / playbook: {result['seconds'] / playbook:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
