"""Managed identity and workload identity, end to end: the plugin's DicomWebOAuth providers against the lab's
Azure emulator (lab/azure), whose DICOM service is a real Orthanc behind a token + RBAC check.

- Managed identity, App Service shape: the emulator registers a "host" (a Container App with two user-assigned
  identities) and answers IDENTITY_ENDPOINT/IDENTITY_HEADER; the on-prem Orthanc gets them in its environment,
  chooses the identity by AZURE_CLIENT_ID (or a server's ClientId). Only the identity holding DICOM Data Owner
  on the DICOM service may store; the other one authenticates but is refused (403), nothing stored.
- Workload identity: a user-assigned identity with a federated credential trusting the lab OIDC issuer (the
  cluster's service-account issuer in AKS); the test writes the service-account token into
  AZURE_FEDERATED_TOKEN_FILE and rotates it; the plugin re-reads the file at each exchange.

One lab per module, in its own LAB_DIR, with 20 s access tokens (LAB_TOKEN_LIFETIME) so that the plugin's
scheduled refresh happens within the test. Everything listens on 127.0.0.1 and is stopped by PID.
"""
import io
import json
import os
import shutil
import tempfile
import time
import uuid
from datetime import datetime

import jwt
import pydicom
import pytest
import requests
from plugin_harness import PLUGIN_DIR, plugin_site_packages

from lab.cli import Lab
from lab.dicom_factory import make_study
from lab.orthanc import OrthancProcess

TOKEN_LIFETIME = 20  # seconds, every token the emulator issues in this module's lab
MARGIN = 8.0  # plugin refresh margin: a refresh about 12 s after each acquisition
LOCATION = "westeurope"
MGMT = "https://management.azure.com/.default"
DICOM_RESOURCE = "https://dicom.healthcareapis.azure.com"
DICOM_DATA_OWNER = "58a3b984-7adf-4c20-983a-32417c86fbc8"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
SERVICE_ACCOUNT = "system:serviceaccount:pacs:orthanc"


# ---- the lab -------------------------------------------------------------------------------------------------
class IdentityLab:
    """The emulator of a private lab, seen as the hospital's cloud team sees Azure (ARM, Entra) plus the lab's
    own endpoints (managed-identity hosts, OIDC issuer)."""

    def __init__(self, lab):
        self.lab = lab
        self.env = lab.env()
        from azure.identity import ClientSecretCredential
        self.admin = ClientSecretCredential(self.env["tenant_id"], self.env["client_id"], self.env["client_secret"],
                                            authority=self.env["authority_host"], disable_instance_discovery=True)
        self.ca = self.env["lab_ca_cert"]
        self.base = self.env["arm_endpoint"]

    def mgmt(self, cls):
        return cls(self.admin, self.env["subscription_id"], base_url=self.base, credential_scopes=[MGMT],
                   connection_verify=self.env["ca_bundle"])

    def _admin_headers(self):
        return {"Authorization": "Bearer " + self.admin.get_token(MGMT).token}

    def role_definition(self, guid):
        return f"/subscriptions/{self.env['subscription_id']}/providers/Microsoft.Authorization/roleDefinitions/{guid}"

    def grant(self, scope, principal_id, role=DICOM_DATA_OWNER):
        from azure.mgmt.authorization import AuthorizationManagementClient
        self.mgmt(AuthorizationManagementClient).role_assignments.create(
            scope, str(uuid.uuid4()), {"role_definition_id": self.role_definition(role), "principal_id": principal_id,
                                       "principal_type": "ServicePrincipal"})

    def user_assigned_identity(self, group, name):
        from azure.mgmt.msi import ManagedServiceIdentityClient
        return self.mgmt(ManagedServiceIdentityClient).user_assigned_identities.create_or_update(
            group, name, {"location": LOCATION})

    def federate(self, group, identity_name, credential_name, issuer, subject):
        from azure.mgmt.msi import ManagedServiceIdentityClient
        self.mgmt(ManagedServiceIdentityClient).federated_identity_credentials.create_or_update(
            group, identity_name, credential_name,
            {"properties": {"issuer": issuer, "subject": subject, "audiences": [EXCHANGE_AUDIENCE]}})

    def register_msi_host(self, resource_id):
        """IDENTITY_ENDPOINT and IDENTITY_HEADER of a lab host resource (App Service / Container Apps shape)."""
        answer = requests.post(f"{self.base}/_lab/managed-identity-hosts", json={"resourceId": resource_id},
                               headers=self._admin_headers(), verify=self.ca, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def service_account_token(self, issuer, subject, lifetime=3600):
        """A projected service-account token as the cluster's issuer would mint it: (token, claims)."""
        answer = requests.post(f"{issuer}/token", json={"subject": subject, "lifetime": lifetime},
                               headers=self._admin_headers(), verify=self.ca, timeout=30)
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        return token, jwt.decode(token, options={"verify_signature": False})

    def token_endpoint(self):
        return f"{self.env['authority_host']}/{self.env['tenant_id']}/oauth2/v2.0/token"

    def exchange(self, client_id, assertion):
        """The workload identity exchange done by hand: Entra's answer to a client assertion."""
        return requests.post(self.token_endpoint(), verify=self.ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": client_id, "scope": DICOM_RESOURCE + "/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})

    def requests_since(self, since):
        with open(self.env["request_log"], encoding="utf-8") as handle:
            return [e for e in map(json.loads, handle) if e["ts"] >= since]


