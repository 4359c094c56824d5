"""The emulator's Azure Arc connected clusters over ARM (as `az connectedk8s connect` and arc_onboard call it):
what Arc refuses is refused, a new cluster is Connecting until its agents report with a signature of the onboarding
key (a wrong key, a replay or a stale report are refused), and listClusterUserCredential hands out the kubeconfig
of the lab cluster behind it, which the real kubectl uses."""
import base64
import os
import shutil
import subprocess
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import pytest
import requests
import yaml

from lab.kube.cluster import Cluster
from lab.throwaway import throwaway_lab

API = "2026-05-01"   # azure-mgmt-hybridkubernetes 2.0.0
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture(scope="module")
def arc():
    with throwaway_lab(prefix="arc-") as the_lab:
        env = the_lab.env()
        token = requests.post(env["authority_host"].rstrip("/") + "/%s/oauth2/v2.0/token" % env["tenant_id"],
                              data={"grant_type": "client_credentials", "client_id": env["client_id"],
                                    "client_secret": env["client_secret"],
                                    "scope": "https://management.azure.com/.default"},
                              verify=env["ca_bundle"], timeout=30).json()["access_token"]
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + token
        session.verify = env["ca_bundle"]
        session.trust_env = False  # REQUESTS_CA_BUNDLE from the environment would win over session.verify
        base = "%s/subscriptions/%s/resourceGroups/rg-arc" % (env["arm_endpoint"].rstrip("/"), env["subscription_id"])
        assert session.put(base, params={"api-version": "2021-04-01"}, json={"location": env["location"]}).ok
        cluster = Cluster("site-ocp", os.path.join(env["lab_dir"], "kube", "site-ocp"),
                          os.path.join(env["lab_dir"], "ca"), "plain").start()
        try:
            yield session, base + "/providers/Microsoft.Kubernetes/connectedClusters", env
        finally:
            cluster.stop()


def _body(env, key=PUBLIC, **props):
    return {"location": env["location"], "identity": {"type": "SystemAssigned"},
            "properties": dict({"agentPublicKeyCertificate": key, "distribution": "openshift",
                                "infrastructure": "generic"}, **props)}


def _put(session, url, body):
    answer = session.put(url, params={"api-version": API}, json=body)
    if answer.status_code in (200, 201):
        for _ in range(60):
            current = session.get(url, params={"api-version": API}).json()
            if current.get("properties", {}).get("provisioningState") in ("Succeeded", "Failed", None):
                return answer.status_code, current
    return answer.status_code, answer.json()


@pytest.mark.parametrize("change, code", [
    (lambda b: b["identity"].update(type="None"), "InvalidIdentity"),
    (lambda b: b["properties"].update(agentPublicKeyCertificate="not base64!"), "InvalidAgentPublicKeyCertificate"),
    (lambda b: b["properties"].update(agentPublicKeyCertificate=base64.b64encode(b"0 not a key").decode()),
     "InvalidAgentPublicKeyCertificate"),
    (lambda b: b["properties"].update(distribution="windows"), "BadRequest"),
    (lambda b: b["properties"].update(infrastructure="mainframe"), "BadRequest"),
    (lambda b: b["properties"].update(securityProfile={"workloadIdentity": {"enabled": True}}), "BadRequest"),
    (lambda b: b["properties"].update(unknownField=1), "InvalidRequestContent"),
])
def test_what_arc_refuses(arc, change, code):
    session, clusters, env = arc
    body = _body(env)
    change(body)
    status, answer = _put(session, clusters + "/refused", body)
    assert status == 400 and answer["error"]["code"] == code, answer
    assert session.get(clusters + "/refused", params={"api-version": API}).status_code == 404


def _report(env, cluster_id, key=KEY, stamp=None):
    stamp = int(time.time()) if stamp is None else stamp
    signature = key.sign(("%s\n%d" % (cluster_id.lower(), stamp)).encode(), padding.PKCS1v15(), hashes.SHA256())
    return requests.post(env["arm_endpoint"].rstrip("/") + "/_lab/arc/agent", verify=env["ca_bundle"], timeout=30,
                         json={"resourceId": cluster_id, "timestamp": stamp, "agentVersion": "1.0-test",
                               "kubernetesVersion": "1.37.0", "nodeCount": 1,
                               "signature": base64.b64encode(signature).decode()})


def test_a_cluster_connects_when_its_agents_prove_the_key_and_hands_out_its_kubeconfig(arc, tmp_path):
    session, clusters, env = arc
    status, cluster = _put(session, clusters + "/site-ocp", _body(env))
    assert status in (200, 201), cluster
    assert cluster["properties"]["connectivityStatus"] == "Connecting"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = _report(env, cluster["id"], key=stranger)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AgentAuthenticationFailed"
    assert _report(env, cluster["id"], stamp=int(time.time()) - 3600).status_code == 401      # stale
    stamp = int(time.time())
    answer = _report(env, cluster["id"], stamp=stamp)
    assert answer.status_code == 200, answer.text
    assert _report(env, cluster["id"], stamp=stamp).status_code == 401                        # replayed
    cluster = session.get(clusters + "/site-ocp", params={"api-version": API}).json()
    assert cluster["properties"]["connectivityStatus"] == "Connected"
    assert cluster["properties"]["agentVersion"] == "1.0-test" and cluster["properties"]["totalNodeCount"] == 1
    # A later PUT (the module's second converge) keeps what the agents reported.
    status, cluster = _put(session, clusters + "/site-ocp", _body(env))
    assert cluster["properties"]["connectivityStatus"] == "Connected", cluster
    assert cluster["identity"]["principalId"] and cluster["identity"]["tenantId"] == env["tenant_id"]
    answer = session.post(clusters + "/site-ocp/listClusterUserCredential", params={"api-version": API},
                          json={"authenticationMethod": "Token", "clientProxy": False})
    assert answer.status_code == 200, answer.text
    kubeconfig = base64.b64decode(answer.json()["kubeconfigs"][0]["value"])
    assert yaml.safe_load(kubeconfig)["kind"] == "Config"
    path = tmp_path / "kubeconfig"
    path.write_bytes(kubeconfig)
    kubectl = shutil.which("kubectl") or os.path.join(os.path.dirname(__file__), "..", "..", "..", ".cache", "tools",
                                                      "bin", "kubectl")
    names = subprocess.run([kubectl, "--kubeconfig", str(path), "get", "ns", "-o", "name"], capture_output=True,
                           text=True, timeout=60, check=True).stdout.split()
    assert "namespace/default" in names
    # The key the agents were given cannot change under them.
    another = base64.b64encode(stranger.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    status, answer = _put(session, clusters + "/site-ocp", _body(env, key=another))
    assert status == 400 and answer["error"]["code"] == "PropertyChangeNotAllowed"


def test_an_unbacked_cluster_is_connecting_and_says_how_to_back_it(arc):
    session, clusters, env = arc
    status, cluster = _put(session, clusters + "/elsewhere", _body(env))
    assert status in (200, 201) and cluster["properties"]["connectivityStatus"] == "Connecting", cluster
    answer = session.post(clusters + "/elsewhere/listClusterUserCredential", params={"api-version": API},
                          json={"authenticationMethod": "Token", "clientProxy": False})
    assert answer.status_code == 404 and "python -m lab.kube up --name elsewhere" in answer.json()["error"]["message"]
    proxy = session.post(clusters + "/site-ocp/listClusterUserCredential", params={"api-version": API},
                         json={"authenticationMethod": "Token", "clientProxy": True})
    assert proxy.status_code == 400 and proxy.json()["error"]["code"] == "ClientProxyNotAvailable"
