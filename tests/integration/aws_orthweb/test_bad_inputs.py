"""Bad inputs are refused by aws_orthweb before any change: the run fails with a message saying what to do, and
nothing of the deployment exists afterwards."""
import pytest

from aws_harness import recap

SEVEN = {"aws_orthweb_az_count": 7,
         "aws_orthweb_public_subnet_cidrs": ["172.17.%d.0/24" % i for i in range(1, 8)],
         "aws_orthweb_private_subnet_cidrs": ["172.17.%d.0/22" % (8 + 4 * i) for i in range(7)]}

CASES = {
    "zones the region lacks": (SEVEN, "has 6 available zones"),
    "overlapping subnets": ({"aws_orthweb_private_subnet_cidrs": ["172.17.0.0/22", "172.17.8.0/22"]},
                            "overlapping: 172.17.1.0/24 and 172.17.0.0/22"),
    "subnet outside the VPC": ({"aws_orthweb_public_subnet_cidrs": ["10.0.1.0/24", "172.17.2.0/24"]},
                               "outside: 10.0.1.0/24"),
    "public bucket": ({"aws_orthweb_bucket_public": True}, "only makes private buckets"),
    "DICOM TLS open to the world": ({"aws_orthweb_dicom_tls_cidrs": ["0.0.0.0/0"]},
                                    "set aws_orthweb_dicom_world_confirmed to true if you mean it"),
    "plain DICOM open to the world": ({"aws_orthweb_dicom_plain_cidrs": ["::/0"]}, "would be open to ::/0"),
    "budget without addresses": ({"aws_orthweb_budget_emails": []}, "needs 1 to 10 addresses in aws_orthweb_budget_emails"),
    "access logs into the studies bucket": ({"aws_orthweb_log_bucket_name": "{{ aws_orthweb_bucket_name }}"},
                                            "a valid S3 name other than the studies bucket"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_before_any_change(scenario, case):
    overrides, message = CASES[case]
    name = "orthweb-bad-%d" % sorted(CASES).index(case)
    done = scenario.play("aws_orthweb.yml", dict(overrides, aws_orthweb_name=name, aws_orthweb_bucket_name=name))
    assert done.returncode != 0 and recap(done)["changed"] == 0
    assert message in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert not scenario.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]


def test_world_open_dicom_is_accepted_when_confirmed(scenario):
    confirmed = {"aws_orthweb_dicom_tls_cidrs": ["0.0.0.0/0"], "aws_orthweb_dicom_world_confirmed": True,
                 "aws_orthweb_name": "orthweb-open", "aws_orthweb_bucket_name": "orthweb-open"}
    done = scenario.play("aws_orthweb.yml", confirmed, ["--check"])
    assert recap(done)["failed"] == 0, done.stdout[-3000:]
