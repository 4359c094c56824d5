"""The role's two instances booted for real from their user data, used through the site address, then failed over."""
import os

from aws_harness import succeeded
from dicom_tls import echo, qido_study, store, write_study

from lab.containers.runtime import podman

PRIMARY, SECONDARY = "orthweb-lab-primary", "orthweb-lab-secondary"


def _exec(container, *argv):
    return podman("exec", container, *argv, check=False).stdout.decode().strip()


def _admin_password(scenario):
    with open(os.path.join(scenario.workdir, "aws", "orthanc-admin"), encoding="ascii") as handle:
        return handle.read().strip()


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


def test_dicom_tls_through_the_site_address_stores_a_study_found_by_qido(scenario, site, tmp_path):
    assert echo(site).returncode == 0, echo(site).stderr
    lab_ca = os.path.join(scenario.workdir, "hosts", "ca", "ca.pem")  # a CA that did not sign the site's certificate
    assert echo(site, ca_file=lab_ca).returncode != 0
    study_uid, paths = write_study(str(tmp_path / "study"))
    done = store(site, paths)
    assert done.returncode == 0, done.stderr
    [found] = qido_study(site, _admin_password(scenario), study_uid)
    assert found["0020000D"]["Value"] == [study_uid]
    database = site["database"]
    assert int(database.psql("SELECT count(*) FROM resources", "orthanc")) >= 1 + 1 + 1 + len(paths)
    # both hosts hold their index connection to the RDS stand-in over TLS, and nothing else connects
    assert database.psql("SELECT DISTINCT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                         "WHERE client_addr IS NOT NULL") == "t"


def test_failover_moves_the_same_storescu_to_the_secondary(scenario, fleet, site, tmp_path):
    fleet.fail(PRIMARY)
    assert echo(site).returncode != 0  # the site address still points at the dead primary
    failover = {"aws_orthweb_failover_health_url": site["https"] + "/system",
                "aws_orthweb_failover_ca_file": site["ca_file"]}
    assert succeeded(scenario.play("aws_orthweb_failover.yml", failover))["changed"] >= 1
    study_uid, paths = write_study(str(tmp_path / "after"))
    done = store(site, paths)
    assert done.returncode == 0, done.stderr
    [found] = qido_study(site, _admin_password(scenario), study_uid)
    assert found["0020000D"]["Value"] == [study_uid]
    assert _exec(site["hosts"][SECONDARY], "sh", "-c", "ls /var/lib/orthanc/db-v6 | head -1") != ""
