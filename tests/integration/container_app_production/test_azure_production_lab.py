"""The Azure production scenario on Container Apps in the lab (issue 17), one converge shared by the tests
(conftest.py): Orthanc answers through the ingress with its index and files in the VNet-integrated PostgreSQL, the
plugin gets its tokens through the app's managed identity (no client secret anywhere), the app's configuration holds
Key Vault references only, the DICOM service is closed to the public and reached through the workspace's private
endpoint, DICOM answers a C-ECHO through additionalPortMappings; a second converge and --check write nothing, bad
inputs are refused before any change, and the test_deployment operation passes against it. The update and the
rotation come after these (test_production_operations.py)."""
import base64
import json
import os
import re
import ssl
import time
import urllib.error
import urllib.request

import pytest

from lab.dicom_echo import c_echo

from .conftest import BAD_INPUTS, noop_requests, recap

WRITES = ("PUT", "PATCH", "POST", "DELETE")
READS = ("/sharedKeys", "/token", "/listSecrets")
GROUP = "rg-production-lab"
ARM_PATHS = {
    "app": "Microsoft.App/containerApps/orthanc",
    "environment": "Microsoft.App/managedEnvironments/cae-orthanc",
    "identity": "Microsoft.ManagedIdentity/userAssignedIdentities/id-orthanc",
    "dicom": "Microsoft.HealthcareApis/workspaces/prodlabws/dicomservices/pacs",
    "archive": "Microsoft.Storage/storageAccounts/prodlabarchive",
    "server": "Microsoft.DBforPostgreSQL/flexibleServers/prod-lab-index",
}
API = {"app": "2026-07-01", "environment": "2026-07-01", "identity": "2024-11-30", "dicom": "2024-03-31",
       "archive": "2026-09-01", "server": "2026-10-01", "endpoints": "2026-03-01"}


class Arm:
    """Reads (and listSecrets) against the lab's ARM as its admin: what the deployment left in the cloud."""

    def __init__(self, env):
        from azure.identity import ClientSecretCredential
        self.env = env
        self.credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                                 authority=env["authority_host"], disable_instance_discovery=True,
                                                 connection_verify=env["ca_bundle"])
        self.context = ssl.create_default_context(cafile=env["ca_bundle"])

    def call(self, url, method="GET", scope="https://management.azure.com/.default"):
        token = self.credential.get_token(scope).token
        request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                         headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30, context=self.context) as answer:
            return json.loads(answer.read() or b"{}")

    def resource(self, kind, suffix="", method="GET"):
        path = ("/subscriptions/%s/resourceGroups/%s/providers/%s%s" % (
            self.env["subscription_id"], GROUP, ARM_PATHS.get(kind, "Microsoft.Network/privateEndpoints"), suffix))
        return self.call("%s%s?api-version=%s" % (self.env["arm_endpoint"].rstrip("/"), path, API[kind]), method)


@pytest.fixture(scope="module")
def arm(production_lab):
    return Arm(production_lab.env)


def password(lab):
    with open(os.path.join(lab.env["lab_dir"], "production-lab", "orthanc-admin"), encoding="utf-8") as handle:
        return handle.read().strip()


def orthanc_get(lab, url, path):
    request = urllib.request.Request(url + path, headers={
        "Authorization": "Basic " + base64.b64encode(("admin:" + password(lab)).encode()).decode()})
    context = ssl.create_default_context(cafile=lab.env["ca_bundle"])
    with urllib.request.urlopen(request, timeout=20, context=context) as answer:
        return json.loads(answer.read())


def app_url(stdout):
    return re.search(r"Orthanc answers at (https://[^\s\"]+)", stdout).group(1)


def test_orthanc_answers_through_the_ingress_with_index_and_files_in_postgresql(converged, production_lab, arm):
    done, summary, _ = converged
    assert summary["failed"] == 0 and summary["changed"] > 0
    system = orthanc_get(production_lab, app_url(done.stdout), "/system")
    assert system["Name"] == "PACS (production lab)"
    assert "PostgreSQL" in system["DatabaseBackendPlugin"] and "PostgreSQL" in system["StorageAreaPlugin"]
    server = arm.resource("server")["properties"]
    assert server["network"]["delegatedSubnetResourceId"].endswith("/subnets/snet-postgres")
    assert server["network"]["privateDnsZoneArmResourceId"].endswith("/privateDnsZones/privatelink.postgres.database.azure.com")
    assert server["network"]["publicNetworkAccess"] == "Disabled"


def test_the_app_runs_in_its_vnet_with_replicas_and_the_dicom_port(converged, production_lab, arm):
    env = arm.resource("environment")["properties"]
    assert env["vnetConfiguration"]["infrastructureSubnetId"].endswith("/subnets/snet-container-apps")
    assert env["vnetConfiguration"]["internal"] is True and env["zoneRedundant"] is True
    app = arm.resource("app")["properties"]
    assert app["template"]["scale"]["minReplicas"] == 2 and app["template"]["scale"]["maxReplicas"] == 4
    mapping = app["configuration"]["ingress"]["additionalPortMappings"][0]
    assert mapping["targetPort"] == 4242
    host, port = mapping["labAddress"].split(":")
    assert c_echo(host, port, "PRODLAB") == 0


