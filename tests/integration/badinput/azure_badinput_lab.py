"""Fixtures for the Azure bad-input cases (imported by test_azure_modules.py; this folder has no conftest of ours).

The modules run as their own service principal, made through the lab's Graph with a fresh secret: that secret is
the canary no output may hold, and the request log is filtered to that principal, so other tests sharing the lab
cannot add or hide writes.
"""
import importlib.util
import json
import os
import sys
import uuid

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
AZURE_TESTS = os.path.join(os.path.dirname(HERE), "azure")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
for path in (AZURE_TESTS, os.path.join(REPO_ROOT, ".cache", "collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

# The lab fixture of tests/integration/azure (reuse a running lab, else start a private one), loaded by path:
# importing it as "conftest" would clash with the other conftest modules.
_spec = importlib.util.spec_from_file_location("azure_lab_fixtures", os.path.join(AZURE_TESTS, "conftest.py"))
_azure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_azure)
azure_lab = _azure.azure_lab
lab_auth = _azure.lab_auth

from lab_runner import run  # noqa: E402  (needs the paths above)

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def _graph(lab, method, path, body):
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(lab["tenant_id"], lab["client_id"], lab["client_secret"],
                                        authority=lab["authority_host"], disable_instance_discovery=True)
    token = credential.get_token("https://graph.microsoft.com/.default").token
    answer = requests.request(method, lab["graph_endpoint"] + path, json=body, timeout=30, verify=lab["ca_bundle"],
                              headers={"Authorization": "Bearer " + token})
    answer.raise_for_status()
    return answer.json() if answer.content else None


def _authorization_client(lab):
    from azure.identity import ClientSecretCredential
    from azure.mgmt.authorization import AuthorizationManagementClient
    credential = ClientSecretCredential(lab["tenant_id"], lab["client_id"], lab["client_secret"],
                                        authority=lab["authority_host"], disable_instance_discovery=True)
    return AuthorizationManagementClient(credential, lab["subscription_id"], base_url=lab["arm_endpoint"],
                                         credential_scopes=["https://management.azure.com/.default"])


@pytest.fixture(scope="session")
def canary(azure_lab):
    """Module options for a principal of our own (Owner of the lab subscription) whose secret is the canary."""
    admin = {"auth_source": "env", "subscription_id": azure_lab["subscription_id"], "tenant": azure_lab["tenant_id"],
             "client_id": azure_lab["client_id"], "secret": azure_lab["client_secret"],
             "arm_endpoint": azure_lab["arm_endpoint"], "authority_host": azure_lab["authority_host"],
             "ca_bundle": azure_lab["ca_bundle"]}
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = azure_lab["ca_bundle"]  # azure-identity's token calls to the lab
    app = _graph(azure_lab, "POST", "/applications", {"displayName": "badinput-" + uuid.uuid4().hex[:6]})
    secret = _graph(azure_lab, "POST", "/applications/%s/addPassword" % app["id"],
                    {"passwordCredential": {}})["secretText"]
    principal = _graph(azure_lab, "POST", "/servicePrincipals", {"appId": app["appId"]})
    # Granted with the SDK, not with azure_role_assignment: the module under test must not set up its own test.
    authorization = _authorization_client(azure_lab)
    scope = "/subscriptions/" + azure_lab["subscription_id"]
    assignment = str(uuid.uuid4())
    authorization.role_assignments.create(scope, assignment, {"properties": {
        "roleDefinitionId": scope + "/providers/Microsoft.Authorization/roleDefinitions/" + OWNER,
        "principalId": principal["id"], "principalType": "ServicePrincipal"}})
    auth = dict(admin, client_id=app["appId"], secret=secret)
    yield {"auth": auth, "secret": secret, "principal_id": principal["id"]}
    authorization.role_assignments.delete(scope, assignment)
    _graph(azure_lab, "DELETE", "/applications/" + app["id"], None)
    if previous is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture(scope="session")
def existing_group(azure_lab, canary):
    """A resource group that exists and holds nothing: parents below it (workspace, server, account) are missing."""
    name = "rg-badinput-" + uuid.uuid4().hex[:6]
    made = run("azure_resource_group", {"name": name, "location": azure_lab["location"]}, canary["auth"])
    assert not made.get("failed"), made
    yield name
    run("azure_resource_group", {"name": name, "state": "absent", "force_delete_nonempty": True}, canary["auth"])


class PrincipalLog(_azure.RequestLog):
    """The emulator's request log from a mark onwards, only what one principal asked of ARM."""

    def __init__(self, path, principal_id):
        super().__init__(path)
        self.principal_id = principal_id.lower()

    def calls(self):
        with open(self.path, encoding="utf-8") as handle:
            handle.seek(self.offset)
            entries = [json.loads(line) for line in handle if line.strip()]
        return [(e["method"], e["path"], e["status"]) for e in entries
                if (e.get("principal") or "").lower() == self.principal_id
                and e["path"].lower().startswith("/subscriptions/")]

    def writes(self):
        return [call for call in self.calls() if call[0] in ("PUT", "PATCH", "DELETE", "POST")]


@pytest.fixture
def principal_log(azure_lab, canary):
    log = PrincipalLog(azure_lab["request_log"], canary["principal_id"])
    log.mark()
    return log
