"""The site's Elastic IP in the lab: 127.0.0.1 ports forwarded to the instance moto associates the address with.

Each new connection asks moto where the address is (DescribeAddresses) and goes to that instance's private address,
which is its host container's address on the lab network; bytes are copied both ways (TLS stays end to end). When the
failover playbook re-associates the address, the next connection reaches the other host: real traffic follows.

    python -m lab.aws.hosts.site_address --moto http://127.0.0.1:5000 --public-ip 3.4.5.6 --port 41443:443
"""
import argparse
import socket
import threading

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lab.site.relay import splice

LISTEN = "127.0.0.1"


class Association:
    def __init__(self, endpoint, region, public_ip):
        self._lock = threading.Lock()
        self._ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                                 aws_access_key_id="testing", aws_secret_access_key="testing")
        self.public_ip = public_ip

    def private_address(self):
        """The private address behind the Elastic IP now, or None when it is not associated."""
        with self._lock:
            [address] = self._ec2.describe_addresses(PublicIps=[self.public_ip])["Addresses"]
        return address.get("PrivateIpAddress")


def _forward(client, association, port):
    target = None
    try:
        target = association.private_address()
        upstream = socket.create_connection((target, port), timeout=5) if target else None
    except (OSError, BotoCoreError, ClientError) as exc:  # host gone, or moto not answering
        print(f"{association.public_ip}:{port} -> {target}: {exc}", flush=True)
        upstream = None
    if upstream is None:
        client.close()  # as an address with no instance behind it: the connection fails
        return
    splice(client, upstream)


def _accept(sock, association, port):
    while True:
        client, _ = sock.accept()
        threading.Thread(target=_forward, args=(client, association, port), daemon=True).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--public-ip", required=True)
    parser.add_argument("--port", action="append", required=True, help="LOCAL:INSTANCE, e.g. 41443:443")
    args = parser.parse_args(argv)
    association = Association(args.moto, args.region, args.public_ip)
    threads = []
    for pair in args.port:
        local, remote = (int(part) for part in pair.split(":"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LISTEN, local))
        sock.listen(64)
        threads.append(threading.Thread(target=_accept, args=(sock, association, remote), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
