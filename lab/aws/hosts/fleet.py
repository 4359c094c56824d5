"""Realize a deployment's moto instances as host containers, with their database, metadata service and site address.

    fleet = Fleet(moto, state_dir, owner="aws-hosts-test", vpc_cidr="172.17.0.0/16")
    extra_vars = fleet.converge_vars()   # what the role needs to bootstrap in the lab (CA, AWS endpoint, site name)
    ... converge the aws_orthweb role against moto with those vars ...
    site = fleet.up()                    # the site address (127.0.0.1 ports), its CA, the hosts
    fleet.down()                         # containers, network, daemons: all gone

Everything is labelled io.medimaging.lab=<owner>; the daemons are stopped by their PIDs.
"""
import base64
import io
import ipaddress
import json
import os
import sys
import tarfile
import time

import boto3

from lab.aws.hosts.database import Database
from lab.aws.moto import REGION, REPO_ROOT
from lab.ca import LabCA
from lab.containers import images
from lab.containers.runtime import ContainerError, owner_label, podman, podman_json, remove_labelled
from lab.proc import free_port, pid_alive, read_pidfile, start_daemon, stop_pid, wait_for_port

IMAGE = "aws-host-bookworm"
SITE_NAME = "localhost"  # in the site certificate: clients reach the Elastic IP's forwarder at localhost:PORT
BOOTSTRAP_TIMEOUT = 300
HOST_AWS_PORT = 4566  # on each host's loopback: systemd-socket-proxyd to moto's relay at the gateway
DAEMONS = ("relay", "imds", "site_address", "instance_state")


