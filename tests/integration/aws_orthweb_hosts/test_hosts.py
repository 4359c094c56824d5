"""The role's two instances booted for real from their user data, used through the site address, then failed over.
Orthanc's files are in the site's S3 bucket (the medimaging plugin, instance role): after the failover the secondary
serves the files of a study stored through the primary."""
import io
import os
import time

import pydicom
import pytest

from aws_harness import succeeded
from dicom_tls import echo, echo_plain, qido_study, store, study_files, write_study

from lab.containers.runtime import podman

PRIMARY, SECONDARY = "orthweb-lab-primary", "orthweb-lab-secondary"
BUCKET, PREFIX = "orthweb-lab-studies", "orthanc/"


def _exec(container, *argv):
    return podman("exec", container, *argv, check=False).stdout.decode().strip()


def _admin_password(scenario):
    with open(os.path.join(scenario.workdir, "aws", "orthanc-admin"), encoding="ascii") as handle:
        return handle.read().strip()


def _local_files(container):
    """Files in Orthanc's storage folder on the host (none when the plugin keeps them in S3)."""
    return _exec(container, "sh", "-c", "find /var/lib/orthanc/db-v6 -type f 2>/dev/null | head -3")


@pytest.fixture(scope="module")
def first_study(site, tmp_path_factory):
    """A study stored with storescu over TLS through the site address while it points at the primary."""
    study_uid, paths = write_study(str(tmp_path_factory.mktemp("first")))
    done = store(site, paths)
    assert done.returncode == 0, done.stderr
    sent = {}
    for path in paths:
        dataset = pydicom.dcmread(path)
        sent[dataset.SOPInstanceUID] = dataset.PixelData
    return study_uid, sent


def test_instances_ran_their_user_data_with_the_role_credentials_from_metadata(site):
    assert sorted(site["hosts"]) == [PRIMARY, SECONDARY]
    for container in site["hosts"].values():
        assert _exec(container, "cloud-init", "status") == "status: done"
        assert _exec(container, "systemctl", "is-active", "orthanc", "nginx").split() == ["active", "active"]
        # boto3 in a systemd unit (as orthweb-secrets runs) finds the instance role through the metadata service
        method = _exec(container, "systemd-run", "--wait", "--pipe", "--quiet", "python3", "-c",
                       "import boto3; print(boto3.Session().get_credentials().method)")
        assert method == "iam-role", container
        assert _exec(container, "sh", "-c", "ls /root/.aws; grep -rl AWS_SECRET_ACCESS_KEY /etc || true") == ""
        index = _exec(container, "cat", "/etc/orthanc/postgresql.json")
        assert "sslmode=verify-full" in index and site["database"].endpoint in index
        # the plugin came from the bucket, checked against the hash in the user data, and holds the storage area
        wanted = _exec(container, "sh", "-c", ". /etc/default/orthweb; echo $ORTHWEB_PLUGIN_SHA256")
        assert len(wanted) == 64
        assert _exec(container, "cat", "/usr/local/lib/orthweb/medimaging-plugin/.sha256") == wanted


def test_dicom_tls_through_the_site_address_stores_a_study_found_by_qido(scenario, site, first_study):
    assert echo(site).returncode == 0, echo(site).stderr
    lab_ca = os.path.join(scenario.workdir, "hosts", "ca", "ca.pem")  # a CA that did not sign the site's certificate
    assert echo(site, ca_file=lab_ca).returncode != 0
    assert echo_plain(site).returncode == 0  # plain DICOM 4242 for modalities without TLS
    study_uid, sent = first_study
    [found] = qido_study(site, _admin_password(scenario), study_uid)
    assert found["0020000D"]["Value"] == [study_uid]
    database = site["database"]
    assert int(database.psql("SELECT count(*) FROM resources", "orthanc")) >= 1 + 1 + 1 + len(sent)
    # both hosts hold their index connection to the RDS stand-in over TLS, and nothing else connects
    assert database.psql("SELECT DISTINCT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                         "WHERE client_addr IS NOT NULL") == "t"


def test_the_files_are_in_the_bucket_encrypted_with_the_key_and_not_on_the_host(scenario, site, first_study):
    s3, kms = scenario.client("s3"), scenario.client("kms")
    key_arn = kms.describe_key(KeyId="alias/orthweb-lab")["KeyMetadata"]["Arn"]
    objects = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    assert len(objects) >= len(first_study[1])  # one DICOM file per instance (and Orthanc's JSON summaries)
    for listed in objects:
        head = s3.head_object(Bucket=BUCKET, Key=listed["Key"])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn, listed["Key"]
    assert _local_files(site["hosts"][PRIMARY]) == ""


def _container_state(container, wanted, timeout=120):
    """The container's state once it is `wanted` (the lab follows EC2 stop/start by polling), or the last seen."""
    deadline, state = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        state = podman("inspect", "--format", "{{.State.Status}}", container).stdout.decode().strip()
        if state == wanted:
            break
        time.sleep(1)
    return state


def test_failover_starts_the_stopped_standby_and_moves_the_same_storescu_to_it(scenario, fleet, site, first_study,
                                                                                tmp_path):
    health = {"aws_orthweb_failover_health_url": site["https"] + "/system",
              "aws_orthweb_failover_ca_file": site["ca_file"]}
    # the cost guardrail: the primary serves the site, so the standby is stopped through the EC2 API, host and all
    assert succeeded(scenario.play("aws_orthweb_standby.yml", health))["changed"] == 1
    assert _container_state(site["hosts"][SECONDARY], "exited") == "exited"
    fleet.fail(PRIMARY)
    assert echo(site).returncode != 0  # the site address still points at the dead primary
    assert succeeded(scenario.play("aws_orthweb_failover.yml", health))["changed"] >= 2  # started, address moved
    assert _container_state(site["hosts"][SECONDARY], "running") == "running"
    study_uid, paths = write_study(str(tmp_path / "after"))
    done = store(site, paths)
    assert done.returncode == 0, done.stderr
    [found] = qido_study(site, _admin_password(scenario), study_uid)
    assert found["0020000D"]["Value"] == [study_uid]
    assert _local_files(site["hosts"][SECONDARY]) == ""


def test_after_failover_the_secondary_serves_the_files_stored_through_the_primary(scenario, site, first_study):
    study_uid, sent = first_study
    address = scenario.client("ec2").describe_addresses(
        Filters=[{"Name": "tag:Name", "Values": ["orthweb-lab-site"]}])["Addresses"][0]
    hosts = {i["Name"]: i["PrivateIpAddress"] for i in _instances(scenario)}
    assert address["PrivateIpAddress"] == hosts[SECONDARY]  # the site address is on the secondary now
    served = study_files(site, _admin_password(scenario), study_uid)
    assert sorted(served) == sorted(sent)
    for uid, data in served.items():
        assert pydicom.dcmread(io.BytesIO(data)).PixelData == sent[uid]


def _instances(scenario):
    found = scenario.client("ec2").describe_instances(Filters=[{"Name": "tag:Project", "Values": ["orthweb-lab"]}])
    instances = [i for r in found["Reservations"] for i in r["Instances"]]
    for instance in instances:
        instance["Name"] = next(t["Value"] for t in instance["Tags"] if t["Key"] == "Name")
    return instances
