"""The quickstart's operations (issue 17) on the folder's one converged lab (conftest.py), in this order:
test_deployment, a good update and a broken one (rolled back) while a client counts its requests, the secrets'
rotation (the old client secret refused after it, the new one in the replica), and cleanup last
(refused without confirmation, then nothing of the scenario left). The client's counts are printed (-s)."""
import base64
import os
import re
import ssl
import threading
import time
import urllib.request

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from lab.app_registration import GRAPH_SCOPE, _graph, _token
from lab.azure.container_apps import LAB_LABEL, lab_key
from lab.containers.runtime import podman

WRITES = ("PUT", "PATCH", "POST", "DELETE")
GOOD = "localhost/medimaging/orthanc:ops-update-%d" % os.getpid()
BROKEN = "localhost/medimaging/orthanc:ops-never-listens-%d" % os.getpid()
# The project's image whose Orthanc never starts: the revision's replica runs but never passes its readiness probe.
NEVER_LISTENS = ("FROM localhost/medimaging/orthanc:trixie\n"
                 "ENTRYPOINT [\"sh\", \"-c\", \"echo this Orthanc will never listen; exec sleep infinity\"]\n")


def arm_writes(sent):
    # ARM and Graph writes: the DICOM service's data plane (/dicom/..., test_deployment's test study) is not one
    return [r for r in sent if r[0] in WRITES and not r[1].endswith(("/token", "/sharedKeys"))
            and not r[1].startswith("/dicom/")]


@pytest.fixture(scope="module")
def app(converged, quickstart_lab, tmp_path_factory):
    """URL, login and TLS context of the converged app; the update's images, removed after."""
    with open(os.path.join(quickstart_lab.env["lab_dir"], "quickstart-lab", "orthanc-admin"), encoding="utf-8") as fh:
        password = fh.read().strip()
    podman("tag", "localhost/medimaging/orthanc:trixie", GOOD)
    context = tmp_path_factory.mktemp("never-listens")
    (context / "Containerfile").write_text(NEVER_LISTENS, encoding="utf-8")
    podman("build", "-q", "-t", BROKEN, str(context))
    try:
        yield {"url": re.search(r"Orthanc answers at (https://[^\s\"]+)", converged[0].stdout).group(1),
               "auth": "Basic " + base64.b64encode(("admin:" + password).encode()).decode(),
               "tls": ssl.create_default_context(cafile=quickstart_lab.env["ca_bundle"])}
    finally:
        podman("rmi", GOOD, BROKEN, check=False)


def ask(app, path="/system", timeout=10):
    request = urllib.request.Request(app["url"] + path, headers={"Authorization": app["auth"]})
    with urllib.request.urlopen(request, timeout=timeout, context=app["tls"]) as answer:
        return answer.status


