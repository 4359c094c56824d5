"""An IMDSv2 stand-in for the lab's hosts: the instance role's credentials, as EC2's metadata service serves them.

One server for the lab network. A caller is identified by its source address (the host containers carry their moto
instance's private address), its instance profile's role is looked up in moto and the credentials come from moto's
STS AssumeRole. Like IMDSv2 with HttpTokens=required: a session token from PUT /latest/api/token is needed for
every GET (401 without). The hosts find the server through AWS_EC2_METADATA_SERVICE_ENDPOINT (lab/aws/README.md).

    python -m lab.aws.hosts.imds --listen 172.17.0.1 --port 41000 --moto http://127.0.0.1:5000
"""
import argparse
import datetime
import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

from lab.site.relay import IP_FREEBIND

TOKEN_PATH = "/latest/api/token"
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"


class Metadata:
    """What moto knows about the instance at a private address."""

    def __init__(self, endpoint, region):
        self._lock = threading.Lock()
        self._clients = {name: boto3.client(name, endpoint_url=endpoint, region_name=region,
                                            aws_access_key_id="testing", aws_secret_access_key="testing")
                         for name in ("ec2", "iam", "sts")}
        self.region = region
        self.tokens = {}

    def instance(self, address):
        with self._lock:
            found = self._clients["ec2"].describe_instances(Filters=[
                {"Name": "private-ip-address", "Values": [address]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]}])
        return next((i for r in found["Reservations"] for i in r["Instances"]), None)

    def role(self, instance):
        profile = (instance.get("IamInstanceProfile") or {}).get("Arn", "")
        if not profile:
            return None
        with self._lock:
            roles = self._clients["iam"].get_instance_profile(
                InstanceProfileName=profile.rsplit("/", 1)[-1])["InstanceProfile"]["Roles"]
        return roles[0] if roles else None

    def credentials(self, role, instance_id):
        with self._lock:
            issued = self._clients["sts"].assume_role(RoleArn=role["Arn"], RoleSessionName=instance_id)["Credentials"]
        return {"Code": "Success", "Type": "AWS-HMAC",
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "AccessKeyId": issued["AccessKeyId"], "SecretAccessKey": issued["SecretAccessKey"],
                "Token": issued["SessionToken"], "Expiration": issued["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}


def handler_for(metadata):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # one line per request in the daemon's log
            print("%s %s" % (self.client_address[0], fmt % args), flush=True)

        def answer(self, status, body="", content_type="text/plain"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):  # noqa: N802 (http.server's naming)
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if self.path != TOKEN_PATH or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.answer(400, "PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds 1-21600")
            token = secrets.token_urlsafe(32)
            metadata.tokens[token] = self.client_address[0]
            return self.answer(200, token)

        def do_GET(self):  # noqa: N802
            caller = self.client_address[0]
            if metadata.tokens.get(self.headers.get("X-aws-ec2-metadata-token", "")) != caller:
                return self.answer(401)  # IMDSv2 required: no session token, no metadata
            instance = metadata.instance(caller)
            if instance is None:
                return self.answer(404)
            if self.path == "/latest/meta-data/instance-id":
                return self.answer(200, instance["InstanceId"])
            if self.path == "/latest/meta-data/placement/region":
                return self.answer(200, metadata.region)
            if self.path.startswith(CREDENTIALS_PATH):
                role = metadata.role(instance)
                if role is None:
                    return self.answer(404)
                name = self.path[len(CREDENTIALS_PATH):]
                if not name:
                    return self.answer(200, role["RoleName"])
                if name != role["RoleName"]:
                    return self.answer(404)
                body = json.dumps(metadata.credentials(role, instance["InstanceId"]))
                return self.answer(200, body, "application/json")
            return self.answer(404)

    return Handler


class FreeBindServer(ThreadingHTTPServer):
    """Binds to the network's gateway even before a container has brought the bridge up."""
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        super().server_bind()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--moto", required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    server = FreeBindServer((args.listen, args.port), handler_for(Metadata(args.moto, args.region)))
    server.serve_forever()


if __name__ == "__main__":
    main()
