"""aws_s3_access_logging against moto: logging into a BucketOwnerEnforced log bucket through its policy (no ACL),
no change on re-run, check mode writes nothing, diff, absent, bad input refused before any call."""
import json

import pytest

from aws_module_runner import run_module, writes


def _log_bucket(aws, name, prefix):
    """A log bucket as the aws_orthweb role makes it: owner enforced (no ACLs), the logging service let in by policy."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::%s" % name, "arn:aws:s3:::%s/*" % name],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%s/%s*" % (name, prefix),
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}))


def _logging(aws, bucket):
    return aws("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled")


def test_turns_on_once_and_a_rerun_changes_nothing(aws, moto_endpoint):
    aws("s3").create_bucket(Bucket="site-studies-on")
    _log_bucket(aws, "site-logs-on", "s3-access/")
    args = {"bucket": "site-studies-on", "target_bucket": "site-logs-on", "target_prefix": "s3-access/"}
    dry = run_module("aws_s3_access_logging", args, moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"] == {"before": {}, "after": {"TargetBucket": "site-logs-on",
                                                                      "TargetPrefix": "s3-access/"}}
    assert writes(dry["_calls"]) == [] and _logging(aws, "site-studies-on") is None

    done = run_module("aws_s3_access_logging", args, moto_endpoint)
    assert done["changed"], done
    assert _logging(aws, "site-studies-on") == {"TargetBucket": "site-logs-on", "TargetPrefix": "s3-access/"}
    again = run_module("aws_s3_access_logging", args, moto_endpoint)
    assert not again["changed"] and writes(again["_calls"]) == []


def test_a_log_bucket_without_the_policy_is_a_clear_error(aws, moto_endpoint):
    aws("s3").create_bucket(Bucket="site-studies-nopolicy")
    aws("s3").create_bucket(Bucket="site-logs-nopolicy", ObjectOwnership="BucketOwnerEnforced")
    result = run_module("aws_s3_access_logging", {"bucket": "site-studies-nopolicy",
                                                  "target_bucket": "site-logs-nopolicy"}, moto_endpoint)
    assert result["failed"] and "InvalidTargetBucketForLogging" in result["msg"]
    assert "logging.s3.amazonaws.com" in result["msg"]


def test_absent_turns_logging_off(aws, moto_endpoint):
    aws("s3").create_bucket(Bucket="site-studies-off")
    _log_bucket(aws, "site-logs-off", "")
    run_module("aws_s3_access_logging", {"bucket": "site-studies-off", "target_bucket": "site-logs-off"}, moto_endpoint)
    gone = {"bucket": "site-studies-off", "state": "absent"}
    dry = run_module("aws_s3_access_logging", gone, moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"]["after"] == {} and _logging(aws, "site-studies-off")
    assert run_module("aws_s3_access_logging", gone, moto_endpoint)["changed"]
    assert _logging(aws, "site-studies-off") is None
    assert not run_module("aws_s3_access_logging", gone, moto_endpoint)["changed"]


@pytest.mark.parametrize("args, named", [
    ({"bucket": "Site_Studies", "target_bucket": "site-logs"}, "bucket"),
    ({"bucket": "site-studies"}, "target_bucket"),
    ({"bucket": "site-studies", "target_bucket": "site-studies"}, "target_bucket"),
    ({"bucket": "site-studies", "target_bucket": "site-logs", "target_prefix": "/logs/"}, "target_prefix"),
])
def test_bad_input_is_refused_before_any_call(moto_endpoint, args, named):
    result = run_module("aws_s3_access_logging", args, moto_endpoint)
    assert result["failed"] and named in result["msg"] and result["_calls"] == []