class Client(threading.Thread):
    """Asks Orthanc's /system through the ingress every 50 ms until stopped; keeps each outcome in order."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.outcomes, self.errors, self.done = app, [], [], threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                # 5 s: a request the lab's ingress sends to a removed replica hangs (see the update tests)
                self.outcomes.append(ask(self.app, timeout=5) == 200)
            except Exception as err:  # noqa: BLE001 - every failure counts, whatever its kind
                self.outcomes.append(False)
                self.errors.append("%.1f s: %r" % (time.monotonic() - self.started, err))
            time.sleep(0.05)

    def start(self):
        self.started = time.monotonic()
        super().start()

    @property
    def ok(self):
        return self.outcomes.count(True)

    @property
    def failed(self):
        return self.outcomes.count(False)

    def gaps(self):
        """How many runs of failed requests (each a moment when no revision answered)."""
        return sum(1 for before, now in zip([True] + self.outcomes, self.outcomes) if before and not now)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        print("playbook ended at %.1f s" % (time.monotonic() - self.started))
        # keep asking until the app has answered 20 times in a row after the playbook (at most 30 s)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(self.outcomes) < 20 or not all(self.outcomes[-20:])):
            time.sleep(0.1)
        self.done.set()
        self.join(15)


def test_test_deployment_passes_and_changes_nothing(app, quickstart_lab, reruns):
    done, summary, sent = quickstart_lab.operation("container_app_test_deployment")
    assert done.returncode == 0, done.stdout[-5000:]
    assert summary["changed"] == 0 and summary["failed"] == 0, summary
    assert "test_deployment of orthanc at %s: passed" % app["url"] in done.stdout
    assert re.search(r"test study [0-9.]+ stored,\s+found\s+by\s+QIDO", done.stdout)
    assert arm_writes(sent) == []
    # Through the plugin from the replica: the DICOM service got the study (STOW) and answered its QIDO, metadata
    # (WADO-RS) and retrieve, then deleted it; every call carried the plugin's token (the app registration's, not the
    # lab admin's).
    assert "DICOM service through the plugin: token acquired, test study stored (STOW-RS)" in " ".join(done.stdout.split())
    assert [p for m, p in sent if m == "POST" and p.startswith("/dicom/") and p.rstrip("/").endswith("/v2/studies")]
    methods, principals, statuses = quickstart_lab.dicom_service_leg(done.stdout)
    assert methods.get("GET", 0) >= 2 and methods.get("DELETE") == 1, methods
    assert len(principals) == 1 and quickstart_lab.env["principal_id"] not in principals, principals
    assert statuses and max(statuses) < 300, statuses
    # the test study is gone again
    request = urllib.request.Request(app["url"] + "/studies", headers={"Authorization": app["auth"]})
    with urllib.request.urlopen(request, timeout=10, context=app["tls"]) as answer:
        assert answer.read().strip() == b"[]"


def test_a_good_update_moves_to_a_new_revision_without_a_failed_request(app, quickstart_lab):
    with Client(app) as client:
        done, summary, sent = quickstart_lab.operation("container_app_update_orthanc",
                                                       "-e", "orthanc_container_app_image=" + GOOD, label="update")
    print("good update: %d requests answered, %d failed in %d gap(s): %s" % (
        client.ok, client.failed, client.gaps(), client.errors[:1] + client.errors[-1:]))
    assert done.returncode == 0, done.stdout[-5000:]
    assert summary["changed"] >= 1
    assert re.search(r"update_orthanc: revision orthanc--\w+ serves image\s+%s" % re.escape(GOOD), done.stdout)
    assert [p for m, p in arm_writes(sent) if m == "PUT" and "/containerApps/" in p]
    # The old revision answered all the while the new one started, and no request failed at the switch: traffic
    # moves to the new revision before the old one stops (as Azure switches).
    assert client.outcomes[:1] == [True] and client.failed == 0, client.errors


def test_a_broken_image_rolls_back_and_the_old_revision_keeps_answering(app, quickstart_lab):
    with Client(app) as client:
        done, summary, _ = quickstart_lab.operation("container_app_update_orthanc",
                                                    "-e", "orthanc_container_app_image=" + BROKEN, label="rollback")
    print("broken update: %d requests answered, %d failed in %d gap(s): %s" % (
        client.ok, client.failed, client.gaps(), client.errors[:1] + client.errors[-1:]))
    assert done.returncode != 0 and summary["failed"] == 1
    message = re.search(r"update_orthanc: revision (orthanc--\w+) \(image\s+(\S+)\)\s+failed: (.*?) Fix the cause",
                        " ".join(done.stdout.split()))
    assert message and message.group(2) == BROKEN, done.stdout[-5000:]
    assert "did not become ready" in message.group(3) or "probe" in message.group(3), message.group(3)
    # the lab says what the replica printed (Azure would point at Log Analytics)
    assert "printed: this Orthanc will never listen" in message.group(3), message.group(3)
    assert "(image %s, the last good one) took over" % GOOD in " ".join(done.stdout.split())
    # The old revision answered while the broken one failed its probe, and through the rollback's switch.
    assert client.outcomes[:1] == [True] and client.failed == 0, client.errors
    assert ask(app) == 200


def token_answer(env, client_id, secret):
    """The lab's Entra ID token endpoint's status for the plugin's client credentials."""
    import requests
    return requests.post("%s/%s/oauth2/v2.0/token" % (env["authority_host"], env["tenant_id"]), timeout=30,
                         verify=env["ca_bundle"], data={"grant_type": "client_credentials", "client_id": client_id,
                                                        "client_secret": secret, "scope": GRAPH_SCOPE}).status_code


def replica_secrets(env):
    """The client secret each running replica of this lab received (Key Vault reference resolved), in order."""
    names = podman("ps", "-q", "--filter", "label=%s=%s" % (LAB_LABEL, lab_key(env["lab_dir"]))).stdout.decode().split()
    found = []
    for name in names:
        for line in podman("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", name).stdout.decode().splitlines():
            if line.startswith("ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE__CLIENT_SECRET="):
                found.append(line.split("=", 1)[1])
    return found


