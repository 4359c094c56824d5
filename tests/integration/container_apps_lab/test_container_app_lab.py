"""A container app in the lab, end to end through the SDKs against a private emulator from this tree: its revisions
run as real containers of the project's Orthanc image, reached through the ingress.

One module-scoped lab and one app whose story the tests follow in order: created with a Key Vault reference (its
value is the Orthanc password the ingress test logs in with; refused until the app's identity holds the vault role),
a C-ECHO through an additional port mapping, a token from the identity endpoint inside a replica, listSecrets, a
vault closed to the public that the replica still reads through a private endpoint of its environment's VNet, a
template change making a new revision, a missing image leaving the old revision serving, a killed replica seen as
Failed then restarted, deactivate, delete leaving no container, and `lab down` removing the environment's network.
"""
import base64
import http.client
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
for path in (REPO_ROOT, os.path.join(REPO_ROOT, "tests", "integration", "azure")):
    if path not in sys.path:
        sys.path.insert(0, path)

from lab.azure.container_apps import LAB_LABEL, lab_key, remove_lab  # noqa: E402
from lab.dicom_echo import c_echo  # noqa: E402
from lab.containers import images  # noqa: E402
from lab.containers.runtime import podman, podman_json  # noqa: E402
from private_lab import private_lab  # noqa: E402

IMAGE = "localhost/medimaging/orthanc:trixie"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
GROUP = "rg-calab"
PASSWORD = "kv-" + uuid.uuid4().hex


class Clients:
    def __init__(self, env):
        from azure.identity import ClientSecretCredential
        from azure.mgmt.appcontainers import ContainerAppsAPIClient
        from azure.mgmt.authorization import AuthorizationManagementClient
        from azure.mgmt.keyvault import KeyVaultManagementClient
        from azure.mgmt.loganalytics import LogAnalyticsManagementClient
        from azure.mgmt.msi import ManagedServiceIdentityClient
        from azure.mgmt.network import NetworkManagementClient
        self.env = env
        self.credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                                 authority=env["authority_host"], disable_instance_discovery=True)
        common = dict(base_url=env["arm_endpoint"], credential_scopes=["https://management.azure.com/.default"],
                      polling_interval=0.2)
        sub = env["subscription_id"]
        self.apps = ContainerAppsAPIClient(self.credential, sub, **common)
        self.logs = LogAnalyticsManagementClient(self.credential, sub, **common)
        self.vaults = KeyVaultManagementClient(self.credential, sub, **common)
        self.authz = AuthorizationManagementClient(self.credential, sub, **common)
        self.network = NetworkManagementClient(self.credential, sub, **common)
        self.msi = ManagedServiceIdentityClient(self.credential, sub, **common)

    def resource_group(self, name, location):
        from azure.core.rest import HttpRequest
        request = HttpRequest("PUT", f"/subscriptions/{self.env['subscription_id']}/resourcegroups/{name}",
                              params={"api-version": "2024-03-01"}, json={"location": location})
        self.apps.send_request(request).raise_for_status()

    def assign(self, scope, role, principal):
        self.authz.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.env['subscription_id']}/providers/Microsoft.Authorization/"
                                f"roleDefinitions/{role}", "principalId": principal,
            "principalType": "ServicePrincipal"}})


LAB = {}  # the private lab's directory: its containers and networks carry its key


def this_lab(kind):
    """This lab's container-apps containers (podman ps entries) or networks (names)."""
    filters = ["--filter", "label=io.medimaging.lab=container-apps", "--filter", f"label={LAB_LABEL}={LAB['key']}"]
    if kind == "networks":
        return podman("network", "ls", "-q", *filters).stdout.decode().split()
    return podman_json("ps", "-a", "--format", "json", *filters)


def containers_of():
    return this_lab("containers")


