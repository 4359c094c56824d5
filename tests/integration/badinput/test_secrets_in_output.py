"""No secret in any output (issue 11, part 4): the roles run with --diff -vvv; canary secrets never show, the diff
still shows what changed.

orthanc_host: the role's tasks that write secrets (plugin.yml, config.yml: orthanc.json with the plugin's sections,
peers and servers, orthanc.env) run on this machine, then every secret rotated (old and new values must both stay
hidden), then a check-mode run with yet other values.
Azure roles: each run against closed ports on 127.0.0.1 with a canary client secret (and admin password); the run
fails at its first Azure call, and neither the -vvv command lines nor the error may carry a secret.
"""
import secrets

import pytest

from secrets_output_harness import (  # noqa: E402  (the helper puts the harnesses on sys.path)
    AZURE_PLAYBOOK, LOUD, ConfigOnlyHost, HostCanaries, azure_lab_fixture, azure_role_vars, canary, found,
    host_skip_reason, output_of, run_local_playbook, where)
from playbook_runner import azure_environment  # noqa: E402

RUNS = ("deploy", "rotate", "check")
USER = "sec-admin"
DATABASE = "orthanc"
# The role's inputs besides the secrets (HostCanaries.role_vars) and the folders (ConfigOnlyHost).
BASE_VARS = {"orthanc_host_state": "present", "orthanc_host_instance": "secrets", "orthanc_host_dicom_aet": "SECRETSPACS",
             "orthanc_host_postgresql_host": "127.0.0.1", "orthanc_host_postgresql_port": 5432,
             "orthanc_host_postgresql_database": DATABASE, "orthanc_host_postgresql_user": DATABASE,
             # what platform.yml would load from vars/Debian-12.yml (the full role is not run here)
             "orthanc_host_plugin_python": "/usr/bin/python3"}


@pytest.fixture(scope="module")
def host_runs(tmp_path_factory):
    """{run: output} of three --diff -vvv runs of orthanc_host's secret-bearing tasks, the canaries, the files."""
    reason = host_skip_reason()
    if reason:
        pytest.skip(reason)
    host = ConfigOnlyHost(str(tmp_path_factory.mktemp("secrets-host")))
    canaries = HostCanaries()
    outputs = {}

    def run(label, client_id, stable_age, flags=LOUD):
        done = host.run_role(dict(BASE_VARS, **canaries.role_vars(USER, client_id, stable_age)), label, flags)
        outputs[label] = output_of(done)
        assert done.returncode == 0, "%s run failed:\n%s" % (label, outputs[label][-6000:])

    run("deploy", "app-id-1", 60)
    canaries.rotate()
    run("rotate", "app-id-2", 61)
    rotated = dict(canaries.current)
    canaries.rotate()
    run("check", "app-id-3", 62, flags=LOUD + ("--check",))
    return {"outputs": outputs, "canaries": canaries, "files": host.files_text(), "rotated": rotated}


@pytest.mark.parametrize("kind", HostCanaries.KINDS)
@pytest.mark.parametrize("run", RUNS)
def test_orthanc_host_output_holds_no_secret(host_runs, run, kind):
    every = host_runs["canaries"].every()
    mine = dict((name, value) for name, value in every.items() if name.split("@")[0] == kind)
    text = host_runs["outputs"][run]
    assert found(text, mine) == [], "printed by the %s run (--diff -vvv):\n%s" % (run, where(text, mine))


def test_orthanc_host_files_hold_the_rotated_secrets(host_runs):
    """The canaries really were deployed (else no hit would prove nothing), and the check run wrote nothing."""
    text = host_runs["files"]
    assert found(text, host_runs["rotated"]) == sorted(host_runs["rotated"])
    assert found(text, host_runs["canaries"].current) == []


def test_orthanc_host_diff_still_shows_what_changed(host_runs):
    rotate = host_runs["outputs"]["rotate"]
    assert '"StableAge": 61' in rotate and '"StableAge": 60' in rotate  # orthanc.json, non-secret change
    assert "AZURE_CLIENT_ID=app-id-2" in rotate and "AZURE_CLIENT_ID=app-id-1" in rotate  # orthanc.env
    assert "AZURE_CLIENT_SECRET=********~" in rotate  # a rotated secret shows as a changed fingerprint
    assert '"site": [' in rotate and '"peer",' in rotate  # list-form peers: URL and user name stay
    check = host_runs["outputs"]["check"]
    assert '"StableAge": 62' in check, check[-4000:]


AZURE_CASES = [("azure_dicom", "present"), ("azure_dicom", "absent"), ("blob_archive", "present"),
               ("blob_archive", "absent"), ("postgres_flexible", "present"), ("postgres_flexible", "absent")]


@pytest.mark.parametrize("role, state", AZURE_CASES, ids=["%s-%s" % case for case in AZURE_CASES])
def test_azure_role_output_holds_no_secret(tmp_path, role, state):
    values = {"client_secret": canary("client_secret"), "admin_password": canary("admin_password")}
    extra = azure_role_vars(role, state, values["client_secret"], values["admin_password"])
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    done = run_local_playbook(AZURE_PLAYBOOK, extra, str(workdir), role + "-" + state, 300, args=LOUD)
    text = output_of(done)
    assert "AnsiballZ_azure_" in text, "the role never ran an Azure module:\n" + text[-4000:]
    assert done.returncode != 0, "closed ports must fail the run:\n" + text[-4000:]
    assert found(text, values) == [], "printed by %s (%s, --diff -vvv):\n%s" % (role, state, where(text, values))


azure_lab = azure_lab_fixture()


def test_postgres_flexible_against_the_lab_prints_no_secret(azure_lab, tmp_path):
    """A real converge (the lab's ARM and Entra ID emulator, a real PostgreSQL behind the server): the lab's client
    secret and a canary admin password never show in --diff -vvv, while the run reports what it created."""
    suffix = secrets.token_hex(3)
    password = canary("admin_password") + "-Aa1!"
    extra = {"azure_environment": azure_environment(azure_lab), "secrets_role": "medimaging.orthanc.postgres_flexible",
             "secrets_resource_group": "rg-secrets-" + suffix, "secrets_location": azure_lab["location"],
             "postgres_flexible_resource_group": "rg-secrets-" + suffix, "postgres_flexible_location": azure_lab["location"],
             "postgres_flexible_server_name": "secrets-" + suffix, "postgres_flexible_admin_login": "sec" + suffix,
             "postgres_flexible_database": "orthanc_sec_" + suffix, "postgres_flexible_admin_password": password,
             "postgres_flexible_network_mode": "public", "postgres_flexible_port": azure_lab["postgres_port"]}
    done = run_local_playbook(AZURE_PLAYBOOK, extra, str(tmp_path), "secrets-pg", 600, args=LOUD)
    text = output_of(done)
    assert done.returncode == 0, text[-6000:]
    values = {"lab client secret": azure_lab["client_secret"], "admin password": password}
    assert found(text, values) == [], where(text, values)
    assert "secrets-" + suffix in text and "changed: [localhost]" in text  # the run did report what it created
