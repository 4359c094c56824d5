"""The lab's AWS pieces added for S3 and stop/start: the bucket-policy gap fix (moto ignored the TLS-only statement's
Condition and denied every object request), the instance-state follower's transitions, and DeleteLaunchTemplateVersions
(not in moto: a template with two versions could not be torn down)."""
import json

from moto.iam.access_control import PermissionResult

from lab.aws import gaps
from lab.aws.hosts.instance_state import act

RESOURCE = "arn:aws:s3:::orthweb-lab-studies/orthanc/x"
TLS_ONLY = {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::orthweb-lab-studies", "arn:aws:s3:::orthweb-lab-studies/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
DENY_DELETE = {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::orthweb-lab-studies/*"}


class Bucket:
    def __init__(self, *statements):
        self.policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)}).encode()


def original(bucket, action, resource):
    from moto.iam.access_control import IAMPolicy
    return IAMPolicy(bucket.policy.decode()).is_action_permitted(action, resource)


def test_moto_alone_denies_every_request_under_a_tls_only_policy():
    assert original(Bucket(TLS_ONLY), "s3:GetObject", RESOURCE) == PermissionResult.DENIED


def test_the_gap_fix_treats_lab_requests_as_tls_and_keeps_other_statements():
    permission = gaps._get_permission(original)
    assert permission(Bucket(TLS_ONLY), "s3:GetObject", RESOURCE) == PermissionResult.NEUTRAL
    both = Bucket(TLS_ONLY, DENY_DELETE)
    assert permission(both, "s3:PutObject", RESOURCE) != PermissionResult.DENIED
    assert permission(both, "s3:DeleteObject", RESOURCE) == PermissionResult.DENIED


def test_follower_acts_on_transitions_only():
    assert act("c", "running", "stopping") == ("stop", "-t", "5", "c")
    assert act("c", "stopped", "pending") == ("start", "c")
    assert act("c", "stopping", "stopped") is None
    assert act("c", "pending", "running") is None
    assert act("c", "running", "running") is None  # a failed host (container stopped, EC2 says running) stays down


def test_a_template_with_two_versions_can_be_torn_down():
    import boto3
    from moto import mock_aws

    gaps.apply()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        data = {"ImageId": "ami-03c3da4cfa8e8943a"}
        ec2.create_launch_template(LaunchTemplateName="orthweb-lab-host", LaunchTemplateData=data)
        ec2.create_launch_template_version(LaunchTemplateName="orthweb-lab-host", LaunchTemplateData=data)
        ec2.modify_launch_template(LaunchTemplateName="orthweb-lab-host", DefaultVersion="2")
        answer = ec2.delete_launch_template_versions(LaunchTemplateName="orthweb-lab-host", Versions=["1", "2"])
        assert [v["VersionNumber"] for v in answer["SuccessfullyDeletedLaunchTemplateVersions"]] == [1]
        [refused] = answer["UnsuccessfullyDeletedLaunchTemplateVersions"]
        assert refused["ResponseError"]["Code"] == "launchTemplateVersionIsDefaultVersion"
        ec2.delete_launch_template(LaunchTemplateName="orthweb-lab-host")
        assert not ec2.describe_launch_templates()["LaunchTemplates"]
