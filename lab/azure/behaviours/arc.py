"""Azure Arc connected clusters (Microsoft.Kubernetes/connectedClusters) and the agents that connect them.

What `az connectedk8s connect` sends is checked as the resource provider checks it: a system-assigned identity,
the agents' public key (base64 DER, immutable), a known distribution and infrastructure, workload identity only
with the OIDC issuer, and an issuer that stays on once on.

A new resource is Connecting, as on Azure until the agents report in. The agents (the lab's stand-in chart,
lab/charts/arc_agent_standin, running on a lab cluster) POST /_lab/arc/agent with the resource id and a timestamp
signed by the onboarding private key; the signature is verified against agentPublicKeyCertificate (proof of
possession, as the real agents prove themselves with that key), and the resource turns Connected with the agent
version, Kubernetes version and node count the agents report. A replayed or stale report is refused.

listClusterUserCredential answers the kubeconfig of the lab cluster behind the resource ($LAB_DIR/kube/<cluster>,
cluster = tag `lab-cluster`, else the resource name) for authenticationMethod Token without the client proxy (the
lab has no cluster connect relay: asked for it, it says so).
"""
import base64
import binascii
import datetime
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.aks import bad, lab_cluster_file, lab_cluster_kubeconfig, lab_cluster_name
from lab.azure.web import HttpError, Response

DISTRIBUTIONS = ("generic", "openshift", "aks", "aks_hci", "k3s", "kind", "eks", "gke", "rancher_rke", "capz")
INFRASTRUCTURES = ("generic", "azure_stack_hci", "azure_stack_edge", "azure_stack_hub", "vsphere", "windows_server",
                   "aws", "gcp")
CLOCK_SKEW = 300          # seconds an agent's timestamp may be off
CONNECTED_CLUSTER = "microsoft.kubernetes/connectedclusters"
AGENT_STATUS = ("kubernetesVersion", "totalNodeCount", "agentVersion", "lastConnectivityTime", "connectivityStatus")


