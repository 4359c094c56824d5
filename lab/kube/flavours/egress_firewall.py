"""OVN-Kubernetes' EgressFirewall (k8s.ovn.org/v1), enforced on the lab's pods.

OpenShift's default network (OVN-Kubernetes) installs the CRD; one object per namespace, named `default`, holds
ordered rules {type: Allow|Deny, to: {cidrSelector | dnsName | nodeSelector}, ports: [{protocol, port}]}. For
traffic from the namespace's pods to destinations outside the cluster the first matching rule wins; traffic no
rule matches is allowed. Pod-to-pod and pod-to-Service traffic is not subject to it.

The lab enforces it where the pods really send packets: an iptables filter table written with iptables-restore
(atomic) into each pod's network namespace, entered from this machine with nsenter (the image needs no tools),
when the kubelet has made the pod's sandbox (before any container starts) and again whenever the namespace's
firewall or a dnsName's addresses change. "Outside the cluster" is every address but the pods' and Services'
(the cluster network without its gateway: the gateway is this machine, the node, where the lab's cloud stands in).
Replies of connections made to the pod (ESTABLISHED) pass, as OVN's stateful ACLs let them. Pods of a namespace
without a firewall are never touched (their network namespace keeps its empty filter table).

Denied packets are dropped (OVN's ACL action), so a denied connect times out. dnsName is resolved here with this
machine's resolver (the lab has no cluster DNS) every DNS_REFRESH seconds; nodeSelector matches the lab's one node
(its address is the gateway). IPv4 only (the lab's networks are IPv4); an IPv6 cidrSelector is stored, not applied.
"""
import ipaddress
import logging
import os
import socket
import subprocess
import threading
import time

from lab.containers.runtime import podman_json
from lab.kube.contracts import AdmissionDenied, UserInfo

