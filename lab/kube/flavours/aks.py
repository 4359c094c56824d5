"""The AKS flavour: the Azure Workload Identity webhook, always installed, wired to the lab's Entra emulator.

The OIDC issuer (discovery and JWKS) and projected service-account tokens are the API's own (lab/kube/tokens.py);
what AKS adds is the webhook and the Entra its pods reach (pod_identity.py, shared with the OpenShift flavour, where
Arc installs the same webhook when the connected cluster has workload identity on).
"""
from lab.kube.flavours.pod_identity import PUBLIC_AUTHORITY, PodWorkloadIdentity, lab_defaults  # noqa: F401

__all__ = ["AksExtension", "PUBLIC_AUTHORITY", "lab_defaults"]


class AksExtension(PodWorkloadIdentity):
    name = "aks"

    def __init__(self, tenant_id=None, authority_host=None, ca_file=None, lab_dir=None):
        super().__init__(tenant_id, authority_host, ca_file, lab_dir)
