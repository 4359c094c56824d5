"""The lab's AWS pieces added for S3 and stop/start: the bucket-policy gap fix (moto ignored the TLS-only statement's
Condition and denied every object request) and the instance-state follower's transitions."""
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