@pytest.fixture(scope="module")
def world():
    images.ensure("orthanc")
    with private_lab("medimaging-calab-") as env:
        LAB["key"] = lab_key(os.path.abspath(env["lab_dir"]))
        clients = Clients(env)
        location = env["location"]
        clients.resource_group(GROUP, location)
        workspace = clients.logs.workspaces.begin_create_or_update(GROUP, "logs", {"location": location}).result()
        keys = clients.logs.shared_keys.get_shared_keys(GROUP, "logs")
        vault = clients.vaults.vaults.begin_create_or_update(GROUP, "kv-calab", {"location": location, "properties": {
            "tenantId": env["tenant_id"], "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": True}}).result()
        clients.assign(vault.id, SECRETS_OFFICER, _admin_oid(clients))
        from azure.keyvault.secrets import SecretClient
        secret = SecretClient(vault.properties.vault_uri, clients.credential, verify_challenge_resource=False)
        stored = secret.set_secret("orthanc-password", PASSWORD)
        vnet = clients.network.virtual_networks.begin_create_or_update(GROUP, "vnet", {
            "location": location, "properties": {"addressSpace": {"addressPrefixes": ["10.40.0.0/16"]}, "subnets": [
                {"name": "apps", "properties": {"addressPrefix": "10.40.0.0/23"}},
                {"name": "endpoints", "properties": {"addressPrefix": "10.40.2.0/24"}}]}}).result()
        clients.network.private_endpoints.begin_create_or_update(GROUP, "pe-vault", {
            "location": location, "properties": {"subnet": {"id": f"{vnet.id}/subnets/endpoints"},
                                                 "privateLinkServiceConnections": [{"name": "vault", "properties": {
                                                     "privateLinkServiceId": vault.id, "groupIds": ["vault"]}}]}}
        ).result()
        clients.apps.managed_environments.begin_create_or_update(GROUP, "env", {"location": location, "properties": {
            "vnetConfiguration": {"infrastructureSubnetId": f"{vnet.id}/subnets/apps"},
            "appLogsConfiguration": {"destination": "log-analytics", "logAnalyticsConfiguration": {
                "customerId": workspace.customer_id, "sharedKey": keys.primary_shared_key}}}}).result()
        uai = clients.msi.user_assigned_identities.create_or_update(GROUP, "orthanc-id", {"location": location})
        state = {"clients": clients, "location": location, "vault": vault, "secret_id": stored.id, "secrets": secret,
                 "uai": uai}
        yield state  # the environment is left to the lab's teardown
    left = this_lab("containers") + this_lab("networks")
    remove_lab(os.path.abspath(env["lab_dir"]))  # what a failed test left
    assert left == [], f"lab down must leave no container or network of its container apps: {left}"


def _admin_oid(clients):
    token = clients.credential.get_token("https://management.azure.com/.default").token
    return claims(token)["oid"]


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def app_body(world, image=IMAGE, marker="one", identity=None):
    env_id = (f"/subscriptions/{world['clients'].env['subscription_id']}/resourceGroups/{GROUP}/providers/"
              "Microsoft.App/managedEnvironments/env")
    identity = identity or {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {world["uai"].id: {}}}
    return {"location": world["location"], "identity": identity, "properties": {
        "managedEnvironmentId": env_id,
        "configuration": {
            "activeRevisionsMode": "Single",
            "ingress": {"external": True, "targetPort": 8042, "transport": "auto",
                        "additionalPortMappings": [{"targetPort": 4242, "external": True, "exposedPort": 4242}]},
            "secrets": [{"name": "orthanc-password", "keyVaultUrl": world["secret_id"], "identity": "system"},
                        {"name": "plain", "value": "plain-value"}]},
        "template": {"containers": [{
            "name": "orthanc", "image": image, "resources": {"cpu": 0.5, "memory": "1Gi"},
            "env": [{"name": "ORTHANC_PASSWORD", "secretRef": "orthanc-password"},
                    {"name": "ORTHANC__NAME", "value": f"calab-{marker}"},
                    {"name": "ORTHANC__REGISTERED_USERS", "secretRef": "users"}],
            "probes": [{"type": "Readiness", "tcpSocket": {"port": 8042}, "periodSeconds": 3,
                        "failureThreshold": 10}]}],
            "scale": {"minReplicas": 1, "maxReplicas": 2}}}}


def with_users(body):
    """The Orthanc users as a Key Vault reference would not give them (a JSON object): a plain secret built here."""
    body["properties"]["configuration"]["secrets"].append(
        {"name": "users", "value": json.dumps({"admin": PASSWORD})})
    return body


def orthanc_system(fqdn, ca_bundle, password=PASSWORD):
    request = urllib.request.Request(f"https://{fqdn}/system")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"admin:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=15, context=ssl.create_default_context(cafile=ca_bundle)) as answer:
        return json.loads(answer.read())


