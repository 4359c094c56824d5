"""Azure workload identity for a lab cluster's pods: the webhook (workload_identity.py) and the Entra ID pods reach.

AZURE_AUTHORITY_HOST is the Entra a pod reaches: when that is the lab's emulator on 127.0.0.1, pods get
https://<cluster gateway>:<port>/, and start() offers it there (gateway_tls.GatewayTls, same port); relay="on-use"
waits until the webhook first mutates a pod (an Arc cluster's webhook may never be on, and the port may be another
relay's meanwhile: molecule/arc_onboard's agents reach the emulator there); relay=False: something else already does
(the OpenShift hybrid world's site link, lab/openshift_site.py, whose cut must cut Entra too). Without a lab, the
public cloud's https://login.microsoftonline.com/.

Which lab: the options (tenant_id + authority_host, or lab_dir), else the lab whose CA the cluster uses (<lab>/ca, as
`python -m lab.kube up` arranges), looked up at start(). `enabled` (a callable, optional) says whether the webhook is
installed right now: AKS always, an Arc-connected cluster when the connected cluster has workload identity on
(arc_gate.py).
"""
import logging
import os
import urllib.parse

from lab.ca import LabCA
from lab.kube.flavours import write_report
from lab.kube.flavours.gateway_tls import GatewayTls
from lab.kube.flavours.workload_identity import WorkloadIdentityWebhook

PUBLIC_AUTHORITY = "https://login.microsoftonline.com/"
LOOPBACK = "127.0.0.1"
LOG = logging.getLogger(__name__)


def lab_defaults(lab_dir):
    """tenant, authority host and CA of the lab in lab_dir, or {} when there is none (or it is down)."""
    from lab.cli import Lab, LabError   # late: lab.cli pulls in the whole launcher
    if not lab_dir or not os.path.exists(os.path.join(lab_dir, "lab.json")):
        return {}
    try:
        env = Lab(lab_dir).env()
    except (LabError, OSError, KeyError):
        return {}
    return {"tenant_id": env["tenant_id"], "authority_host": env["authority_host"], "ca_file": env["lab_ca_cert"]}


def lab_dir_of(cluster):
    """The lab that holds the cluster's CA (<lab>/ca/ca.pem)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(cluster.ca_file)))


class PodWorkloadIdentity:
    """The webhook as an admission, Entra on the cluster gateway, and what both are in report()."""
    name = "workload-identity"

    def __init__(self, tenant_id=None, authority_host=None, ca_file=None, lab_dir=None, relay=True, enabled=None):
        self.tenant_id, self.authority_host, self.ca_file = tenant_id, authority_host, ca_file
        if lab_dir:
            self._use_lab(lab_dir)
        self.webhook = WorkloadIdentityWebhook(self.tenant_id or "", self.authority_host or PUBLIC_AUTHORITY,
                                               enabled=enabled)
        self.relay_wanted, self.relay, self.cluster, self._relay_port = relay, None, None, None

    def _use_lab(self, lab_dir):
        found = lab_defaults(lab_dir)
        self.tenant_id = self.tenant_id or found.get("tenant_id")
        self.authority_host = self.authority_host or found.get("authority_host")
        self.ca_file = self.ca_file or found.get("ca_file")

    def resources(self):
        return []

    def admissions(self):
        return [self.webhook]

    def http_paths(self):
        return {}

    def start(self, cluster, report=True):
        self.cluster = cluster
        if not (self.tenant_id and self.authority_host):
            self._use_lab(lab_dir_of(cluster))
        self.authority_host = self.authority_host or PUBLIC_AUTHORITY
        self.webhook.tenant_id, self.webhook.authority_host = self.tenant_id or "", self.authority_host
        parsed = urllib.parse.urlsplit(self.authority_host)
        if parsed.hostname == LOOPBACK and cluster.gateway:     # no pod network: pods reach nothing anyway
            self.webhook.authority_host = f"https://{cluster.gateway}:{parsed.port}/"
            self._relay_port = parsed.port
            if self.relay_wanted is True:
                self.ensure_relay()
        if report:
            write_report(cluster.state_dir, self.report())

    def ensure_relay(self):
        """Entra on the gateway, once (relay True or "on-use"); a port already taken is left to its holder."""
        if self.relay or not self.relay_wanted or not self._relay_port:
            return
        cluster = self.cluster
        ca = LabCA(os.path.dirname(cluster.ca_file))
        cert, key = ca.issue_server_cert(f"kube-{cluster.name}-gateway", sans=(cluster.gateway,))
        try:
            self.relay = GatewayTls(cluster.gateway, self._relay_port, self._relay_port, cert, key,
                                    self.ca_file or cluster.ca_file).start()
        except OSError as err:
            LOG.warning("Entra not offered on %s:%s for pods (%s): something else holds the port", cluster.gateway,
                        self._relay_port, err)
            self.relay_wanted = False

    def stop(self):
        if self.relay:
            self.relay.stop()
            self.relay = None

    def report(self):
        return {"workloadIdentity": {
            "issuer": self.cluster.tokens.issuer if self.cluster else None, "tenantId": self.tenant_id,
            "authorityHost": self.authority_host, "authorityHostFromPods": self.webhook.authority_host}}
