"""An app registration in the lab's Entra ID, as a hospital's cloud team would make one for the on-prem Orthanc.

    python -m lab.app_registration NAME     -> JSON {client_id, client_secret, principal_id, tenant_id, token_endpoint}

Uses the lab's minimal Microsoft Graph with the lab admin's credentials. Idempotent: the result is kept (0600) under
<lab dir>/apps/NAME.json and returned again while the application still exists.
"""
import json
import os
import sys

import requests

from lab.cli import Lab
from lab.proc import LabError

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _token(env):
    answer = requests.post(f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token", timeout=30,
                           verify=env["ca_bundle"],
                           data={"grant_type": "client_credentials", "client_id": env["client_id"],
                                 "client_secret": env["client_secret"], "scope": GRAPH_SCOPE})
    answer.raise_for_status()
    return answer.json()["access_token"]


def _graph(env, token, method, path, body=None):
    answer = requests.request(method, env["graph_endpoint"] + path, json=body, timeout=30, verify=env["ca_bundle"],
                              headers={"Authorization": f"Bearer {token}"})
    if answer.status_code >= 400 and answer.status_code != 404:
        raise LabError(f"Graph {method} {path} answered {answer.status_code}: {answer.text[:300]}")
    return answer


def ensure(name, lab_dir=None):
    lab = Lab(lab_dir)
    env = lab.env()
    record_path = os.path.join(env["lab_dir"], "apps", f"{name}.json")
    token = _token(env)
    if os.path.exists(record_path):
        with open(record_path, encoding="utf-8") as handle:
            record = json.load(handle)
        if _graph(env, token, "GET", f"/applications/{record['object_id']}").status_code == 200:
            return record
    app = _graph(env, token, "POST", "/applications", {"displayName": name}).json()
    principal = _graph(env, token, "POST", "/servicePrincipals", {"appId": app["appId"]}).json()
    secret = _graph(env, token, "POST", f"/applications/{app['id']}/addPassword",
                    {"passwordCredential": {"displayName": "orthanc-plugin"}}).json()
    record = {"name": name, "object_id": app["id"], "client_id": app["appId"], "client_secret": secret["secretText"],
              "principal_id": principal["id"], "tenant_id": env["tenant_id"],
              "token_endpoint": f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token"}
    os.makedirs(os.path.dirname(record_path), mode=0o700, exist_ok=True)
    with open(os.open(record_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return record


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m lab.app_registration NAME", file=sys.stderr)
        return 2
    try:
        print(json.dumps(ensure(argv[0])))
    except (LabError, requests.RequestException) as err:
        print(f"lab.app_registration: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
