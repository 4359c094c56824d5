"""The teardown playbook: everything of the deployment goes; with aws_orthweb_purge_data the bucket and key too."""
from aws_harness import succeeded

NAME = "orthweb-lab"


def test_teardown_removes_the_deployment(scenario, converged):
    done = scenario.play("aws_orthweb_teardown.yml", {"aws_orthweb_purge_data": True})
    succeeded(done)
    ec2, rds = scenario.client("ec2"), scenario.client("rds")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
    assert not ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [NAME + "-site"]}])["Addresses"]
    running = ec2.describe_instances(Filters=[{"Name": "tag:Project", "Values": [NAME]},
                                              {"Name": "instance-state-name", "Values": ["running", "stopped"]}])
    assert not running["Reservations"]
    assert not [d for d in rds.describe_db_instances()["DBInstances"] if d["DBInstanceIdentifier"] == NAME + "-db"]
    assert NAME + "-studies" not in [b["Name"] for b in scenario.client("s3").list_buckets()["Buckets"]]
    assert not [r for r in scenario.client("iam").list_roles()["Roles"] if r["RoleName"] in (NAME + "-host",
                                                                                             NAME + "-flow-logs")]
    assert not ec2.describe_flow_logs()["FlowLogs"]
    assert NAME + "-studies-logs" not in [b["Name"] for b in scenario.client("s3").list_buckets()["Buckets"]]
    assert not scenario.client("logs").describe_log_groups(logGroupNamePrefix="/%s/" % NAME)["logGroups"]
    assert not scenario.client("budgets").describe_budgets(AccountId="123456789012").get("Budgets")
    assert succeeded(scenario.play("aws_orthweb_teardown.yml", {"aws_orthweb_purge_data": True}))["changed"] == 0
