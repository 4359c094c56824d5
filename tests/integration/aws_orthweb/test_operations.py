"""The operation playbooks against moto.

Failover: the primary stops, the site's Elastic IP moves to the secondary (started if stopped), and back. The lab has
no host behind the address yet: the health checks of automatic mode go to a local stand-in (a 401 answer, as nginx
and Orthanc give without a login) or to a closed port, and the check after the move is off.
Standby: the secondary is stopped while the primary serves a healthy site.
Rotation: a new password in the secret, the old one kept as AWSPREVIOUS (moto keeps no password for RDS to compare).
"""
import http.server
import json
import threading

import pytest

from aws_harness import succeeded

from lab.proc import free_port

NAME = "orthweb-lab"
NO_HEALTH_CHECK = {"aws_orthweb_failover_health_check": False}


def _hosts(scenario):
    reservations = scenario.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Project", "Values": [NAME]},
                 {"Name": "instance-state-name", "Values": ["running", "stopped", "pending", "stopping"]}])
    return {[t["Value"] for t in i["Tags"] if t["Key"] == "Name"][0]: i
            for r in reservations["Reservations"] for i in r["Instances"]}


def _site(scenario):
    [address] = scenario.client("ec2").describe_addresses(
        Filters=[{"Name": "tag:Name", "Values": [NAME + "-site"]}])["Addresses"]
    return address


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    """A site that is up: nginx + Orthanc answer 401 to a request without a login."""

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def healthy_site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d/system" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_failover_moves_the_site_address_to_the_secondary_and_back(scenario, converged, healthy_site):
    ec2 = scenario.client("ec2")
    hosts = _hosts(scenario)
    primary, secondary = hosts[NAME + "-primary"]["InstanceId"], hosts[NAME + "-secondary"]["InstanceId"]
    site_ip = _site(scenario)["PublicIp"]
    ec2.stop_instances(InstanceIds=[secondary])  # a cost-saving stopped standby: failover must start it
    ec2.stop_instances(InstanceIds=[primary])  # the failure

    # Automatic mode: the site's health check fails (nothing answers), so the address moves.
    down = "http://127.0.0.1:%d/system" % free_port()
    auto = dict(NO_HEALTH_CHECK, aws_orthweb_failover_auto=True, aws_orthweb_failover_health_url=down)
    assert succeeded(scenario.play("aws_orthweb_failover.yml", auto))["changed"] >= 2
    assert _site(scenario)["InstanceId"] == secondary and _site(scenario)["PublicIp"] == site_ip
    assert _hosts(scenario)[NAME + "-secondary"]["State"]["Name"] == "running"

    # The site answers: automatic mode leaves the address alone, even towards the primary.
    healthy = dict(auto, aws_orthweb_failover_health_url=healthy_site, aws_orthweb_failover_to="primary")
    assert succeeded(scenario.play("aws_orthweb_failover.yml", healthy))["changed"] == 0
    assert _site(scenario)["InstanceId"] == secondary

    ec2.start_instances(InstanceIds=[primary])
    back = dict(NO_HEALTH_CHECK, aws_orthweb_failover_to="primary")
    assert succeeded(scenario.play("aws_orthweb_failover.yml", back))["changed"] >= 1
    assert _site(scenario)["InstanceId"] == primary and _site(scenario)["PublicIp"] == site_ip

    # Cost guardrail: the primary serves a healthy site, so the standby is stopped.
    assert succeeded(scenario.play("aws_orthweb_standby.yml", {"aws_orthweb_failover_health_url": healthy_site}))
    assert _hosts(scenario)[NAME + "-secondary"]["State"]["Name"] in ("stopping", "stopped")
    assert _hosts(scenario)[NAME + "-primary"]["State"]["Name"] == "running"


def test_rotation_stores_a_new_password_and_keeps_the_old_one_as_previous(scenario, converged):
    secrets = scenario.client("secretsmanager")
    secret = NAME + "/database"
    before = secrets.get_secret_value(SecretId=secret)["SecretString"]
    assert succeeded(scenario.play("aws_orthweb_rotate_db_password.yml"))["changed"] >= 1
    after = secrets.get_secret_value(SecretId=secret)["SecretString"]
    assert after != before and json.loads(after)["username"] == "orthanc"
    assert secrets.get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")["SecretString"] == before
