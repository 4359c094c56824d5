"""The cluster's own podman network: pods get their IPs from the lower half of its subnet, Services theirs from the
top slice (addresses the network never leases), added to the network's bridge on this machine."""
import hashlib
import ipaddress

from lab.containers.runtime import ContainerError, owner_label, podman, podman_json


def cluster_owner(cluster):
    """The io.medimaging.lab label value of everything a cluster's kubelet creates."""
    return f"kube-{cluster}"


class ClusterNetwork:
    """A /24 (or larger) bridge network labelled io.medimaging.lab=kube-<cluster>, created on first ensure().

    name defaults to kube-<cluster>; subnet defaults to a free 10.200-249.x.0/24 derived from the cluster name."""

    def __init__(self, cluster, name=None, subnet=None):
        self.cluster = cluster
        self.name = name or cluster_owner(cluster)
        self._wanted_subnet = subnet
        self.subnet = self.gateway = self.interface = None

    def ensure(self):
        """Create the network if absent; returns self with subnet, gateway and interface (the bridge) set."""
        existing = [net for net in podman_json("network", "ls", "--format", "json") if net["name"] == self.name]
        if not existing:
            subnet = ipaddress.ip_network(self._wanted_subnet or self._free_subnet())
            pods = list(subnet.subnets(prefixlen_diff=1))[0]   # leases only from the lower half
            podman("network", "create", "--label", owner_label(cluster_owner(self.cluster)), "--subnet", subnet,
                   "--ip-range", pods, "--disable-dns", self.name)
            existing = [net for net in podman_json("network", "inspect", self.name)]
        net = existing[0]
        first = net["subnets"][0]
        if self._wanted_subnet and ipaddress.ip_network(first["subnet"]) != ipaddress.ip_network(self._wanted_subnet):
            raise ContainerError(f"podman network {self.name} exists with subnet {first['subnet']}, not "
                                 f"{self._wanted_subnet}: remove it (podman network rm {self.name}) or pass its subnet")
        self.subnet = ipaddress.ip_network(first["subnet"])
        self.gateway = first["gateway"]
        self.interface = net["network_interface"]
        return self

    def service_addresses(self):
        """The addresses Services may take: the upper half of the subnet without its broadcast address."""
        upper = list(self.subnet.subnets(prefixlen_diff=1))[1]
        return [str(ip) for ip in upper.hosts()]

    def remove(self):
        podman("network", "rm", "-f", self.name, check=False)

    def _free_subnet(self):
        used = set()
        for net in podman_json("network", "ls", "--format", "json"):
            for sub in net.get("subnets") or []:
                used.add(ipaddress.ip_network(sub["subnet"]))
        seed = int(hashlib.sha256(self.cluster.encode()).hexdigest(), 16)
        for step in range(50 * 256):
            index = (seed + step) % (50 * 256)
            candidate = ipaddress.ip_network(f"10.{200 + index // 256}.{index % 256}.0/24")
            if not any(candidate.overlaps(other) for other in used):
                return str(candidate)
        raise ContainerError("no free /24 left in 10.200.0.0-10.249.255.0 for the cluster network: pass subnet=")
