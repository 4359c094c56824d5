"""The lab's IMDSv2 stand-in (lab/aws/hosts/imds.py) over a real socket, with moto's answers faked."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from lab.aws.hosts.imds import FreeBindServer, handler_for

ROLE = {"RoleName": "orthweb-lab-host", "Arn": "arn:aws:iam::123456789012:role/orthweb-lab-host"}
CREDENTIALS = {"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "Token": "session"}


class FakeMetadata:
    region = "us-east-1"

    def __init__(self):
        self.tokens = {}

    def instance(self, address):
        return {"InstanceId": "i-0123", "PrivateIpAddress": address} if address == "127.0.0.1" else None

    def role(self, instance):
        return ROLE

    def credentials(self, role, instance_id):
        return dict(CREDENTIALS, Role=role["RoleName"], Instance=instance_id)


@pytest.fixture(scope="module")
def imds():
    server = FreeBindServer(("127.0.0.1", 0), handler_for(FakeMetadata()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def call(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local test server)
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def token(imds):
    status, value = call(imds + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert status == 200 and value
    return {"X-aws-ec2-metadata-token": value}


def test_metadata_needs_a_session_token_as_imdsv2_required(imds):
    assert call(imds + "/latest/meta-data/iam/security-credentials/")[0] == 401
    assert call(imds + "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": "made-up"})[0] == 401


def test_token_request_without_a_valid_ttl_is_refused(imds):
    assert call(imds + "/latest/api/token", "PUT")[0] == 400
    assert call(imds + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "0"})[0] == 400


def test_role_name_then_its_credentials_for_the_calling_instance(imds):
    headers = token(imds)
    assert call(imds + "/latest/meta-data/iam/security-credentials/", headers=headers) == (200, ROLE["RoleName"])
    status, body = call(imds + "/latest/meta-data/iam/security-credentials/" + ROLE["RoleName"], headers=headers)
    assert status == 200
    assert json.loads(body) == dict(CREDENTIALS, Role=ROLE["RoleName"], Instance="i-0123")
    assert call(imds + "/latest/meta-data/iam/security-credentials/other-role", headers=headers)[0] == 404
    assert call(imds + "/latest/meta-data/instance-id", headers=headers) == (200, "i-0123")