@pytest.fixture(scope="module")
def identity_lab():
    if not plugin_site_packages():
        pytest.fail("plugin venv missing: /usr/bin/python3.11 -m venv .cache/plugin-venv && "
                    ".cache/plugin-venv/bin/pip install -r files/orthanc-plugin/requirements.txt")
    base = tempfile.mkdtemp(prefix="medimaging-idlab-")
    os.chmod(base, 0o755)  # the 'postgres' account must reach its data folder
    the_lab = Lab(os.path.join(base, "lab"))
    saved = {name: os.environ.get(name) for name in ("LAB_TOKEN_LIFETIME", "REQUESTS_CA_BUNDLE")}
    try:
        os.environ["LAB_TOKEN_LIFETIME"] = str(TOKEN_LIFETIME)  # read by the emulator at its start
        the_lab.up()
        os.environ["REQUESTS_CA_BUNDLE"] = the_lab.env()["ca_bundle"]  # for the SDK clients' requests
        yield IdentityLab(the_lab)
    finally:
        the_lab.down()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def dicom_service(identity_lab):
    """A resource group, a Health Data Services workspace and its DICOM service (a real Orthanc)."""
    from azure.mgmt.healthcareapis import HealthcareApisManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    group = "rg-identities-" + uuid.uuid4().hex[:6]
    identity_lab.mgmt(ResourceManagementClient).resource_groups.create_or_update(group, {"location": LOCATION})
    hc = identity_lab.mgmt(HealthcareApisManagementClient)
    hc.workspaces.begin_create_or_update(group, "wsid", {"location": LOCATION}).result()
    service = hc.dicom_services.begin_create_or_update(group, "wsid", "pacs", {"location": LOCATION}).result()
    assert service.provisioning_state == "Succeeded"
    assert service.service_url == f"{identity_lab.base}/dicom/wsid-pacs"
    return {"group": group, "id": service.id, "url": service.service_url,
            "path": "/dicom/wsid-pacs/v2/studies"}


@pytest.fixture
def onprem(identity_lab, tmp_path):
    """onprem(name, servers, env) -> a started on-prem Orthanc with the medimaging plugin; stopped by PID."""
    started = []

    def start(name, servers, env):
        admin = ("admin", uuid.uuid4().hex)
        entry = os.path.join(PLUGIN_DIR, "entrypoint.py")
        config = {
            "Name": name, "AuthenticationEnabled": True, "RegisteredUsers": {admin[0]: admin[1]},
            "Python": {"Path": entry}, "PythonScript": entry,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "HttpsCACertificates": identity_lab.ca,  # Orthanc's own DICOMweb client reaches the emulator
            "DicomWebOAuth": {
                "RefreshMarginSeconds": MARGIN, "RefreshJitterSeconds": 0.5, "RetryMinSeconds": 0.5,
                "RetryMaxSeconds": 2, "PermanentErrorRetrySeconds": 900, "HttpTimeoutSeconds": 5,
                "CaBundle": identity_lab.ca, "Servers": servers},
        }
        process = OrthancProcess(str(tmp_path / name), config=config, plugins=["DicomWeb", "Python"], auth=admin,
                                 env=dict(env, PYTHONPATH=plugin_site_packages()), name=name)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


