"""The AKS flavour on a running lab cluster beside a lab (Entra emulator): workload identity end to end.

A pod LABELLED azure.workload.identity/use=true gets the webhook's env and projected token, and from inside the
pod (openssl, through the cluster gateway) exchanges that token at AZURE_AUTHORITY_HOST for an access token of the
user-assigned identity whose federated credential names the cluster's issuer and the pod's service account. A pod
with the same key as an annotation only gets nothing.
"""
import json
import os
import tempfile

import jwt
import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient

from lab.containers import images
from lab.kube.cluster import Cluster
from lab.throwaway import throwaway_lab

from flavour_helpers import ADMIN, pod_logs, wait_until

DEBIAN = "localhost/medimaging/debian:trixie"        # has openssl: the exchange is done from inside the pod
MGMT = "https://management.azure.com/.default"
# POST the projected token to <authority>/<tenant>/oauth2/v2.0/token as the Azure SDKs' WorkloadIdentityCredential
# does (client assertion), verifying the gateway's certificate against the lab CA. TERM trapped: stops at once.
EXCHANGE = r"""
echo "ENV $AZURE_CLIENT_ID|$AZURE_TENANT_ID|$AZURE_FEDERATED_TOKEN_FILE|$AZURE_AUTHORITY_HOST"
ls /var/run/secrets/azure/tokens 2>&1 | sed 's/^/FILES /'
if [ -n "$AZURE_FEDERATED_TOKEN_FILE" ]; then
  hostport=${AZURE_AUTHORITY_HOST#https://}; hostport=${hostport%/}
  body="grant_type=client_credentials&client_id=$AZURE_CLIENT_ID&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
  body="$body&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
  body="$body&client_assertion=$(cat "$AZURE_FEDERATED_TOKEN_FILE")"
  printf 'POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: %s\r\n' "$AZURE_TENANT_ID" "$hostport" > /tmp/request
  printf 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %s\r\n' "${#body}" >> /tmp/request
  printf 'Connection: close\r\n\r\n%s' "$body" >> /tmp/request
  timeout 60 openssl s_client -quiet -connect "$hostport" -CAfile /lab-ca/ca.pem -verify_return_error < /tmp/request \
        -verify_ip "${hostport%:*}" 2>/dev/null | tail -n 1 | sed 's/^/ANSWER /'
  echo                                   # the JSON body ends without a newline
fi
echo DONE
trap 'exit 0' TERM; sleep 600 & wait
"""


def finished_output(cluster, pod, what):
    """The pod's output once the script printed DONE; a failure shows what it had printed (a pod starts in tens of
    seconds on a loaded CI machine: the bound is generous, the openssl call has its own timeout)."""
    seen = [""]

    def done():
        seen[0] = pod_logs(cluster, "wi", pod)
        return seen[0] if "DONE" in seen[0] else None
    try:
        return wait_until(what, done, timeout=240)
    except BaseException:
        print("pod output so far: %r" % seen[0])
        raise


@pytest.fixture(scope="module")
def world():
    images.ensure("debian-trixie")
    with throwaway_lab() as lab:
        env = lab.env()
        base = tempfile.mkdtemp(prefix="medimaging-kube-aks-")
        # the lab's CA, as `python -m lab.kube up` does: the flavour finds the lab (tenant, Entra) from it
        cluster = Cluster("it-aks", os.path.join(base, "state"), lab.layout.ca_dir, "aks", pods=True)
        try:
            cluster.start()
            yield env, cluster
        finally:
            cluster.stop()


@pytest.fixture(scope="module")
def identity(world):
    env, cluster = world
    credential = ClientSecretCredential(env["tenant_id"], env["client_id"], env["client_secret"],
                                        authority=env["authority_host"], disable_instance_discovery=True,
                                        connection_verify=env["ca_bundle"])
    kwargs = {"base_url": env["arm_endpoint"], "credential_scopes": [MGMT], "connection_verify": env["ca_bundle"]}
    ResourceManagementClient(credential, env["subscription_id"], **kwargs).resource_groups.create_or_update(
        "rg-aks-wi", {"location": env["location"]})
    msi = ManagedServiceIdentityClient(credential, env["subscription_id"], **kwargs)
    uai = msi.user_assigned_identities.create_or_update("rg-aks-wi", "id-orthanc", {"location": env["location"]})
    msi.federated_identity_credentials.create_or_update("rg-aks-wi", "id-orthanc", "aks-orthanc", {
        "properties": {"issuer": cluster.tokens.issuer, "subject": "system:serviceaccount:wi:orthanc",
                       "audiences": ["api://AzureADTokenExchange"]}})
    return uai


@pytest.fixture(scope="module")
def namespace(world, identity):
    """Namespace wi: the service account the federated credential names, and the lab CA for the pods."""
    _env, cluster = world
    with open(cluster.ca_file, encoding="utf-8") as handle:
        ca_pem = handle.read()
    for obj in ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wi"}},
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                    "name": "orthanc", "namespace": "wi",
                    "annotations": {"azure.workload.identity/client-id": identity.client_id}}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lab-ca", "namespace": "wi"},
                 "data": {"ca.pem": ca_pem}}):
        cluster.store.create(obj, ADMIN)
    return "wi"


def make_pod(cluster, name, labels=None, annotations=None):
    return cluster.store.create({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "wi", "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"serviceAccountName": "orthanc", "restartPolicy": "Never",
                 "containers": [{"name": "main", "image": DEBIAN, "command": ["sh", "-c", EXCHANGE],
                                 "volumeMounts": [{"name": "lab-ca", "mountPath": "/lab-ca", "readOnly": True}]}],
                 "volumes": [{"name": "lab-ca", "configMap": {"name": "lab-ca"}}]}}, ADMIN)


def test_labelled_pod_exchanges_its_projected_token_for_an_access_token(world, identity, namespace):
    env, cluster = world
    stored = make_pod(cluster, "labelled", labels={"azure.workload.identity/use": "true"})
    authority = f"https://{cluster.gateway}:{env['authority_host'].rsplit(':', 1)[1]}/"
    env_names = {e["name"]: e["value"] for e in stored["spec"]["containers"][0]["env"]}
    assert env_names == {"AZURE_CLIENT_ID": identity.client_id, "AZURE_TENANT_ID": env["tenant_id"],
                         "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
                         "AZURE_AUTHORITY_HOST": authority}
    logs = finished_output(cluster, "labelled", "the labelled pod's exchange")
    assert f"ENV {identity.client_id}|{env['tenant_id']}|/var/run/secrets/azure/tokens/azure-identity-token|" \
           f"{authority}" in logs
    answer = next(line[len("ANSWER "):] for line in logs.splitlines() if line.startswith("ANSWER "))
    token = json.loads(answer)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["oid"] == identity.principal_id and claims["aud"] == "https://management.azure.com/"


def test_pod_with_the_annotation_only_gets_nothing(world, namespace):
    _env, cluster = world
    stored = make_pod(cluster, "annotated", annotations={"azure.workload.identity/use": "true"})
    assert "env" not in stored["spec"]["containers"][0]
    assert "azure-identity-token" not in [v["name"] for v in stored["spec"]["volumes"]]
    logs = finished_output(cluster, "annotated", "the annotated pod's run")
    assert "ENV |||" in logs and "No such file or directory" in logs and "ANSWER" not in logs
