"""The production scenario's update and rotation (issue 17) on the folder's one converge, after the tests of
test_azure_production_lab.py (they need the converged state), in this order: a good update while a client counts
its requests (2-4 replicas: the old revision serves until the new one is ready), then the PostgreSQL password's
rotation under the same counting client. The client asks /statistics, which reads the PostgreSQL index
(conftest.py). Counts are printed (-s)."""
import base64
import os
import re
import ssl

import pytest

from lab.containers.runtime import podman

from .conftest import clients
from .test_azure_production_lab import READS, WRITES, app_url, arm, orthanc_get, password  # noqa: F401 - arm: fixture

GOOD = "localhost/medimaging/orthanc:prod-update-%d" % os.getpid()


def arm_writes(sent):
    return [r for r in sent if r[0] in WRITES and not r[1].endswith(READS)]


@pytest.fixture(scope="module")
def app(converged, production_lab):
    """URL, login and TLS context of the converged app for the counting client; the update's tag, removed after."""
    podman("tag", "localhost/medimaging/orthanc:trixie", GOOD)
    try:
        yield {"url": app_url(converged[0].stdout),
               "auth": "Basic " + base64.b64encode(("admin:" + password(production_lab)).encode()).decode(),
               "tls": ssl.create_default_context(cafile=production_lab.env["ca_bundle"])}
    finally:
        podman("rmi", GOOD, check=False)


def counted(client, what):
    print("%s: %d requests answered, %d failed in %d gap(s): %s" % (
        what, client.ok, client.failed, client.gaps(), client.errors[:1] + client.errors[-1:]))


def test_a_good_update_with_two_replicas_fails_no_request(reruns, app, production_lab, arm):
    before = arm.resource("app")["properties"]
    assert before["template"]["scale"]["minReplicas"] >= 2
    with clients.Client(app) as client:
        done, summary, sent = production_lab.operation("container_app_update_orthanc",
                                                       "-e", "orthanc_container_app_image=" + GOOD, label="update")
    counted(client, "good update")
    assert done.returncode == 0, done.stdout[-5000:]
    assert summary["changed"] >= 1 and summary["failed"] == 0
    served = re.search(r"update_orthanc: revision (orthanc--\w+) serves image\s+%s" % re.escape(GOOD), done.stdout)
    assert served, done.stdout[-3000:]
    assert [p for m, p in arm_writes(sent) if m == "PUT" and "/containerApps/" in p]
    # The new revision is the one ARM reports ready, with the new image, and Orthanc answers through it.
    after = arm.resource("app")["properties"]
    assert after["latestReadyRevisionName"] == served.group(1) != before["latestReadyRevisionName"]
    assert after["template"]["containers"][0]["image"] == GOOD
    assert "PostgreSQL" in orthanc_get(production_lab, app["url"], "/system")["DatabaseBackendPlugin"]
    # Every request answered: the old revision's replicas served until the new ones were ready.
    assert len(client.outcomes) > 20 and client.failed == 0, client.errors


def pg_login(lab, secret):
    """Whether the scenario's PostgreSQL login accepts this password (the lab's real server)."""
    import psycopg2
    try:
        psycopg2.connect(host=lab.env["postgres_host"], port=lab.env["postgres_port"], user="orthanc_prod",
                         password=secret, dbname="orthanc_prod", connect_timeout=10).close()
        return True
    except psycopg2.OperationalError:
        return False


def test_rotation_moves_the_app_to_a_new_postgresql_password_without_a_failed_request(app, production_lab, arm):
    """Last (it changes the password): the inventory's vault gets a new one, rotate_secrets applies it to the server
    and Key Vault, a new revision logs in with it, and the old one is refused. Between the server's change and the
    new revision the old revision's replicas keep their open index sessions (see the role's README: a new login
    of theirs would fail there)."""
    path = os.path.join(production_lab.env["lab_dir"], "production-lab", "pg-password")
    with open(path, encoding="utf-8") as handle:
        old = "Pg1" + handle.read().strip()
    assert pg_login(production_lab, old)
    fresh = base64.b32encode(os.urandom(15)).decode().lower()   # letters and digits, as the inventory's lookup makes
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(fresh + "\n")
    new = "Pg1" + fresh
    before = arm.resource("app")["properties"]["latestReadyRevisionName"]
    with clients.Client(app) as client:
        done, _, sent = production_lab.operation("container_app_rotate_secrets", label="rotate")
    counted(client, "PostgreSQL rotation")
    assert done.returncode == 0, done.stdout[-5000:]
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr   # never printed
    text = " ".join(done.stdout.split())
    assert re.search(r"rotate_secrets: revision orthanc--rot\d+ serves .*PostgreSQL password applied to prod-lab-index",
                     text), text[-3000:]
    assert pg_login(production_lab, new) and not pg_login(production_lab, old)
    # The new revision started Orthanc on its PostgreSQL index with the new password (Orthanc does not start when the
    # login fails) and serves; the old revision is gone.
    after = arm.resource("app")["properties"]["latestReadyRevisionName"]
    assert after != before and after.startswith("orthanc--rot")
    assert "PostgreSQL" in orthanc_get(production_lab, app["url"], "/system")["DatabaseBackendPlugin"]
    assert [p for m, p in arm_writes(sent) if "/flexibleServers/prod-lab-index" in p and m == "PATCH"]
    assert len(client.outcomes) > 20 and client.failed == 0, client.errors