# ---- helpers ---------------------------------------------------------------------------------------------------
def status_of(orthanc, server):
    return orthanc.get_json("/medimaging/oauth/status")["servers"][server]


def wait_for_token(orthanc, server, timeout=60.0):  # returns as soon as settled; generous for a loaded machine
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        # The plugin lists its servers once its token manager runs, a moment after Orthanc answers REST.
        status = orthanc.get_json("/medimaging/oauth/status")["servers"].get(server)
        if status and (status["token_valid"] or status["last_error"]):
            return status
        time.sleep(0.1)
    raise AssertionError(f"no token for {server} after {timeout:.0f}s: {status}")


def new_study(patient_id, instances):
    """(study UID, sorted SOPInstanceUIDs, Part 10 bytes) of a generated study."""
    files = make_study(instances=instances, patient_id=patient_id)
    datasets = [pydicom.dcmread(io.BytesIO(data)) for data in files]
    return datasets[0].StudyInstanceUID, sorted(ds.SOPInstanceUID for ds in datasets), files


def upload(orthanc, files):
    """Store the files in the on-prem Orthanc; the Orthanc ID of their study."""
    studies = {orthanc.upload(data)["ParentStudy"] for data in files}
    assert len(studies) == 1
    return studies.pop()


def upload_instances(orthanc, files):
    """Store the files in the on-prem Orthanc; their Orthanc instance IDs (to STOW only these: like Azure's, the
    lab's DICOM service answers 202 + 45070 for instances it already holds, which Orthanc's client calls a failure)."""
    return [orthanc.upload(data)["ID"] for data in files]


def run_oauth_test(orthanc, server):
    """POST the plugin's OAuth test for server, honouring its cooldown (503 + Retry-After) as an operator would."""
    answer = orthanc.request("POST", f"/medimaging/oauth/servers/{server}/test")
    if answer.status_code == 503 and answer.headers.get("Retry-After"):
        time.sleep(float(answer.headers["Retry-After"]))
        answer = orthanc.request("POST", f"/medimaging/oauth/servers/{server}/test")
    return answer


def stow(orthanc, server, resources):
    return orthanc.request("POST", f"/dicom-web/servers/{server}/stow",
                           json={"Resources": list(resources), "Synchronous": True})


def _first(value):
    return value[0] if isinstance(value, list) else value


def plugin_qido_sops(orthanc, server, study_uid):
    """SOPInstanceUIDs of a study as the cloud answers QIDO-RS, asked through Orthanc's registered server."""
    answer = orthanc.request("POST", f"/dicom-web/servers/{server}/qido",
                             json={"Uri": f"/studies/{study_uid}/instances"})
    assert answer.status_code == 200, answer.text
    return sorted(_first(item["00080018"]["Value"]) for item in answer.json())