def test_rotation_moves_the_app_to_a_new_client_secret_and_the_old_one_stops_working(app, quickstart_lab):
    env = quickstart_lab.env
    path = os.path.join(env["lab_dir"], "quickstart-lab", "orthanc-rg-quickstart-lab.secret")
    with open(path, encoding="utf-8") as handle:
        old = handle.read()
    with Client(app) as client:
        done, summary, sent = quickstart_lab.operation("container_app_rotate_secrets", label="rotate")
    print("rotation: %d requests answered, %d failed in %d gap(s): %s" % (
        client.ok, client.failed, client.gaps(), client.errors[:1] + client.errors[-1:]))
    assert done.returncode == 0, done.stdout[-5000:]
    with open(path, encoding="utf-8") as handle:
        new = handle.read()
    assert new and new != old
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr  # never printed
    text = " ".join(done.stdout.split())
    rotated = re.search(r"rotate_secrets: revision (orthanc--rot\d+) serves .*?client secret ([0-9a-f-]{36}) in use, "
                        r"(\d+) old one\(s\) removed", text)
    assert rotated and rotated.group(3) == "1", text[-3000:]
    # The new revision's replica got the new value from Key Vault; no replica runs with the old one.
    held = replica_secrets(env)
    assert held and all(value == new for value in held), "replicas: %d, with the new secret: %d" % (
        len(held), sum(value == new for value in held))
    # Entra ID: the old secret is refused, the new one gets a token.
    app_id = plugin_app_id(env)
    assert token_answer(env, app_id, new) == 200
    assert token_answer(env, app_id, old) in (400, 401)
    # Writes: one addPassword, one removePassword, the vault's new version, the app's PUT.
    writes = arm_writes(sent)
    assert [p for m, p in writes if p.endswith("/addPassword")] and [p for m, p in writes if p.endswith("/removePassword")]
    assert [p for m, p in writes if "/containerApps/" in p]
    assert client.outcomes[:1] == [True] and client.failed == 0, client.errors
    assert ask(app) == 200


def plugin_app_id(env):
    token = _token(env)
    apps = _graph(env, token, "GET", "/applications").json()["value"]
    return [a["appId"] for a in apps if a["displayName"] == "orthanc-rg-quickstart-lab"][0]


def test_cleanup_refuses_without_confirmation_then_leaves_nothing(app, quickstart_lab):
    done, summary, sent = quickstart_lab.operation("container_app_cleanup", label="cleanup-refused")
    assert done.returncode != 0 and "cleanup: nothing was deleted" in done.stdout
    assert "-e cleanup_confirm=rg-quickstart-lab" in done.stdout and "container app orthanc" in done.stdout
    assert arm_writes(sent) == [] and summary["changed"] == 0

    done, summary, _ = quickstart_lab.operation("container_app_cleanup", "-e", "cleanup_confirm=rg-quickstart-lab",
                                                label="cleanup")
    assert done.returncode == 0, done.stdout[-5000:]
    env = quickstart_lab.env
    credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                        authority=env["authority_host"], disable_instance_discovery=True,
                                        connection_verify=env["ca_bundle"])
    arm = ResourceManagementClient(credential, env["subscription_id"], base_url=env["arm_endpoint"],
                                   credential_scopes=["https://management.azure.com/.default"],
                                   connection_verify=env["ca_bundle"])
    assert not arm.resource_groups.check_existence("rg-quickstart-lab")
    left = [r.id for r in arm.resources.list()]
    print("left in the subscription: %s" % left)
    # the lab's own admin role assignment and the vault's soft-deleted record (purge protection) stay; nothing else
    assert [i for i in left if "roleassignments/" not in i.lower() and "/deletedvaults/kv-qs-lab" not in i.lower()] == []
    assert [i for i in left if "rg-quickstart-lab" in i.lower()] == []
    secrets_dir = os.path.join(env["lab_dir"], "quickstart-lab")
    assert [name for name in os.listdir(secrets_dir) if name.endswith(".secret")] == []
    left = podman("ps", "-a", "-q", "--filter", "label=%s=%s" % (LAB_LABEL, lab_key(env["lab_dir"])))
    assert left.stdout.decode().split() == []
    with pytest.raises(OSError):
        ask(app)