def test_app_runs_its_revision_behind_the_ingress(world):
    clients = world["clients"]
    vault = world["vault"]
    # The system identity exists only once the app does: create, grant the vault role, then the revision can read.
    refused = None
    try:
        clients.apps.container_apps.begin_create_or_update(GROUP, "orthanc", with_users(app_body(world))).result()
    except Exception as err:  # noqa: BLE001 - the first revision cannot read the vault yet
        refused = str(err)
    assert refused and "Key Vault Secrets User" in refused, refused
    app = clients.apps.container_apps.get(GROUP, "orthanc")
    clients.assign(vault.id, SECRETS_USER, app.identity.principal_id)
    body = with_users(app_body(world, marker="two"))
    app = clients.apps.container_apps.begin_create_or_update(GROUP, "orthanc", body).result()
    assert app.provisioning_state == "Succeeded" and app.latest_ready_revision_name == app.latest_revision_name
    assert all(s.value is None for s in app.configuration.secrets), "GET never returns secret values"
    fqdn = app.configuration.ingress.fqdn
    assert fqdn == app.latest_revision_fqdn
    system = orthanc_system(fqdn, clients.env["ca_bundle"])  # the password came from Key Vault
    assert system["Name"] == "calab-two"
    plain = http.client.HTTPConnection(*fqdn.split(":"), timeout=10)  # allowInsecure is false: redirected
    plain.request("GET", "/system")
    answer = plain.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == f"https://{fqdn}/system"
    plain.close()
    listed = {s.name: s for s in clients.apps.container_apps.list_secrets(GROUP, "orthanc").value}
    assert listed["plain"].value == "plain-value" and listed["orthanc-password"].key_vault_url == world["secret_id"]
    revisions = {r.name: r for r in clients.apps.container_apps_revisions.list_revisions(GROUP, "orthanc")}
    assert revisions[app.latest_revision_name].active and revisions[app.latest_revision_name].health_state == "Healthy"
    world.update(fqdn=fqdn, first=app.latest_revision_name, principal=app.identity.principal_id)


def test_the_dicom_port_answers_a_c_echo_through_its_additional_port_mapping(world):
    app = world["clients"].apps.container_apps.get(GROUP, "orthanc")
    host, port = app.configuration.ingress.additional_port_mappings[0]["labAddress"].split(":")
    assert c_echo(host, port, "CALAB") == 0


def identity_token(replica, extra=""):
    """The replica asks its identity endpoint, as azure-identity does in Container Apps."""
    script = ("import os,urllib.request,json;"
              "r=urllib.request.Request(os.environ['IDENTITY_ENDPOINT']+'?resource=https://vault.azure.net"
              f"&api-version=2019-08-01{extra}',headers={{'X-IDENTITY-HEADER':os.environ['IDENTITY_HEADER']}});"
              "print(urllib.request.urlopen(r,timeout=10).read().decode())")
    return json.loads(podman("exec", replica, "python3", "-c", script).stdout)["access_token"]


def test_identity_endpoint_serves_the_replica(world):
    replica = [c for c in containers_of() if c["State"] == "running"][0]["Names"][0]
    token = claims(identity_token(replica))
    assert token["oid"] == world["principal"] and token["aud"].rstrip("/") == "https://vault.azure.net"
    uai = world["uai"]
    assert claims(identity_token(replica, f"&client_id={uai.client_id}"))["oid"] == uai.principal_id
    assert claims(identity_token(replica, f"&mi_res_id={uai.id}"))["oid"] == uai.principal_id


def test_a_vault_closed_to_the_public_answers_the_replica_through_its_private_endpoint(world):
    clients, vault = world["clients"], world["vault"]
    clients.vaults.vaults.begin_create_or_update(GROUP, vault.name, {"location": world["location"], "properties": {
        "tenantId": clients.env["tenant_id"], "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": True, "publicNetworkAccess": "Disabled"}}).result()
    with pytest.raises(Exception) as caught:  # from 127.0.0.1: the public internet
        world["secrets"].get_secret("orthanc-password")
    assert "ForbiddenByConnection" in str(caught.value) or "private link" in str(caught.value)
    replica = [c for c in containers_of() if c["State"] == "running"][0]["Names"][0]
    token = identity_token(replica)
    # Verified with the image's default trust store, as on Azure (the lab gives replicas its CA in that store).
    script = ("import urllib.request,json;"
              f"s=urllib.request.Request('{vault.properties.vault_uri}secrets/orthanc-password?api-version=7.4',"
              f"headers={{'Authorization':'Bearer {token}'}});"
              "print(json.load(urllib.request.urlopen(s,timeout=10))['value'])")
    assert podman("exec", replica, "python3", "-c", script).stdout.decode().strip() == PASSWORD
    # The bundle is the system's public CAs plus the lab CA (read-only), not the lab CA alone.
    count = "print(open('/etc/ssl/certs/ca-certificates.crt').read().count('BEGIN CERTIFICATE'))"
    assert int(podman("exec", replica, "python3", "-c", count).stdout) > 50
    # PostgreSQL at its lab address too (relayed, public: it has no private endpoint of its own here): SSLRequest.
    probe = ("import socket;s=socket.create_connection(('127.0.0.1',%d),timeout=10);"
             "s.sendall(bytes([0,0,0,8,4,210,22,47]));print(s.recv(1).decode())" % clients.env["postgres_port"])
    assert podman("exec", replica, "python3", "-c", probe).stdout.decode().strip() == "S"


