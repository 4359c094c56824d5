"""Fixtures for test_emulator_refusals.py: one private lab (its own LAB_DIR, stopped by PID at the end), the
admin's ARM token, raw HTTPS calls to the emulator, and a few valid parents the bad requests aim under.

Fixtures live here, not in a conftest.py, so this folder's conftest stays free for others; the test module imports
them by name.
"""
import json
import os
import sys
import time
import uuid

import pytest
import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(REPO_ROOT, ".cache", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

API = {"Microsoft.Resources": "2025-04-01", "Microsoft.Storage": "2026-09-01",
       "Microsoft.DBforPostgreSQL": "2026-10-01", "Microsoft.HealthcareApis": "2024-03-31",
       "Microsoft.Authorization": "2022-04-01", "Microsoft.KeyVault": "2026-05-15"}
PASSWORD = "Lab-Bad-Input-1234!"


@pytest.fixture(scope="session")
def lab():
    from lab.throwaway import throwaway_lab
    with throwaway_lab("medimaging-badinput-") as the_lab:
        yield the_lab


@pytest.fixture(scope="session")
def env(lab):
    return lab.env()


class Arm:
    """Raw HTTPS to the emulator with the lab admin's token: what a client sends, byte for byte."""

    def __init__(self, env):
        self.env = env
        self.base = f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}"
        form = {"grant_type": "client_credentials", "client_id": env["client_id"],
                "client_secret": env["client_secret"], "scope": "https://management.azure.com/.default"}
        answer = requests.post(f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token", data=form,
                               verify=env["ca_bundle"], timeout=30)
        answer.raise_for_status()
        self.headers = {"Authorization": "Bearer " + answer.json()["access_token"]}

    def url(self, tail, api_version=None):
        namespace = tail.split("/providers/")[-1].split("/")[0] if "/providers/" in tail else "Microsoft.Resources"
        version = api_version or API.get(namespace, "2024-01-01")
        return f"{self.base}{tail}?api-version={version}"

    def call(self, method, tail, body=None, raw=None, api_version=None, headers=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        merged = dict(self.headers, **({"Content-Type": "application/json"} if data is not None else {}),
                      **(headers or {}))
        return requests.request(method, self.url(tail, api_version), data=data, headers=merged,
                                verify=self.env["ca_bundle"], timeout=60)

    def put_and_wait(self, tail, body):
        """PUT a valid resource and wait until it has settled (any of the emulator's LRO shapes)."""
        answer = self.call("PUT", tail, body)
        assert answer.status_code in (200, 201, 202), answer.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = self.call("GET", tail)
            state = current.json().get("properties", {}).get("provisioningState") if current.ok else None
            if state in ("Succeeded", None) and current.ok:
                return current.json()
            time.sleep(0.3)
        raise AssertionError(f"{tail} did not settle")


@pytest.fixture(scope="session")
def arm(env):
    return Arm(env)


@pytest.fixture(scope="session")
def parents(arm):
    """Valid parents (resource group, storage account, PostgreSQL server, HDS workspace) the bad children aim at."""
    names = {"rg": "rg-badinput-" + uuid.uuid4().hex[:6], "account": "badinput" + uuid.uuid4().hex[:8],
             "server": "pg-badinput-" + uuid.uuid4().hex[:6], "workspace": "badws" + uuid.uuid4().hex[:6]}
    rg = f"/resourceGroups/{names['rg']}"
    answer = arm.call("PUT", rg, {"location": "westeurope"})
    assert answer.status_code in (200, 201), answer.text
    arm.put_and_wait(f"{rg}/providers/Microsoft.Storage/storageAccounts/{names['account']}",
                     {"location": "westeurope", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"})
    arm.put_and_wait(f"{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{names['server']}", {
        "location": "westeurope", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "srv" + uuid.uuid4().hex[:6], "administratorLoginPassword": PASSWORD,
                       "version": "16"}})
    arm.put_and_wait(f"{rg}/providers/Microsoft.HealthcareApis/workspaces/{names['workspace']}",
                     {"location": "westeurope"})
    names["rg_path"] = rg
    return names


def read_log(env, since):
    with open(env["request_log"], encoding="utf-8") as handle:
        return [e for e in map(json.loads, handle) if e["ts"] >= since]


def run_module(name, args, env):
    """A collection module run in-process with the lab's auth; returns its result dict (the JSON it printed)."""
    import importlib
    import io
    from contextlib import redirect_stdout

    from ansible.module_utils.testing import patch_module_args
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules." + name)
    auth = {"auth_source": "env", "subscription_id": env["subscription_id"], "tenant": env["tenant_id"],
            "client_id": env["client_id"], "secret": env["client_secret"], "arm_endpoint": env["arm_endpoint"],
            "authority_host": env["authority_host"], "ca_bundle": env["ca_bundle"]}
    out = io.StringIO()
    with patch_module_args(dict(auth, **args, _ansible_check_mode=False, _ansible_diff=True)), redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue()
    return json.loads(text[text.index("{"):]), text
