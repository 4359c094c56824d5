"""The OpenShift flavour's workload identity webhook follows the Azure Arc connected cluster, as Arc's agents install
it: a labelled pod is left alone while no connected cluster backs the lab cluster, while it is still Connecting and
after workload identity is turned off; it gets the webhook's env and projected token while the connected cluster is
Connected with workload identity on. The emulator's ARM is real; the pods are not run (the mutation is in the API)."""
import base64
import os
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lab.azure.behaviours.arc import signed_message
from lab.kube.cluster import Cluster
from lab.throwaway import throwaway_lab

from flavour_helpers import ADMIN

NAME, GROUP, CLIENT_ID = "ocp-arc-wi", "rg-ocp-arc-wi", "11111111-2222-3333-4444-555555555555"
LABEL = {"azure.workload.identity/use": "true"}


@pytest.fixture(scope="module")
def world():
    with throwaway_lab() as lab:
        env = lab.env()
        cluster = Cluster(NAME, os.path.join(env["lab_dir"], "kube", NAME), lab.layout.ca_dir, "openshift")
        try:
            cluster.start()
            extension = cluster.extensions[0]
            extension.arc_gate.ttl = 0                     # every pod asks Azure again
            for obj in ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pacs"}},
                        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                            "name": "pacs", "namespace": "pacs",
                            "annotations": {"azure.workload.identity/client-id": CLIENT_ID}}}):
                cluster.store.create(obj, ADMIN)
            yield env, cluster, arm(env)
        finally:
            cluster.stop()


def arm(env):
    token = requests.post(f"{env['authority_host']}/{env['tenant_id']}/oauth2/v2.0/token", timeout=30,
                          verify=env["ca_bundle"], data={
                              "grant_type": "client_credentials", "client_id": env["client_id"],
                              "client_secret": env["client_secret"],
                              "scope": "https://management.azure.com/.default"}).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    session.verify = env["ca_bundle"]
    session.trust_env = False                          # REQUESTS_CA_BUNDLE from the shell would win over verify
    return session


def pod(cluster, name):
    return cluster.store.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "namespace": "pacs", "labels": LABEL}, "spec": {
        "serviceAccountName": "pacs", "containers": [{"name": "orthanc", "image": "localhost/medimaging/orthanc:x"}]}},
        ADMIN)


def injected(stored):
    env = {e["name"]: e["value"] for e in stored["spec"]["containers"][0].get("env") or []}
    volumes = {v["name"]: v for v in stored["spec"].get("volumes") or []}
    return env, volumes.get("azure-identity-token")


def test_the_webhook_follows_the_connected_cluster(world):
    env, cluster, session = world
    assert injected(pod(cluster, "before-arc")) == ({}, None)       # no connected cluster: no webhook

    base = f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}/resourceGroups/{GROUP}"
    assert session.put(base, params={"api-version": "2021-04-01"}, json={"location": env["location"]}).ok
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    url = f"{base}/providers/Microsoft.Kubernetes/connectedClusters/{NAME}"
    listing = session.get(f"{env['arm_endpoint']}/subscriptions/{env['subscription_id']}/providers/"
                          "Microsoft.Kubernetes", params={"api-version": "2021-04-01"}).json()
    version = next(t["apiVersions"][0] for t in listing["resourceTypes"] if t["resourceType"] == "connectedClusters")

    def put(workload_identity):
        answer = session.put(url, params={"api-version": version}, json={
            "location": env["location"], "identity": {"type": "SystemAssigned"},
            "properties": {"agentPublicKeyCertificate": public, "distribution": "openshift",
                           "infrastructure": "generic", "oidcIssuerProfile": {"enabled": True},
                           "securityProfile": {"workloadIdentity": {"enabled": workload_identity}}}})
        assert answer.ok, answer.text
        for _ in range(120):                                    # the long-running operation ends
            if session.get(url, params={"api-version": version}).json()["properties"].get(
                    "provisioningState") in ("Succeeded", None):
                break
            time.sleep(0.5)
        return answer.json()["id"]

    resource_id = put(True)
    assert injected(pod(cluster, "connecting")) == ({}, None)       # the agents have not reported: not installed

    stamp = int(time.time())
    signature = base64.b64encode(key.sign(signed_message(resource_id, stamp), padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    report = requests.post(f"{env['arm_endpoint']}/_lab/arc/agent", verify=env["ca_bundle"], timeout=30,
                           json={"resourceId": resource_id, "timestamp": stamp, "signature": signature})
    assert report.ok, report.text
    pod_env, volume = injected(pod(cluster, "connected"))
    assert pod_env["AZURE_CLIENT_ID"] == CLIENT_ID and pod_env["AZURE_TENANT_ID"] == env["tenant_id"]
    assert pod_env["AZURE_FEDERATED_TOKEN_FILE"] == "/var/run/secrets/azure/tokens/azure-identity-token"
    assert pod_env["AZURE_AUTHORITY_HOST"] == env["authority_host"]   # no pod network here: as the lab gives it
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "api://AzureADTokenExchange"

    put(False)                                                      # `az connectedk8s update --disable-workload-identity`
    assert injected(pod(cluster, "turned-off")) == ({}, None)