LOG = logging.getLogger("lab.kube.egress_firewall")
GROUP, VERSION, PLURAL, KIND = "k8s.ovn.org", "v1", "egressfirewalls", "EgressFirewall"
API_VERSION = f"{GROUP}/{VERSION}"
CHAIN, RULES = "OVN-EGRESS-FIREWALL", "OVN-EGRESS-RULES"
PROTOCOLS = ("TCP", "UDP", "SCTP")
DNS_REFRESH = 30.0
SYSTEM = UserInfo("system:ovn-kubernetes", ("system:masters",))

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": PLURAL, "singular": "egressfirewall", "kind": KIND, "listKind": KIND + "List"},
             "versions": [{"name": VERSION, "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


def problems(firewall):
    """OVN's refusals of an EgressFirewall (its CRD validation): a list of 'field: reason' strings."""
    found = []
    if firewall["metadata"].get("name") != "default":
        found.append('metadata.name: Invalid value: "%s": only one EgressFirewall per namespace, named "default"'
                     % firewall["metadata"].get("name"))
    rules = (firewall.get("spec") or {}).get("egress")
    if not rules:
        return found + ["spec.egress: Required value"]
    if not isinstance(rules, list):
        return found + [f"spec.egress: Invalid value: {type(rules).__name__}: must be a list of rules"]
    for index, rule in enumerate(rules):
        at = f"spec.egress[{index}]"
        if rule.get("type") not in ("Allow", "Deny"):
            found.append(f'{at}.type: Unsupported value: "{rule.get("type")}": supported values: "Allow", "Deny"')
        to = rule.get("to") or {}
        given = [key for key in ("cidrSelector", "dnsName", "nodeSelector") if key in to]
        if len(given) != 1:
            found.append(f"{at}.to: Invalid value: exactly one of cidrSelector, dnsName, nodeSelector")
        elif given == ["cidrSelector"]:
            try:
                ipaddress.ip_network(to["cidrSelector"], strict=False)
            except ValueError:
                found.append(f'{at}.to.cidrSelector: Invalid value: "{to["cidrSelector"]}": not a CIDR')
        for pindex, port in enumerate(rule.get("ports") or []):
            if port.get("protocol", "").upper() not in PROTOCOLS:
                found.append(f'{at}.ports[{pindex}].protocol: Unsupported value: "{port.get("protocol")}"')
            if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
                found.append(f"{at}.ports[{pindex}].port: Invalid value: {port.get('port')!r}: 1-65535")
    return found


class EgressFirewallAdmission:
    """Validates EgressFirewalls as their CRD schema and OVN's webhook do (422 with the field)."""
    name = "k8s.ovn.org/EgressFirewall"
    mutating = False

    def admit(self, request):
        if request.resource.plural != PLURAL or request.operation not in ("CREATE", "UPDATE") or request.subresource:
            return
        found = problems(request.obj)
        if found:
            raise AdmissionDenied(f'{KIND}.{GROUP} "{request.name}" is invalid: ' + ", ".join(found), code=422,
                                  reason="Invalid")


def selects(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against labels."""
    labels = labels or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values or operator == "NotIn" and labels.get(key) in values
                or operator == "Exists" and key not in labels or operator == "DoesNotExist" and key in labels):
            return False
    return True


def destinations(to, resolve, nodes):
    """The IPv4 networks one rule's `to` names (a name or selector that matches nothing: none)."""
    if "cidrSelector" in to:
        network = ipaddress.ip_network(to["cidrSelector"], strict=False)
        return [str(network)] if network.version == 4 else []
    if "dnsName" in to:
        return [f"{address}/32" for address in resolve(to["dnsName"])]
    return [f"{address}/32" for labels, address in nodes if selects(to["nodeSelector"], labels)]


def filter_table(rules, cluster_subnet, gateway, resolve, nodes=()):
    """The pod's whole iptables filter table (iptables-restore input) for these ordered rules (none: open)."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             f":{CHAIN} - [0:0]", f":{RULES} - [0:0]", f"-A OUTPUT -j {CHAIN}",
             f"-A {CHAIN} -o lo -j RETURN",
             f"-A {CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN",
             # The gateway is this machine (the node, and the lab's stand-in cloud); the rest of the subnet is
             # pods and Services, inside the cluster.
             f"-A {CHAIN} -d {gateway}/32 -g {RULES}",
             f"-A {CHAIN} -d {cluster_subnet} -j RETURN",
             f"-A {CHAIN} -g {RULES}"]
    for rule in rules:
        target = "ACCEPT" if rule["type"] == "Allow" else "DROP"
        ports = [(p["protocol"].lower(), p["port"]) for p in rule.get("ports") or []]
        for network in destinations(rule.get("to") or {}, resolve, nodes):
            if not ports:
                lines.append(f"-A {RULES} -d {network} -j {target}")
            for protocol, port in ports:
                lines.append(f"-A {RULES} -d {network} -p {protocol} -m {protocol} --dport {port} -j {target}")
    return "\n".join(lines + ["COMMIT", ""])


# A pod's filter table once its namespace's firewall is gone: ours removed, everything accepted.
OPEN_TABLE = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


def host_resolver(name):
    """This machine's answer for a name (IPv4), sorted; [] when it does not resolve."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)})
    except OSError:
        return []


class _Sandbox:
    def __init__(self, namespace, name, uid, pid):
        self.namespace, self.name, self.uid, self.pid = namespace, name, uid, str(pid)
        self.netns = os.readlink(f"/proc/{pid}/ns/net")
        self.applied = None


class EgressFirewalls:
    """Keeps every pod's filter table equal to its namespace's EgressFirewall.

    sandbox_ready(namespace, name, uid, pid) is the kubelet's hook (pid: the pod's infra process, which holds its
    network namespace); start(cluster) runs the loop that follows firewall, pod and DNS changes."""

    def __init__(self, interval=0.5, resolve=host_resolver):
        self.interval, self._resolve = interval, resolve
        self.store = self.cluster = self.subnet = None
        self._sandboxes = {}                       # uid -> _Sandbox
        self._dns = {}                             # name -> (addresses, resolved at)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def start(self, cluster):
        self.cluster, self.store = cluster, cluster.store
        self.subnet = podman_json("network", "inspect", cluster.network)[0]["subnets"][0]["subnet"]
        self._thread = threading.Thread(target=self._loop, name="ovn-egress-firewall", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def sandbox_ready(self, namespace, name, uid, pid):
        """Called by the kubelet before the pod's containers start: the firewall is there from the first packet."""
        sandbox = _Sandbox(namespace, name, uid, pid)
        with self._lock:
            self._sandboxes[uid] = sandbox
        if self.store is not None:
            self._apply(sandbox, self._table(namespace))

    def _wanted(self, sandbox, table):
        """Whether the pod's table must be written: a namespace without a firewall leaves its pods untouched."""
        if table is None:
            return sandbox.applied not in (None, OPEN_TABLE)
        return table != sandbox.applied

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except Exception:  # pylint: disable=broad-except - the loop must outlive one bad round
                LOG.exception("egress firewall round failed")

    def sync(self):
        present = {p["metadata"]["uid"] for p in self.store.list("v1", "pods")}
        with self._lock:
            for uid in [uid for uid in self._sandboxes if uid not in present]:
                del self._sandboxes[uid]
            sandboxes = list(self._sandboxes.values())
        tables = {}
        for sandbox in sandboxes:
            if sandbox.namespace not in tables:
                tables[sandbox.namespace] = self._table(sandbox.namespace)
            if self._wanted(sandbox, tables[sandbox.namespace]):
                self._apply(sandbox, tables[sandbox.namespace] or OPEN_TABLE)

    def _table(self, namespace):
        firewall = self.store.get(API_VERSION, PLURAL, namespace, "default") if self._served() else None
        rules = (firewall or {}).get("spec", {}).get("egress") or []
        if not rules:
            return None
        nodes = [((n["metadata"].get("labels") or {}), self.cluster.gateway) for n in self.store.list("v1", "nodes")]
        return filter_table(rules, self.subnet, self.cluster.gateway, self._cached_resolve, nodes)

    def _served(self):
        try:
            self.store.list(API_VERSION, PLURAL)
            return True
        except Exception:  # pylint: disable=broad-except - the CRD may be deleted
            return False

    def _cached_resolve(self, name):
        addresses, when = self._dns.get(name, (None, 0.0))
        if addresses is None or time.monotonic() - when > DNS_REFRESH:
            addresses = self._resolve(name)
            self._dns[name] = (addresses, time.monotonic())
        return addresses

    def _apply(self, sandbox, table):
        if table is None:                               # no firewall for a new pod: nothing to write
            return
        try:
            if os.readlink(f"/proc/{sandbox.pid}/ns/net") != sandbox.netns:   # the pod is gone, its pid reused
                raise FileNotFoundError(sandbox.pid)
        except OSError:
            with self._lock:
                self._sandboxes.pop(sandbox.uid, None)
            return
        done = subprocess.run(["nsenter", "-t", sandbox.pid, "-n", "iptables-restore"], input=table.encode(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if done.returncode != 0:
            LOG.warning("egress firewall for pod %s/%s not applied: %s", sandbox.namespace, sandbox.name,
                        done.stderr.decode(errors="replace").strip())
            return
        sandbox.applied = table


class OvnExtension:
    """The part of OpenShift's default network (OVN-Kubernetes) the lab has: the EgressFirewall CRD, validated and
    enforced. A ClusterExtension (lab/kube/contracts.py); the kubelet calls sandbox_ready for each new pod."""
    name = "ovn-kubernetes"

    def __init__(self, interval=0.5, resolve=host_resolver):
        self.firewalls = EgressFirewalls(interval, resolve)

    def resources(self):
        return []

    def admissions(self):
        return [EgressFirewallAdmission()]

    def http_paths(self):
        return {}

    def start(self, cluster):
        if cluster.store.get("apiextensions.k8s.io/v1", "customresourcedefinitions", "", CRD["metadata"]["name"]) is None:
            cluster.store.create(CRD, SYSTEM)
        if cluster.network:                         # no pods, nothing to enforce
            self.firewalls.start(cluster)

    def sandbox_ready(self, namespace, name, uid, pid):
        self.firewalls.sandbox_ready(namespace, name, uid, pid)

    def stop(self):
        self.firewalls.stop()

    def report(self):
        return {}