def test_only_key_vault_references_reach_the_app(converged, production_lab, arm):
    done = converged[0]
    identity = arm.resource("identity")
    secrets = arm.resource("app", "/listSecrets", method="POST")["value"]
    assert secrets and all(s.get("keyVaultUrl") and s.get("identity", "").lower() == identity["id"].lower()
                           for s in secrets), secrets
    assert "dicom-client-secret" not in {s["name"] for s in secrets}   # managed identity: no client secret at all
    env = {e["name"]: e for e in arm.resource("app")["properties"]["template"]["containers"][0]["env"]}
    for name in ("ORTHANC__REGISTERED_USERS", "ORTHANC__POSTGRESQL__PASSWORD"):
        assert "secretRef" in env[name] and "value" not in env[name]
    assert not [n for n in env if "SECRET" in n or "TOKEN" in n]
    assert password(production_lab) not in done.stdout + done.stderr


def test_the_plugin_gets_its_token_through_the_managed_identity(converged, production_lab, arm):
    status = orthanc_get(production_lab, app_url(converged[0].stdout), "/medimaging/status")
    assert status["DicomWebOAuth"]["state"] == "running", status
    principal = arm.resource("identity")["properties"]["principalId"]
    deadline = time.monotonic() + 60
    while True:
        tokens = [entry for entry in read_log(production_lab) if entry["path"] == "/msi/token"]
        if [t for t in tokens if t["status"] == 200 and t["principal"] == principal] or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert [t for t in tokens if t["status"] == 200 and t["principal"] == principal], tokens[-5:]
    # The app's identity holds DICOM Data Owner on the service, and the service is closed to the public: this machine
    # (the internet to the lab) is refused even with a valid token; replicas come through the workspace's endpoint.
    dicom = arm.resource("dicom")
    assert dicom["properties"]["publicNetworkAccess"] == "Disabled"
    assert arm.resource("archive")["properties"]["publicNetworkAccess"] == "Disabled"
    with pytest.raises(urllib.error.HTTPError) as refused:
        arm.call(dicom["properties"]["serviceUrl"].rstrip("/") + "/v2/studies",
                 scope="https://dicom.healthcareapis.azure.com/.default")
    assert refused.value.code == 403 and "public network access" in refused.value.read().decode()
    endpoints = arm.call("%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateEndpoints"
                         "?api-version=%s" % (arm.env["arm_endpoint"].rstrip("/"), arm.env["subscription_id"], GROUP,
                                              API["endpoints"]))["value"]
    groups = sorted(c["properties"]["groupIds"][0] for e in endpoints
                    for c in e["properties"]["privateLinkServiceConnections"])
    assert groups == ["blob", "healthcareworkspace", "vault"]


def read_log(lab):
    with open(lab.env["request_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_check_mode_from_empty_reports_the_plan_and_writes_nothing(check_from_empty):
    done, summary, sent = check_from_empty
    assert summary["failed"] == 0 and summary["changed"] > 0, summary
    # the server is planned in its delegated subnet (the ids ARM will give), not refused for empty ones
    assert re.search(r"Ensure the flexible server\] \*+\n(?:[^\n]*\n)?changed:", done.stdout), done.stdout[-3000:]
    assert "nothing yet: check mode before the first run" in done.stdout
    assert [r for r in sent if r[0] in WRITES and not r[1].endswith(READS)] == []


def test_a_second_converge_and_check_mode_write_nothing_and_bad_inputs_are_refused(reruns, production_lab):
    done, sent, noop_sent = reruns
    second, check = recap(done["second"].stdout), recap(done["check"].stdout)
    assert second["failed"] == 0 and second["changed"] == 0, second
    assert check["failed"] == 0 and check["changed"] == 0, check
    for label, (_, message) in BAD_INPUTS.items():
        output = done[label].stdout
        assert done[label].returncode != 0 and message in " ".join(output.split()), (label, output[-3000:])
        assert "plain-canary-8d1f" not in output + done[label].stderr
    # No run wrote anything (token requests, the workspace's sharedKeys and the app's listSecrets are POSTs that read).
    assert [r for r in sent if r[0] in WRITES and not r[1].endswith(READS)] == []
    # The no-op converge read each resource once: the vault's role assignments in one list for both grants, the
    # archive's account only by blob_archive (the app's role reuses that read to know the account is closed).
    counted = noop_requests(noop_sent, production_lab.env["subscription_id"])
    assert counted["resources_read"] > 20 and counted["read_more_than_once"] == [], counted["reads_per_resource"]
    assert counted["arm_writes"] == 0 and counted["lro_polls"] == 0, counted


def test_the_test_deployment_operation_passes(reruns, production_lab, arm):
    done, summary, sent = production_lab.operation("container_app_test_deployment")
    assert done.returncode == 0, done.stdout[-4000:]
    assert summary["changed"] == 0 and "test_deployment of orthanc" in done.stdout
    assert [r for r in sent if r[0] in WRITES and not r[1].endswith(READS) and not r[1].startswith("/dicom/")] == []
    # Through the plugin from a replica, via the workspace's private endpoint: the DICOM service stored the test
    # study (STOW) and answered its QIDO, metadata (WADO-RS) and retrieve, then deleted it, every call with the token
    # of the app's managed identity.
    assert "DICOM service through the plugin: token acquired, test study stored (STOW-RS)" in " ".join(done.stdout.split())
    assert [p for m, p in sent if m == "POST" and p.startswith("/dicom/") and p.rstrip("/").endswith("/v2/studies")]
    methods, principals, statuses = production_lab.dicom_service_leg(done.stdout)
    assert methods.get("GET", 0) >= 2 and methods.get("DELETE") == 1, methods
    assert list(principals) == [arm.resource("identity")["properties"]["principalId"]], principals
    assert statuses and max(statuses) < 300, statuses

