"""The operation playbooks against moto.

Failover: the primary stops, the site's Elastic IP moves to the secondary (started if stopped), and back. The lab has
no host behind the address yet, so the HTTPS health check is off here. Rotation: a new password in the secret, the
old one kept as AWSPREVIOUS (moto keeps no password for RDS to compare).
"""
import json

from aws_harness import succeeded

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


def test_failover_moves_the_site_address_to_the_secondary_and_back(scenario, converged):
    ec2 = scenario.client("ec2")
    hosts = _hosts(scenario)
    primary, secondary = hosts[NAME + "-primary"]["InstanceId"], hosts[NAME + "-secondary"]["InstanceId"]
    site_ip = _site(scenario)["PublicIp"]
    ec2.stop_instances(InstanceIds=[secondary])  # a cost-saving stopped standby: failover must start it
    ec2.stop_instances(InstanceIds=[primary])  # the failure

    assert succeeded(scenario.play("aws_orthweb_failover.yml", NO_HEALTH_CHECK))["changed"] >= 2
    assert _site(scenario)["InstanceId"] == secondary and _site(scenario)["PublicIp"] == site_ip
    assert _hosts(scenario)[NAME + "-secondary"]["State"]["Name"] == "running"

    assert succeeded(scenario.play("aws_orthweb_failover.yml", NO_HEALTH_CHECK))["changed"] == 0

    ec2.start_instances(InstanceIds=[primary])
    assert succeeded(scenario.play("aws_orthweb_failover.yml", dict(NO_HEALTH_CHECK, aws_orthweb_failover_to="primary")))
    assert _site(scenario)["InstanceId"] == primary and _site(scenario)["PublicIp"] == site_ip


def test_rotation_stores_a_new_password_and_keeps_the_old_one_as_previous(scenario, converged):
    secrets = scenario.client("secretsmanager")
    secret = NAME + "/database"
    before = secrets.get_secret_value(SecretId=secret)["SecretString"]
    assert succeeded(scenario.play("aws_orthweb_rotate_db_password.yml"))["changed"] >= 1
    after = secrets.get_secret_value(SecretId=secret)["SecretString"]
    assert after != before and json.loads(after)["username"] == "orthanc"
    assert secrets.get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")["SecretString"] == before
