"""One lab (PostgreSQL, Azurite, the Azure emulator) for this folder's tests, in a throwaway LAB_DIR,
stopped by PID at the end; plus SDK clients and a Graph helper built from `python -m lab env`.
"""
import json
import os
import uuid

import pytest
import requests

from lab.throwaway import throwaway_lab

MGMT = "https://management.azure.com/.default"


@pytest.fixture(scope="session")
def lab():
    with throwaway_lab() as the_lab:
        yield the_lab


@pytest.fixture(scope="session")
def env(lab):
    values = lab.env()
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = values["ca_bundle"]
    yield values
    if previous is None:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = previous


def _secret_credential(env, client_id=None, secret=None):
    from azure.identity import ClientSecretCredential
    return ClientSecretCredential(env["tenant_id"], client_id or env["client_id"], secret or env["client_secret"],
                                  authority=env["authority_host"], disable_instance_discovery=True)


@pytest.fixture(scope="session")
def credential_for(env):
    """credential_for(client_id, secret) -> a client-secret credential against the lab's Entra ID."""
    return lambda client_id=None, secret=None: _secret_credential(env, client_id, secret)


@pytest.fixture(scope="session")
def admin_credential(env):
    return _secret_credential(env)


@pytest.fixture(scope="session")
def mgmt(env, admin_credential):
    """client(SdkClass) -> an SDK client aimed at the lab with the admin's credential."""
    def make(cls, credential=None):
        return cls(credential or admin_credential, env["subscription_id"], base_url=env["arm_endpoint"],
                   credential_scopes=[MGMT])
    return make


@pytest.fixture(scope="session")
def resource_group(mgmt, env):
    from azure.mgmt.resource.resources import ResourceManagementClient
    name = "rg-" + uuid.uuid4().hex[:6]
    mgmt(ResourceManagementClient).resource_groups.create_or_update(name, {"location": env["location"]})
    return name


@pytest.fixture(scope="session")
def new_app(env, admin_credential):
    """new_app(name) -> (client_id, secret, principal_id): an app registration made through the lab's Graph."""
    def make(name):
        headers = {"Authorization": "Bearer " + admin_credential.get_token("https://graph.microsoft.com/.default").token}
        graph = env["graph_endpoint"]
        app = requests.post(f"{graph}/applications", json={"displayName": name}, headers=headers, timeout=30).json()
        secret = requests.post(f"{graph}/applications/{app['id']}/addPassword", json={"passwordCredential": {}},
                               headers=headers, timeout=30).json()["secretText"]
        sp = requests.post(f"{graph}/servicePrincipals", json={"appId": app["appId"]}, headers=headers,
                           timeout=30).json()
        return app["appId"], secret, sp["id"]
    return make


@pytest.fixture(scope="session")
def role_id(env):
    """role_id(guid) -> the role definition id ARM expects in a role assignment."""
    return lambda guid: f"/subscriptions/{env['subscription_id']}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


@pytest.fixture(scope="session")
def read_log(env):
    """read_log(since) -> the emulator's request log entries (method, path, apiVersion, status) since a time."""
    def read(since=0.0):
        with open(env["request_log"], encoding="utf-8") as handle:
            return [e for e in map(json.loads, handle) if e["ts"] >= since]
    return read
