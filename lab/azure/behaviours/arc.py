"""Azure Arc connected clusters (Microsoft.Kubernetes/connectedClusters) backed by the lab's Kubernetes.

What `az connectedk8s connect` sends is checked as the resource provider checks it: a system-assigned identity and
the agents' public key (base64 DER). The resource is Connected while a lab cluster backs it ($LAB_DIR/kube/<cluster>,
cluster name = tag `lab-cluster`, else the resource name), Connecting otherwise (as before the agents report in).
listClusterUserCredential answers that cluster's kubeconfig for authenticationMethod Token without the client proxy
(the lab has no cluster connect relay: asked for it, it says so).
"""
import base64
import binascii
import os
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.aks import bad, lab_cluster_file, lab_cluster_kubeconfig
from lab.azure.web import HttpError

DISTRIBUTIONS = ("generic", "openshift", "aks", "aks_hci", "k3s", "kind", "eks", "gke", "rancher_rke", "capz")


class ConnectedCluster(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        if (body.get("identity") or {}).get("type") != "SystemAssigned":
            bad("The connected cluster needs identity.type 'SystemAssigned'.", "InvalidIdentity")
        key = props.get("agentPublicKeyCertificate") or ""
        try:
            decoded = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if not decoded:
            bad("properties.agentPublicKeyCertificate must be the agents' public key, base64 DER.",
                "InvalidAgentPublicKeyCertificate")
        kept = (previous or {}).get("body", {}).get("properties", {})
        if kept and kept.get("agentPublicKeyCertificate") != key:
            bad("agentPublicKeyCertificate cannot be changed; delete the connected cluster and connect it again.",
                "PropertyChangeNotAllowed")
        distribution = (props.get("distribution") or "generic").lower()
        if distribution not in DISTRIBUTIONS:
            bad(f"properties.distribution '{props.get('distribution')}' is not one of {', '.join(DISTRIBUTIONS)}.")
        old_identity = (previous or {}).get("body", {}).get("identity") or {}
        body["identity"].update(principalId=old_identity.get("principalId") or str(uuid.uuid4()),
                                tenantId=ctx.facts["tenantId"])
        backed = os.path.exists(lab_cluster_file(ctx, body, "kubeconfig"))
        props.update(connectivityStatus="Connected" if backed else "Connecting",
                     kubernetesVersion=kept.get("kubernetesVersion") or ("1.37.1" if backed else None),
                     totalNodeCount=1 if backed else None, agentVersion="lab" if backed else None,
                     infrastructure=props.get("infrastructure") or "generic")

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