def direct_qido_sops(service_url, token, study_uid):
    """The same QIDO-RS straight at the emulator's DICOM service with a bearer token."""
    answer = requests.get(f"{service_url}/v2/studies/{study_uid}/instances", timeout=30,
                          headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"})
    assert answer.status_code in (200, 204), answer.text
    return sorted(item["00080018"]["Value"][0] for item in (answer.json() if answer.content else []))


def msi_token(endpoint, client_id):
    """A token for the DICOM service from the lab's managed identity endpoint, as the host's code gets one."""
    answer = requests.get(endpoint["IDENTITY_ENDPOINT"], timeout=30, headers={"X-IDENTITY-HEADER":
                                                                              endpoint["IDENTITY_HEADER"]},
                          params={"api-version": "2019-08-01", "resource": DICOM_RESOURCE, "client_id": client_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def write_token_file(path, token):
    """Atomic replace, as the kubelet swaps the projected token."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(token)
    os.replace(tmp, path)


def epoch(iso):
    return datetime.fromisoformat(iso).timestamp()


def assert_healthy(status, provider, client_id):
    assert (status["provider"], status["client_id"], status["state"]) == (provider, client_id, "ok"), status
    assert status["token_valid"] is True and status["last_error"] is None and status["consecutive_failures"] == 0
    assert 0 < status["seconds_until_expiry"] <= TOKEN_LIFETIME


# ---- managed identity ------------------------------------------------------------------------------------------
def test_managed_identity_stows_with_the_data_role_and_is_refused_without(identity_lab, dicom_service, onprem):
    lab, group = identity_lab, dicom_service["group"]
    granted = lab.user_assigned_identity(group, "id-orthanc-mi")
    stranger = lab.user_assigned_identity(group, "id-orthanc-norole")
    lab.grant(dicom_service["id"], granted.principal_id)  # DICOM Data Owner on this DICOM service only
    from azure.mgmt.appcontainers import ContainerAppsAPIClient
    # The identities' host: a Container Apps environment carrying them (the lab realizes a container app as real
    # replicas, more than this test needs; the identity endpoint protocol is the same for both).
    host = lab.mgmt(ContainerAppsAPIClient).managed_environments.begin_create_or_update(group, "orthanc-host", {
        "location": LOCATION, "identity": {"type": "UserAssigned", "userAssignedIdentities": {
            granted.id: {}, stranger.id: {}}}}).result()
    endpoint = lab.register_msi_host(host.id)
    assert endpoint["IDENTITY_ENDPOINT"] == f"{lab.base}/msi/token"

    since = time.time()
    orthanc = onprem("onprem-mi", servers={
        "azure-mi": {"Url": dicom_service["url"] + "/v2/", "UseManagedIdentity": True},
        "azure-mi-norole": {"Url": dicom_service["url"] + "/v2/", "UseManagedIdentity": True,
                            "ClientId": stranger.client_id}},
        env={"IDENTITY_ENDPOINT": endpoint["IDENTITY_ENDPOINT"], "IDENTITY_HEADER": endpoint["IDENTITY_HEADER"],
             "AZURE_CLIENT_ID": granted.client_id})
    status = wait_for_token(orthanc, "azure-mi")
    assert_healthy(status, "managed_identity", granted.client_id)
    assert status["token_endpoint"] is None and status["secret_source"] is None
    assert_healthy(wait_for_token(orthanc, "azure-mi-norole"), "managed_identity", stranger.client_id)
    msi_calls = [e for e in lab.requests_since(since) if e["path"] == "/msi/token"]
    # one token per server, each for its own identity, from the managed identity endpoint
    assert sorted((e["method"], e["status"], e["principal"]) for e in msi_calls) == sorted(
        [("GET", 200, granted.principal_id), ("GET", 200, stranger.principal_id)])

    # STOW through Orthanc's registered server: the plugin's token carries the managed identity
    study_uid, sops, files = new_study("MISTOW", instances=3)
    stowed = stow(orthanc, "azure-mi", [upload(orthanc, files)])
    assert stowed.status_code == 200, stowed.text
    assert plugin_qido_sops(orthanc, "azure-mi", study_uid) == sops
    granted_token = msi_token(endpoint, granted.client_id)
    claims = jwt.decode(granted_token, options={"verify_signature": False})
    assert (claims["oid"], claims["aud"], claims["xms_mirid"]) == (granted.principal_id, DICOM_RESOURCE, granted.id)
    assert direct_qido_sops(dicom_service["url"], granted_token, study_uid) == sops
    stores = [e for e in lab.requests_since(since) if e["method"] == "POST" and e["path"] == dicom_service["path"]]
    assert [(e["status"], e["principal"]) for e in stores] == [(200, granted.principal_id)]  # one multipart STOW

    # The identity without the data role authenticates, and the DICOM service refuses it: nothing is stored
    refused_uid, _refused_sops, refused_files = new_study("MIREFUSED", instances=2)
    since_refused = time.time()
    refused = stow(orthanc, "azure-mi-norole", [upload(orthanc, refused_files)])
    # Orthanc's DICOMweb client turns the remote 403 into its generic plugin error (DICOMweb plugin 1.7) ...
    assert refused.status_code == 500, refused.text
    assert refused.json()["HttpStatus"] == 500 and "plugin engine" in refused.json()["Message"]
    # ... and logs the cloud's answer, which is where an operator sees why
    assert "received HTTP status 403 (Forbidden)" in orthanc.log_text()
    stores = [e for e in lab.requests_since(since_refused) if e["path"] == dicom_service["path"]]
    assert stores and {(e["status"], e["principal"]) for e in stores} == {(403, stranger.principal_id)}
    assert direct_qido_sops(dicom_service["url"], granted_token, refused_uid) == []
    assert direct_qido_sops(dicom_service["url"], granted_token, study_uid) == sops  # nothing else changed
    test = orthanc.request("POST", "/medimaging/oauth/servers/azure-mi-norole/test")
    assert test.status_code == 502, test.text
    assert test.json()["token"]["ok"] is True and test.json()["qido"]["ok"] is False
    assert "Bad credentials" in test.json()["qido"]["error"]
    denied = requests.get(f"{dicom_service['url']}/v2/studies", timeout=30,
                          headers={"Authorization": "Bearer " + msi_token(endpoint, stranger.client_id)})
    assert denied.status_code == 403 and "DICOM Data Reader or Owner" in denied.text
    assert status_of(orthanc, "azure-mi-norole")["state"] == "ok"  # the token is fine: authorization is not

    # The scheduled refresh asks the managed identity endpoint again; the new token stores too
    first_refresh = status_of(orthanc, "azure-mi")["last_refresh"]
    deadline = time.monotonic() + TOKEN_LIFETIME
    while time.monotonic() < deadline and status_of(orthanc, "azure-mi")["acquisitions"] < 2:
        time.sleep(0.2)
    status = status_of(orthanc, "azure-mi")
    assert status["acquisitions"] == 2 and status["last_refresh"] > first_refresh, status
    assert_healthy(status, "managed_identity", granted.client_id)
    since_refresh = time.time() - 0.1
    more = make_study(instances=1, patient_id="MISTOW", study_uid=study_uid)
    assert stow(orthanc, "azure-mi", upload_instances(orthanc, more)).status_code == 200
    assert plugin_qido_sops(orthanc, "azure-mi", study_uid) == sorted(
        sops + [pydicom.dcmread(io.BytesIO(more[0])).SOPInstanceUID])
    stores = [e for e in lab.requests_since(since_refresh) if e["path"] == dicom_service["path"]]
    assert [(e["status"], e["principal"]) for e in stores] == [(200, granted.principal_id)]


# ---- workload identity ------------------------------------------------------------------------------------------
def test_workload_identity_stows_and_follows_a_rotated_token_file(identity_lab, dicom_service, onprem, tmp_path):
    lab, group = identity_lab, dicom_service["group"]
    issuer = f"{lab.env['oidc_issuer_base']}/onprem-cluster"
    identity = lab.user_assigned_identity(group, "id-orthanc-wi")
    lab.federate(group, "id-orthanc-wi", "orthanc-sa", issuer, SERVICE_ACCOUNT)
    lab.grant(dicom_service["id"], identity.principal_id)
    token_file = str(tmp_path / "azure-identity-token")
    first, first_claims = lab.service_account_token(issuer, SERVICE_ACCOUNT, lifetime=8)  # expires mid-test
    write_token_file(token_file, first)

    since = time.time()
    orthanc = onprem("onprem-wi", servers={"azure-wi": {"Url": dicom_service["url"] + "/v2/"}},  # provider inferred
                     env={"AZURE_CLIENT_ID": identity.client_id, "AZURE_TENANT_ID": lab.env["tenant_id"],
                          "AZURE_FEDERATED_TOKEN_FILE": token_file, "AZURE_AUTHORITY_HOST": lab.env["authority_host"]})
    status = wait_for_token(orthanc, "azure-wi")
    assert_healthy(status, "workload_identity", identity.client_id)
    assert status["token_endpoint"] == lab.token_endpoint() and status["acquisitions"] == 1
    exchanges = [e for e in lab.requests_since(since) if e["path"] == f"/{lab.env['tenant_id']}/oauth2/v2.0/token"
                 and e["principal"] != lab.env["principal_id"]]  # not the lab admin's own sign-ins
    assert [(e["method"], e["status"], e["principal"]) for e in exchanges] == [("POST", 200, identity.principal_id)]

    # The kubelet rotates the projected token well before it expires
    second, second_claims = lab.service_account_token(issuer, SERVICE_ACCOUNT)
    assert second != first
    write_token_file(token_file, second)

    study_uid, sops, files = new_study("WISTOW", instances=2)
    stowed = stow(orthanc, "azure-wi", [upload(orthanc, files)])
    assert stowed.status_code == 200, stowed.text
    assert plugin_qido_sops(orthanc, "azure-wi", study_uid) == sops
    stores = [e for e in lab.requests_since(since) if e["method"] == "POST" and e["path"] == dicom_service["path"]]
    assert [(e["status"], e["principal"]) for e in stores] == [(200, identity.principal_id)]

    # The scheduled refresh, after the first assertion expired, exchanges the rotated one
    def refreshed_after_first_expired(status):
        return status["acquisitions"] >= 2 and epoch(status["last_refresh"]) > first_claims["exp"]

    deadline = time.monotonic() + TOKEN_LIFETIME + 10
    while time.monotonic() < deadline:
        status = status_of(orthanc, "azure-wi")
        if status["last_error"] or refreshed_after_first_expired(status):
            break
        time.sleep(0.2)
    assert status["last_error"] is None, status  # e.g. AADSTS700024: the plugin kept the expired first assertion
    assert refreshed_after_first_expired(status), status
    assert_healthy(status, "workload_identity", identity.client_id)
    # ... which only the rotated assertion can do now: Entra refuses the first one
    stale = lab.exchange(identity.client_id, first)
    assert stale.status_code == 400 and stale.json()["error_codes"] == [700024], stale.text
    assert second_claims["exp"] > time.time() + 600
    exchanges = [e for e in lab.requests_since(since) if e["path"] == f"/{lab.env['tenant_id']}/oauth2/v2.0/token"
                 and e["principal"] == identity.principal_id]
    assert [e["status"] for e in exchanges] == [200] * status["acquisitions"]

    # The refreshed token stores too; a direct QIDO with a token of the same identity sees all three instances
    more_files = make_study(instances=1, patient_id="WISTOW", study_uid=study_uid)
    more_sop = pydicom.dcmread(io.BytesIO(more_files[0])).SOPInstanceUID
    stowed = stow(orthanc, "azure-wi", upload_instances(orthanc, more_files))
    assert stowed.status_code == 200, stowed.text
    exchange = lab.exchange(identity.client_id, second)
    assert exchange.status_code == 200, exchange.text
    all_sops = sorted(sops + [more_sop])
    assert direct_qido_sops(dicom_service["url"], exchange.json()["access_token"], study_uid) == all_sops
    assert plugin_qido_sops(orthanc, "azure-wi", study_uid) == all_sops

    # A token file of a service account the credential does not trust: a clear, permanent error, token kept
    intruder, _ = lab.service_account_token(issuer, "system:serviceaccount:other:intruder")
    write_token_file(token_file, intruder)
    test = run_oauth_test(orthanc, "azure-wi")
    assert test.status_code == 502, test.text
    error = test.json()["token"]["error"]
    assert "HTTP 400 invalid_client" in error and "AADSTS70021" in error and "other:intruder" in error, error
    status = status_of(orthanc, "azure-wi")
    assert (status["state"], status["token_valid"], status["last_error_permanent"]) == ("degraded", True, True)
    assert intruder not in orthanc.log_text() and second not in orthanc.log_text()
    # ... and the fixed file is used at the next exchange
    write_token_file(token_file, lab.service_account_token(issuer, SERVICE_ACCOUNT)[0])
    test = run_oauth_test(orthanc, "azure-wi")
    assert test.status_code == 200 and test.json()["ok"] is True, test.text
    assert_healthy(status_of(orthanc, "azure-wi"), "workload_identity", identity.client_id)