def test_template_change_makes_a_new_revision_and_moves_traffic(world):
    clients = world["clients"]
    app = clients.apps.container_apps.begin_create_or_update(
        GROUP, "orthanc", with_users(app_body(world, marker="three"))).result()
    assert app.latest_revision_name != world["first"] and app.latest_ready_revision_name == app.latest_revision_name
    assert orthanc_system(world["fqdn"], clients.env["ca_bundle"])["Name"] == "calab-three"
    old = clients.apps.container_apps_revisions.get_revision(GROUP, "orthanc", world["first"])
    assert not old.active and old.replicas == 0
    assert len([c for c in containers_of() if c["State"] == "running"]) == 1
    world["serving"] = app.latest_revision_name


def test_missing_image_fails_the_revision_and_the_old_one_keeps_serving(world):
    clients = world["clients"]
    with pytest.raises(Exception) as caught:
        clients.apps.container_apps.begin_create_or_update(
            GROUP, "orthanc", with_users(app_body(world, image="localhost/medimaging/orthanc:missing",
                                                  marker="four"))).result()
    assert "Failed to provision revision" in str(caught.value) and "MANIFEST_UNKNOWN" in str(caught.value)
    app = clients.apps.container_apps.get(GROUP, "orthanc")
    assert app.latest_ready_revision_name == world["serving"] != app.latest_revision_name
    failed = clients.apps.container_apps_revisions.get_revision(GROUP, "orthanc", app.latest_revision_name)
    assert failed.provisioning_state == "Failed" and failed.health_state == "Unhealthy"
    assert orthanc_system(world["fqdn"], clients.env["ca_bundle"])["Name"] == "calab-three"


def test_revision_actions_and_health_from_the_containers(world):
    clients = world["clients"]
    revisions = clients.apps.container_apps_revisions
    replica = [c for c in containers_of() if c["State"] == "running"][0]["Names"][0]
    podman("kill", replica)
    deadline = time.monotonic() + 90  # the emulator's health polling on a loaded 2-core machine
    seen = revisions.get_revision(GROUP, "orthanc", world["serving"])
    while (seen.health_state, seen.running_state) != ("Unhealthy", "Failed"):  # Degraded while it stops
        assert time.monotonic() < deadline, f"a killed replica must fail its revision, seen {seen.running_state}"
        time.sleep(0.5)
        seen = revisions.get_revision(GROUP, "orthanc", world["serving"])
    revisions.restart_revision(GROUP, "orthanc", world["serving"])
    assert revisions.get_revision(GROUP, "orthanc", world["serving"]).health_state == "Healthy"
    assert orthanc_system(world["fqdn"], clients.env["ca_bundle"])["Name"] == "calab-three"
    # Deactivated: no replica, the ingress has nothing to serve (activate runs the same start as restart).
    revisions.deactivate_revision(GROUP, "orthanc", world["serving"])
    assert not [c for c in containers_of() if c["State"] == "running"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        orthanc_system(world["fqdn"], clients.env["ca_bundle"])
    assert caught.value.code == 503


def test_delete_leaves_no_container_and_the_environment_waits_for_its_apps(world):
    clients = world["clients"]
    with pytest.raises(Exception) as caught:
        clients.apps.managed_environments.begin_delete(GROUP, "env").result()
    assert "ManagedEnvironmentHasContainerApps" in str(caught.value)
    clients.apps.container_apps.begin_delete(GROUP, "orthanc").result()
    assert containers_of() == [] and this_lab("networks"), "the app's containers go, its environment's network stays"
    # The environment and its network are left running: `lab down` (the fixture's end) must remove them.