class Fleet:
    def __init__(self, moto, state_dir, owner, name="orthweb-lab", vpc_cidr="172.17.0.0/16", region=REGION):
        self.moto, self.owner, self.name, self.region = moto, owner, name, region
        self.state_dir = os.path.abspath(state_dir)
        self.network = owner
        self.subnet = ipaddress.ip_network(vpc_cidr)
        self.gateway = str(self.subnet.network_address + 1)
        self.ca = LabCA(os.path.join(self.state_dir, "ca"))
        self.imds_port = None
        self.ports = {}

    # before the converge -------------------------------------------------------------------------------------------
    def converge_vars(self):
        """Role variables for the lab: trust the lab CA for the database, reach moto at the host's own loopback port
        (forwarded to the network's gateway: the plugin sends signed requests over plain http to loopback only), and
        name the site 'localhost' in its certificate (the Elastic IP's forwarder listens on 127.0.0.1)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.ca.ensure()
        with open(self.ca.cert_path, encoding="ascii") as handle:
            ca_pem = handle.read()
        return {"aws_orthweb_db_ca_pem": ca_pem, "aws_orthweb_site_names": [SITE_NAME],
                "aws_orthweb_host_aws_endpoint_url": f"http://127.0.0.1:{HOST_AWS_PORT}"}

    # after the converge --------------------------------------------------------------------------------------------
    def client(self, service):
        return boto3.client(service, endpoint_url=self.moto.endpoint, region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def instances(self):
        """The deployment's pending or running instances in moto: [{'Name', 'InstanceId', 'PrivateIpAddress', ...}]."""
        found = self.client("ec2").describe_instances(Filters=[
            {"Name": "tag:Project", "Values": [self.name]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]}])
        instances = [i for r in found["Reservations"] for i in r["Instances"]]
        for instance in instances:
            instance["Name"] = next(t["Value"] for t in instance["Tags"] if t["Key"] == "Name")
        return sorted(instances, key=lambda i: i["Name"])

    def container(self, host_name):
        return f"{self.owner}-{host_name}"

    def up(self, log=print):
        """Network, database stand-in, daemons, one host per instance booted through cloud-init; the site."""
        instances = self.instances()
        if not instances:
            raise ContainerError(f"moto has no running instance tagged Project={self.name}: converge first")
        self._check_vpc(instances[0]["VpcId"])
        if podman("network", "exists", self.network, check=False).returncode == 0:
            raise ContainerError(f"podman network {self.network} exists: an earlier fleet of {self.owner} is still "
                                 "up; call down() first (it removes everything labelled for the owner)")
        tag = images.ensure(IMAGE, log)
        podman("network", "create", "--label", owner_label(self.owner), "--subnet", str(self.subnet),
               "--gateway", self.gateway, self.network)
        database = self._start_database(log)
        self._start_daemons()
        for instance in instances:
            self._create_host(tag, instance, database)
        for instance in instances:
            self.wait_bootstrapped(self.container(instance["Name"]))
        return self.site(database)

    def _check_vpc(self, vpc_id):
        [vpc] = self.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        if ipaddress.ip_network(vpc["CidrBlock"]) != self.subnet:
            raise ContainerError(f"the deployment's VPC is {vpc['CidrBlock']}, the fleet was made for {self.subnet}: "
                                 "give Fleet the VPC's CIDR (aws_orthweb_vpc_cidr)")

    def _start_database(self, log):
        [db] = self.client("rds").describe_db_instances(DBInstanceIdentifier=f"{self.name}-db")["DBInstances"]
        subnet_ids = [s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]]
        cidrs = sorted(s["CidrBlock"] for s in self.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"])
        address = str(ipaddress.ip_network(cidrs[0]).network_address + 10)
        secret = self.client("secretsmanager").get_secret_value(SecretId=f"{self.name}/database")["SecretString"]
        database = Database(self.owner, self.container("rds"), self.network, address, db["Endpoint"]["Address"])
        database.start(self.ca, json.loads(secret), db.get("DBName") or "orthanc", log)
        return database

    def _start_daemons(self):
        """moto reachable from the hosts (relay at the gateway), the IMDS stand-in, the Elastic IP's forwarder, and
        the follower of the instances' stop/start."""
        [address] = self.client("ec2").describe_addresses(
            Filters=[{"Name": "tag:Name", "Values": [f"{self.name}-site"]}])["Addresses"]
        self.imds_port = free_port()
        self.ports = {"https": free_port(), "dicom_tls": free_port(), "dicom_plain": free_port()}
        python = [sys.executable, "-m"]
        argv = {"relay": python + ["lab.site.relay", "--listen", self.gateway, "--port", str(self.moto.port)],
                "imds": python + ["lab.aws.hosts.imds", "--listen", self.gateway, "--port", str(self.imds_port),
                                  "--moto", self.moto.endpoint, "--region", self.region],
                "site_address": python + ["lab.aws.hosts.site_address", "--moto", self.moto.endpoint,
                                          "--region", self.region, "--public-ip", address["PublicIp"],
                                          "--port", f"{self.ports['https']}:443",
                                          "--port", f"{self.ports['dicom_tls']}:11112",
                                          "--port", f"{self.ports['dicom_plain']}:4242"],
                "instance_state": python + ["lab.aws.hosts.instance_state", "--moto", self.moto.endpoint,
                                            "--region", self.region, "--project", self.name,
                                            "--prefix", self.container("")]}
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        for daemon in DAEMONS:
            start_daemon(argv[daemon], self._path(daemon + ".log"), self._path(daemon + ".pid"), env=env,
                         cwd=REPO_ROOT)
        pid = read_pidfile(self._path("site_address.pid"))
        for port in self.ports.values():
            wait_for_port("127.0.0.1", port, timeout=20, pid=pid, logfile=self._path("site_address.log"))

    def _create_host(self, tag, instance, database):
        """The instance's host container: its private address, the RDS name resolving to the stand-in, and before
        the first boot the NoCloud seed (its user data) and the metadata service's address."""
        name = self.container(instance["Name"])
        user_data = self.client("ec2").describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="userData")["UserData"]["Value"]
        podman("create", "--name", name, "--hostname", instance["Name"], "--label", owner_label(self.owner),
               "--network", self.network, "--ip", instance["PrivateIpAddress"],
               "--add-host", f"{database.endpoint}:{database.address}", "--systemd=always", tag)
        meta_data = f"instance-id: {instance['InstanceId']}\nlocal-hostname: {instance['Name']}\n"
        imds = f"[Manager]\nDefaultEnvironment=AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{self.gateway}:{self.imds_port}\n"
        files = {"var/lib/cloud/seed/nocloud/user-data": base64.b64decode(user_data),
                 "var/lib/cloud/seed/nocloud/meta-data": meta_data.encode(),
                 "etc/systemd/system.conf.d/lab-imds.conf": imds.encode(), **self._aws_endpoint_units()}
        podman("cp", "-", f"{name}:/", input_bytes=_tar(files))
        podman("start", name)

    def _aws_endpoint_units(self):
        """127.0.0.1:HOST_AWS_PORT on the host, forwarded to moto's relay at the gateway (AWS's endpoints are https
        names; the lab's moto is plain http, which the plugin accepts on loopback only)."""
        unit = "lab-aws-endpoint"
        return {f"etc/systemd/system/{unit}.socket":
                f"[Socket]\nListenStream=127.0.0.1:{HOST_AWS_PORT}\n".encode(),
                f"etc/systemd/system/{unit}.service":
                f"[Service]\nExecStart=/lib/systemd/systemd-socket-proxyd {self.gateway}:{self.moto.port}\n".encode(),
                # a drop-in instead of an enable symlink: the seed is a tar of plain files
                f"etc/systemd/system/sockets.target.d/{unit}.conf": f"[Unit]\nWants={unit}.socket\n".encode()}

    def wait_bootstrapped(self, name, timeout=BOOTSTRAP_TIMEOUT):
        """Wait for cloud-init to finish the user data; a clear error with its output when it failed."""
        # not systemd's "running": the boot includes cloud-init's final stage, as on EC2
        done = podman("exec", name, "cloud-init", "status", "--wait", check=False, timeout=timeout)
        if done.returncode != 0:
            output = podman("exec", name, "tail", "-n", "25", "/var/log/cloud-init-output.log", check=False)
            raise ContainerError(f"{name}: cloud-init did not finish the user data ({done.stdout.decode().strip()}):"
                                 f"\n{output.stdout.decode(errors='replace')}")

    def site(self, database=None):
        secret = self.client("secretsmanager").get_secret_value(SecretId=f"{self.name}/host")["SecretString"]
        ca_path = self._path("site-ca.pem")
        with open(ca_path, "w", encoding="ascii") as handle:
            handle.write(json.loads(secret)["tls_ca"])
        return {"https": f"https://{SITE_NAME}:{self.ports['https']}", "dicom_tls": (SITE_NAME, self.ports["dicom_tls"]),
                "dicom_plain": (SITE_NAME, self.ports["dicom_plain"]),
                "ca_file": ca_path, "database": database,
                "hosts": {i["Name"]: self.container(i["Name"]) for i in self.instances()}}

    def fail(self, host_name):
        """The host dies (its container stops); moto, like EC2 for a while, still says it runs."""
        podman("stop", "-t", "2", self.container(host_name))

    def down(self):
        """Stop the daemons and remove every labelled container and the network; the state folder stays."""
        for daemon in DAEMONS:
            pid = read_pidfile(self._path(daemon + ".pid"))
            if pid and pid_alive(pid):
                stop_pid(pid)
        return remove_labelled(self.owner)

    def _path(self, name):
        return os.path.join(self.state_dir, name)

    def status(self):
        return {c["Names"][0]: c["State"] for c in podman_json("ps", "-a", "--format", "json", "--filter",
                                                               f"label={owner_label(self.owner)}")}


def _tar(files):
    """A tar stream of {relative path: bytes}: root-owned 0644 files and the 0755 folders above them."""
    folders = set()
    for path in files:
        parent = os.path.dirname(path)
        while parent:
            folders.add(parent)
            parent = os.path.dirname(parent)
    buffer, now = io.BytesIO(), int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
            archive.addfile(info)
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, now
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
