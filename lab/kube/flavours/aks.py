"""The AKS flavour: the Azure Workload Identity webhook, wired to the lab's Entra emulator.

The OIDC issuer (discovery and JWKS) and projected service-account tokens are the API's own (lab/kube/tokens.py);
what AKS adds is the webhook. Its AZURE_AUTHORITY_HOST is the Entra a pod reaches: when that is the lab's emulator
on 127.0.0.1, start() offers it on the cluster network's gateway (gateway_tls.GatewayTls, same port) and pods get
https://<gateway>:<port>/. Without a lab, the public cloud's https://login.microsoftonline.com/ as on AKS.
"""
import os
import urllib.parse

from lab.ca import LabCA
from lab.kube.flavours.gateway_tls import GatewayTls
from lab.kube.flavours.workload_identity import WorkloadIdentityWebhook

PUBLIC_AUTHORITY = "https://login.microsoftonline.com/"
LOOPBACK = "127.0.0.1"


def lab_defaults(lab_dir=None):
    """tenant, authority host and CA of a running lab (LAB_DIR or <repo>/.lab), or {} without one."""
    from lab.cli import Lab, LabError   # late: lab.cli pulls in the whole launcher
    try:
        env = Lab(lab_dir or os.environ.get("LAB_DIR") or None).env()
    except (LabError, OSError):
        return {}
    return {"tenant_id": env["tenant_id"], "authority_host": env["authority_host"], "ca_file": env["lab_ca_cert"]}


class AksExtension:
    name = "aks"

    def __init__(self, tenant_id=None, authority_host=None, ca_file=None, lab_dir=None):
        found = {} if tenant_id and authority_host else lab_defaults(lab_dir)
        self.tenant_id = tenant_id or found.get("tenant_id", "")
        self.authority_host = authority_host or found.get("authority_host") or PUBLIC_AUTHORITY
        self.ca_file = ca_file or found.get("ca_file")
        self.webhook = WorkloadIdentityWebhook(self.tenant_id, self.authority_host)
        self.relay = None
        self.cluster = None

    def resources(self):
        return []

    def admissions(self):
        return [self.webhook]

    def http_paths(self):
        return {}

    def start(self, cluster):
        self.cluster = cluster
        parsed = urllib.parse.urlsplit(self.authority_host)
        if parsed.hostname != LOOPBACK:
            return
        ca = LabCA(os.path.dirname(cluster.ca_file))
        cert, key = ca.issue_server_cert(f"kube-{cluster.name}-gateway", sans=(cluster.gateway,))
        self.relay = GatewayTls(cluster.gateway, parsed.port, parsed.port, cert, key,
                                self.ca_file or cluster.ca_file).start()
        self.webhook.authority_host = f"https://{cluster.gateway}:{parsed.port}/"

    def stop(self):
        if self.relay:
            self.relay.stop()
            self.relay = None

    def report(self):
        return {"workloadIdentity": {
            "issuer": self.cluster.tokens.issuer if self.cluster else None, "tenantId": self.tenant_id,
            "authorityHost": self.authority_host, "authorityHostFromPods": self.webhook.authority_host}}
