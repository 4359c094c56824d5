"""aws_vpc_flow_log against moto: create, no change on re-run, check mode writes nothing, diff, replace, absent,
bad input refused before any call."""
import pytest

from aws_module_runner import run_module, writes

ROLE = "arn:aws:iam::123456789012:role/site-flow-logs"


@pytest.fixture()
def vpc(aws):
    vpc_id = aws("ec2").create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    aws("logs").create_log_group(logGroupName="/site/flow-" + vpc_id)
    return vpc_id


def _args(vpc_id, **extra):
    return dict(dict(vpc_id=vpc_id, log_group_name="/site/flow-" + vpc_id, deliver_logs_role_arn=ROLE,
                     tags={"Name": "site"}), **extra)


def _flow_logs(aws, vpc_id):
    return aws("ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def test_creates_once_and_a_rerun_changes_nothing(aws, moto_endpoint, vpc):
    dry = run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"]["before"] == {} and dry["diff"]["after"]["TrafficType"] == "ALL"
    assert writes(dry["_calls"]) == [] and _flow_logs(aws, vpc) == []

    done = run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint)
    assert done["changed"], done
    [flow_log] = _flow_logs(aws, vpc)
    assert flow_log["FlowLogId"] == done["flow_log"]["FlowLogId"]
    assert (flow_log["TrafficType"], flow_log["LogDestinationType"], flow_log["LogGroupName"],
            flow_log["DeliverLogsPermissionArn"]) == ("ALL", "cloud-watch-logs", "/site/flow-" + vpc, ROLE)
    assert {t["Key"]: t["Value"] for t in flow_log["Tags"]} == {"Name": "site"}

    again = run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint)
    assert not again["changed"] and writes(again["_calls"]) == [], again
    assert again["diff"]["before"] == again["diff"]["after"]


def test_a_new_traffic_type_replaces_the_flow_log_and_check_mode_only_reports_it(aws, moto_endpoint, vpc):
    first = run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint)["flow_log"]["FlowLogId"]
    dry = run_module("aws_vpc_flow_log", _args(vpc, traffic_type="REJECT"), moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["replaced"] == [first] and writes(dry["_calls"]) == []
    assert (dry["diff"]["before"]["TrafficType"], dry["diff"]["after"]["TrafficType"]) == ("ALL", "REJECT")
    assert [f["FlowLogId"] for f in _flow_logs(aws, vpc)] == [first]

    done = run_module("aws_vpc_flow_log", _args(vpc, traffic_type="REJECT"), moto_endpoint)
    assert done["changed"] and done["replaced"] == [first]
    [flow_log] = _flow_logs(aws, vpc)
    assert flow_log["FlowLogId"] != first and flow_log["TrafficType"] == "REJECT"


def test_tags_change_in_place(aws, moto_endpoint, vpc):
    first = run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint)["flow_log"]["FlowLogId"]
    done = run_module("aws_vpc_flow_log", _args(vpc, tags={"Name": "site", "Tier": "audit"}), moto_endpoint)
    assert done["changed"] and done["replaced"] == []
    [flow_log] = _flow_logs(aws, vpc)
    assert flow_log["FlowLogId"] == first
    assert {t["Key"]: t["Value"] for t in flow_log["Tags"]} == {"Name": "site", "Tier": "audit"}


def test_s3_destination_under_a_prefix(aws, moto_endpoint, vpc):
    aws("s3").create_bucket(Bucket="site-flow-logs")
    args = dict(vpc_id=vpc, destination_type="s3", log_destination="arn:aws:s3:::site-flow-logs/vpc-flow/")
    assert run_module("aws_vpc_flow_log", args, moto_endpoint)["changed"]
    [flow_log] = _flow_logs(aws, vpc)
    assert flow_log["LogDestination"] == "arn:aws:s3:::site-flow-logs/vpc-flow/"
    assert not run_module("aws_vpc_flow_log", args, moto_endpoint)["changed"]


def test_absent_deletes_and_then_has_nothing_to_do(aws, moto_endpoint, vpc):
    run_module("aws_vpc_flow_log", _args(vpc), moto_endpoint)
    gone = dict(vpc_id=vpc, log_group_name="/site/flow-" + vpc, state="absent")
    dry = run_module("aws_vpc_flow_log", gone, moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"]["after"] == {} and len(_flow_logs(aws, vpc)) == 1
    assert run_module("aws_vpc_flow_log", gone, moto_endpoint)["changed"]
    assert _flow_logs(aws, vpc) == []
    assert not run_module("aws_vpc_flow_log", gone, moto_endpoint)["changed"]


@pytest.mark.parametrize("bad, named", [
    ({"vpc_id": "my-vpc"}, "vpc_id"),
    ({"deliver_logs_role_arn": "site-flow-logs"}, "deliver_logs_role_arn"),
    ({"log_group_name": None}, "log_group_name"),
    ({"destination_type": "s3"}, "log_destination"),
    ({"destination_type": "s3", "log_destination": "s3://bucket/x"}, "log_destination"),
    ({"tags": {"Cost": 3}}, "tags"),
])
def test_bad_input_is_refused_before_any_call(moto_endpoint, bad, named):
    args = _args("vpc-0123456789abcdef0")
    args.update(bad)
    result = run_module("aws_vpc_flow_log", {k: v for k, v in args.items() if v is not None}, moto_endpoint)
    assert result["failed"] and named in result["msg"] and result["_calls"] == []
