"""Database password rotation with a modality sending throughout: zero failed stores (runs after test_hosts.py: the
site is on the secondary, the primary's host was failed).

The rotation playbook sets the new password on RDS and stores it in the secret; the lab's RDS stand-in then takes it
as RDS does (open sessions stay). The README's procedure follows while the modality keeps sending: the repaired
primary starts (reading the new password), the site fails back to it, the secondary's Orthanc restarts and reads it.
"""
import json
import os
import threading
import time

from aws_harness import succeeded
from dicom_tls import qido_study, store, write_study

from lab.containers.runtime import podman

PRIMARY, SECONDARY = "orthweb-lab-primary", "orthweb-lab-secondary"


class Modality:
    """Sends a one-instance study with storescu over TLS through the site address, again and again."""

    def __init__(self, site, folder):
        self.site, self.folder = site, folder
        self.results, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            study_uid, paths = write_study(os.path.join(self.folder, str(len(self.results))), instances=1)
            done = store(self.site, paths)
            self.results.append((study_uid, done.returncode, done.stderr[-500:]))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=120)


def _login(scenario, stage="AWSCURRENT"):
    secret = scenario.client("secretsmanager").get_secret_value(SecretId="orthweb-lab/database", VersionStage=stage)
    return json.loads(secret["SecretString"])


def _can_log_in(database, login):
    command = ("PGPASSWORD=\"$1\" psql -X -tA 'host=127.0.0.1 sslmode=require dbname=orthanc user=%s' -c 'SELECT 1'"
               % login["username"])
    return podman("exec", database.name, "sh", "-c", command, "sh", login["password"], check=False).returncode == 0


def _sessions_from(database, address):
    return int(database.psql("SELECT count(*) FROM pg_stat_activity WHERE client_addr = '%s'" % address))


def _wait(predicate, timeout=180):
    """Poll until predicate() holds (a bound for a slow machine, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(2)
    return predicate()


def _address(scenario, name):
    found = scenario.client("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return [i for r in found["Reservations"] for i in r["Instances"]][0]["PrivateIpAddress"]


def _password(scenario):
    with open(os.path.join(scenario.workdir, "aws", "orthanc-admin"), encoding="ascii") as handle:
        return handle.read().strip()


def test_rotation_and_the_hosts_reload_lose_no_store(scenario, site, tmp_path):
    database, old = site["database"], _login(scenario)
    with Modality(site, str(tmp_path)) as modality:
        assert succeeded(scenario.play("aws_orthweb_rotate_db_password.yml"))["changed"] >= 1
        new = _login(scenario)
        assert new["password"] != old["password"] and _login(scenario, "AWSPREVIOUS") == old
        database.set_password(new)  # RDS applies ModifyDBInstance's password
        assert _can_log_in(database, new) and not _can_log_in(database, old)
        # the repaired primary boots and reads the new password from the secret
        podman("start", site["hosts"][PRIMARY])
        primary = _address(scenario, PRIMARY)
        assert _wait(lambda: _sessions_from(database, primary) > 0), "the primary's Orthanc did not log in"
        back = {"aws_orthweb_failover_to": "primary", "aws_orthweb_failover_health_url": site["https"] + "/system",
                "aws_orthweb_failover_ca_file": site["ca_file"]}
        assert succeeded(scenario.play("aws_orthweb_failover.yml", back))["changed"] >= 1
        secondary = _address(scenario, SECONDARY)
        podman("exec", site["hosts"][SECONDARY], "systemctl", "restart", "orthanc")
        assert _wait(lambda: _sessions_from(database, secondary) > 0), "the secondary's Orthanc did not log in"
        sent_before = len(modality.results)
        assert _wait(lambda: len(modality.results) >= sent_before + 2)  # still sending after both reloads
    failed = [(uid, code, err) for uid, code, err in modality.results if code != 0]
    assert not failed and len(modality.results) >= 3, failed
    password = _password(scenario)
    for study_uid, _, _ in modality.results:
        assert qido_study(site, password, study_uid), study_uid