def agent_key(encoded):
    """The RSA public key from agentPublicKeyCertificate (base64 DER, SubjectPublicKeyInfo or PKCS#1), or None."""
    try:
        der = base64.b64decode(encoded or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    for load in (serialization.load_der_public_key, lambda data: serialization.load_der_public_key(
            _pkcs1_as_spki(data))):
        try:
            key = load(der)
        except (ValueError, TypeError):
            continue
        return key if isinstance(key, rsa.RSAPublicKey) else None
    return None


def _pkcs1_as_spki(der):
    """Wrap a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo (rsaEncryption, NULL parameters)."""
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bits = b"\x03" + _der_length(len(der) + 1) + b"\x00" + der
    body = algorithm + bits
    return b"\x30" + _der_length(len(body)) + body


def _der_length(length):
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def signed_message(resource_id, timestamp):
    """What the agents sign: the resource id (lower case) and the Unix time, one per line."""
    return f"{resource_id.lower()}\n{timestamp}".encode()


class ConnectedCluster(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        if (body.get("identity") or {}).get("type") != "SystemAssigned":
            bad("The connected cluster needs identity.type 'SystemAssigned'.", "InvalidIdentity")
        key = props.get("agentPublicKeyCertificate") or ""
        if agent_key(key) is None:
            bad("properties.agentPublicKeyCertificate must be the agents' RSA public key, base64 DER.",
                "InvalidAgentPublicKeyCertificate")
        if kept and kept.get("agentPublicKeyCertificate") != key:
            bad("agentPublicKeyCertificate cannot be changed; delete the connected cluster and connect it again.",
                "PropertyChangeNotAllowed")
        for field, allowed in (("distribution", DISTRIBUTIONS), ("infrastructure", INFRASTRUCTURES)):
            value = props.get(field) or "generic"
            if not isinstance(value, str) or value.lower() not in allowed:
                bad(f"properties.{field} '{props.get(field)}' is not one of {', '.join(allowed)}.")
            props[field] = value
        self.check_identity_features(ctx, body, props, kept)
        old_identity = (previous or {}).get("body", {}).get("identity") or {}
        body["identity"].update(principalId=old_identity.get("principalId") or body["identity"].get("principalId"),
                                tenantId=ctx.facts["tenantId"])
        # The agents own these: kept across updates, Connecting until they first report.
        for field in AGENT_STATUS:
            props[field] = kept.get(field)
        props["connectivityStatus"] = kept.get("connectivityStatus") or "Connecting"

    @staticmethod
    def check_identity_features(ctx, body, props, kept):
        oidc = props.get("oidcIssuerProfile") or {}
        if (kept.get("oidcIssuerProfile") or {}).get("enabled") and oidc.get("enabled") is False:
            bad("The OIDC issuer cannot be disabled once it has been enabled.", "PropertyChangeNotAllowed")
        workload = ((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")
        if workload and not oidc.get("enabled"):
            bad("Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).")
        if oidc.get("enabled"):
            try:
                with open(lab_cluster_file(ctx, body, "issuer"), encoding="utf-8") as handle:
                    issuer = handle.read().strip()
            except OSError:
                issuer = f"{ctx.base_url}/_lab/oidc/arc-{lab_cluster_name(body)}"
            props["oidcIssuerProfile"] = dict(oidc, issuerUrl=issuer)

    def action_listClusterUserCredential(self, ctx, record, body):  # noqa: N802 - the ARM action's name
        body = body or {}
        method = body.get("authenticationMethod")
        if method not in ("Token", "AAD"):
            bad("authenticationMethod must be 'Token' or 'AAD'.")
        if body.get("clientProxy"):
            raise HttpError(400, "ClientProxyNotAvailable", "The lab has no cluster connect relay: ask with "
                            "clientProxy false for the cluster's own kubeconfig.")
        value = lab_cluster_kubeconfig(ctx, record["body"], "connected cluster", "openshift")
        return 200, {"kubeconfigs": [{"name": "credentialValue", "value": value}]}


def agent_check_in(ctx, request):
    """POST /_lab/arc/agent {resourceId, timestamp, signature, agentVersion?, kubernetesVersion?, nodeCount?}:
    the agents' report, authenticated by the onboarding key alone (no bearer token, as the real agents)."""
    report = request.json_object()
    resource_id, stamp, signature = (report.get(k) for k in ("resourceId", "timestamp", "signature"))
    if not (isinstance(resource_id, str) and isinstance(stamp, int) and isinstance(signature, str)):
        raise HttpError(400, "InvalidRequestContent", "resourceId (string), timestamp (Unix seconds, integer) and "
                        "signature (base64) are required.")
    record = ctx.store.get_resource(resource_id)
    if not record or record["body"]["type"].lower() != CONNECTED_CLUSTER:
        raise HttpError(404, "ResourceNotFound", f"No connected cluster '{resource_id}'.")
    if abs(time.time() - stamp) > CLOCK_SKEW:
        raise HttpError(401, "AgentAuthenticationFailed", f"The report's timestamp is more than {CLOCK_SKEW} s off "
                        "the service's clock.")
    if stamp <= (record.get("private") or {}).get("agentLastReport", 0):
        raise HttpError(401, "AgentAuthenticationFailed", "The report is not newer than the last one (replayed?).")
    key = agent_key(record["body"]["properties"].get("agentPublicKeyCertificate"))
    try:
        key.verify(base64.b64decode(signature, validate=True), signed_message(resource_id, stamp),
                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError, AttributeError):
        raise HttpError(401, "AgentAuthenticationFailed", "The signature does not verify with the cluster's "
                        "agentPublicKeyCertificate: the agents do not hold the onboarding key.") from None
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def connect(body, private):
        private["agentLastReport"] = stamp
        body["properties"].update(
            connectivityStatus="Connected", lastConnectivityTime=now,
            agentVersion=str(report.get("agentVersion") or "lab-standin"),
            kubernetesVersion=str(report.get("kubernetesVersion") or "") or None,
            totalNodeCount=report.get("nodeCount") if isinstance(report.get("nodeCount"), int) else None)
    ctx.store.update_body(record["body"]["id"], connect)
    return Response(200, {"connectivityStatus": "Connected", "lastConnectivityTime": now})
