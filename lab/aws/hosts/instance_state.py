"""Instance stop/start by the EC2 API, realized on the lab's host containers.

Polls moto for the deployment's instances (tag Project=NAME). When an instance's state CHANGES to stopping/stopped
its container is stopped; when it changes to pending/running the container is started (systemd boots it; cloud-init
ran on the first boot and does not run the user data again, as on EC2). Only transitions act: a host the lab made
fail (Fleet.fail stops its container while moto, like EC2 for a while, still says running) stays down.

    python -m lab.aws.hosts.instance_state --moto http://127.0.0.1:5000 --project orthweb-lab --prefix OWNER-
"""
import argparse
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lab.containers.runtime import podman

DOWN, UP = ("stopping", "stopped"), ("pending", "running")
POLL_SECONDS = 0.5


def states(ec2, project):
    """{Name tag: state name} of the deployment's instances that are not terminated."""
    found = ec2.describe_instances(Filters=[{"Name": "tag:Project", "Values": [project]}])
    named = {}
    for instance in (i for r in found["Reservations"] for i in r["Instances"]):
        name = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), None)
        if name and instance["State"]["Name"] != "terminated":
            named[name] = instance["State"]["Name"]
    return named


def act(container, before, now):
    """The podman command for one transition, or None."""
    if now in DOWN and before not in DOWN:
        return ("stop", "-t", "5", container)
    if now in UP and before not in UP:
        return ("start", container)
    return None


def follow(ec2, project, prefix, poll=POLL_SECONDS):
    seen = None
    while True:
        try:
            now = states(ec2, project)
        except (BotoCoreError, ClientError) as exc:  # moto restarting or gone: try again
            print(f"moto: {exc}", flush=True)
            time.sleep(poll)
            continue
        for name, state in now.items():
            command = act(prefix + name, (seen or now).get(name, state), state)
            if command:
                done = podman(*command, check=False)
                print(f"{name}: {state} -> podman {command[0]} (rc {done.returncode})", flush=True)
        seen = now
        time.sleep(poll)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--project", required=True, help="the deployment's Project tag (aws_orthweb_name)")
    parser.add_argument("--prefix", required=True, help="container name = PREFIX + the instance's Name tag")
    args = parser.parse_args(argv)
    ec2 = boto3.client("ec2", endpoint_url=args.moto, region_name=args.region,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    follow(ec2, args.project, args.prefix)


if __name__ == "__main__":
    main()
