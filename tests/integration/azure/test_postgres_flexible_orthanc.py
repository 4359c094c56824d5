"""The postgres_flexible role, run by ansible-playbook against the lab, yields a server that is Orthanc's index.

The role publishes host, port, database and Orthanc's PostgreSQL settings; a real Orthanc (PostgreSQL index
plugin 4.0) started from exactly those settings (plus the password, which the role never prints) stores its
index in that database over TLS. ARM reports no port for a flexible server (Azure listens on 5432), so the test
gives the role the lab cluster's port through postgres_flexible_port, as inventories/local does.
"""
import json
import os
import uuid

import psycopg
import pytest
import requests

from lab.dicom_factory import make_instance
from lab.orthanc import OrthancProcess
from lab_runner import run
from playbook_runner import azure_environment, run_playbook

PLUGIN = "/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so"


@pytest.mark.skipif(not os.path.exists(PLUGIN), reason="Orthanc's PostgreSQL plugin is not installed (make setup)")
def test_role_server_is_orthanc_index(azure_lab, lab_auth, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    group, password = "rg-it-pg-%s" % suffix, "It-Pg-%s-Passw0rd!" % uuid.uuid4().hex[:8]
    outputs_file = str(tmp_path / "outputs.json")
    extra = {
        "azure_environment": azure_environment(azure_lab), "scenario_resource_group": group,
        "scenario_outputs_file": outputs_file,
        "postgres_flexible_resource_group": group, "postgres_flexible_location": azure_lab["location"],
        # The lab shares one cluster: login and database names must be unique across servers.
        "postgres_flexible_server_name": "it-index-%s" % suffix, "postgres_flexible_admin_login": "idx%s" % suffix,
        "postgres_flexible_database": "orthanc_%s" % suffix, "postgres_flexible_admin_password": password,
        "postgres_flexible_network_mode": "public",
        "postgres_flexible_firewall_rules": [{"name": "controller", "start_ip_address": "127.0.0.1"}],
        "postgres_flexible_port": azure_lab["postgres_port"],
    }
    orthanc = None
    try:
        done = run_playbook("postgres_flexible.yml", extra, str(tmp_path))
        assert password not in done.stdout and password not in done.stderr, "the role printed the password"
        with open(outputs_file, encoding="utf-8") as handle:
            out = json.load(handle)
        settings = out["orthanc_settings"]
        assert out["host"] == settings["Host"] == azure_lab["postgres_host"]
        assert int(out["port"]) == int(settings["Port"]) == azure_lab["postgres_port"]
        assert out["database"] == settings["Database"] == extra["postgres_flexible_database"]
        assert settings["Username"] == extra["postgres_flexible_admin_login"]
        assert settings["EnableSsl"] is True and settings["EnableIndex"] is True and "Password" not in settings

        # Plugin 4.0 knows EnableSsl (libpq sslmode=require) or a ConnectionUri; with require, libpq verifies the
        # server against PGSSLROOTCERT when that file exists (verify-ca), so the lab CA is given that way.
        config = {"PostgreSQL": dict(settings, Port=int(settings["Port"]), Password=password, Lock=False)}
        orthanc = OrthancProcess(str(tmp_path / "orthanc"), config=config, plugins=[PLUGIN], name="pg-index",
                                 env={"PGSSLROOTCERT": azure_lab["lab_ca_cert"]})
        orthanc.start(timeout=60)
        stored = requests.post(orthanc.url + "/instances", data=make_instance(patient_id="PGROLE%s" % suffix),
                               timeout=30)
        assert stored.status_code == 200 and stored.json()["Status"] == "Success", stored.text

        with psycopg.connect(host=out["host"], port=int(out["port"]), dbname=out["database"],
                             user=settings["Username"], password=password, sslmode="verify-full",
                             sslrootcert=azure_lab["lab_ca_cert"], connect_timeout=10) as conn:
            instances = conn.execute("SELECT count(*) FROM resources WHERE resourcetype = 3").fetchone()[0]
            patients = conn.execute("SELECT count(*) FROM resources WHERE resourcetype = 0").fetchone()[0]
            # Orthanc's own sessions to this database, each over TLS.
            sessions = conn.execute(
                "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid "
                "WHERE a.datname = %s AND a.pid <> pg_backend_pid()", (out["database"],)).fetchall()
        assert (instances, patients) == (1, 1)
        assert sessions and all(row[0] for row in sessions), sessions
    finally:
        if orthanc is not None:
            orthanc.stop()
        run("azure_resource_group", {"name": group, "state": "absent", "force_delete_nonempty": True}, lab_auth)
