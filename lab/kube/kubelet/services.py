"""PodmanServiceNetwork: Services reachable from pods (a ClusterIP on the cluster network's bridge) and from this
machine (a 127.0.0.1 port per Service port), both forwarding TCP round-robin to the Ready endpoints.

A small anchor pod keeps the network's bridge up while no workload runs (netavark removes an unused bridge, and
the Service addresses with it)."""
import logging
import socket
import subprocess

from lab.containers.runtime import owner_label, podman
from lab.kube.kubelet.forwarder import Forwarders
from lab.kube.kubelet.network import ClusterNetwork, cluster_owner

LOG = logging.getLogger("lab.kube.kubelet")


def _ip(*args):
    return subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def _target(port, endpoint):
    """An endpoint's port for a Service port: by the port's name or number, else targetPort, else port."""
    ports = endpoint.get("ports") or {}
    for key in (port.get("name", ""), port["port"], str(port["port"]), port.get("targetPort")):
        if key is not None and key in ports:
            return int(ports[key])
    target = port.get("targetPort", port["port"])
    return int(target) if str(target).isdigit() else None


def _port_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class PodmanServiceNetwork:
    """The lab's kube-proxy (lab.kube.contracts.ServiceNetwork).

    cluster    the cluster's name (labels io.medimaging.lab=kube-<cluster>)
    network    the ClusterNetwork the PodmanRuntime uses (None: kube-<cluster>, created if absent)

    sync(service, endpoints) returns {"clusterIP": address or "None" (headless), "hostPorts": {service port:
    127.0.0.1 port}, "nodePorts": {service port: nodePort also listening on 127.0.0.1}}. For type LoadBalancer
    the API side sets status.loadBalancer.ingress [{"ip": "127.0.0.1"}]; the ports to use are hostPorts (or
    nodePorts). A spec.clusterIP inside the network's Service range is kept; any other is replaced by a free one.
    Only TCP ports are forwarded (UDP/SCTP are ignored)."""

    def __init__(self, cluster, state_dir=None, network=None):
        self.cluster, self.owner, self.state_dir = cluster, cluster_owner(cluster), state_dir
        self.network = (network or ClusterNetwork(cluster)).ensure()
        self._anchor = f"{self.owner}-services"
        podman("pod", "create", "--name", self._anchor, "--network", self.network.name,
               "--label", owner_label(self.owner), check=False)
        podman("pod", "start", self._anchor)
        self._forwarders = Forwarders(cluster)
        self._addresses = {}          # (namespace, name) -> cluster IP
        self._host_ports = {}         # (namespace, name) -> {service port: host port}
        self._node_ports = {}

    def sync(self, service, endpoints):
        meta, spec = service["metadata"], service.get("spec") or {}
        key = (meta.get("namespace", "default"), meta["name"])
        if spec.get("clusterIP") == "None" or spec.get("type") == "ExternalName":
            self.delete(*key)
            return {"clusterIP": spec.get("clusterIP", "None"), "hostPorts": {}, "nodePorts": {}}
        address = self._address(key, spec.get("clusterIP"))
        wanted, host_ports, node_ports = set(), {}, {}
        for port in spec.get("ports") or []:
            if port.get("protocol", "TCP") != "TCP":
                continue
            backends = [(ep["ip"], target) for ep in endpoints if (target := _target(port, ep)) is not None]
            number = port["port"]
            for kind, host, bind in (("cluster", address, number),
                                     ("host", "127.0.0.1", self._host_ports.get(key, {}).get(number, 0))):
                listener = (*key, kind, number)
                wanted.add(listener)
                bound = self._forwarders.listen(listener, host, bind, backends)
                if kind == "host":
                    host_ports[number] = bound
            node_port = port.get("nodePort")
            if node_port and spec.get("type") in ("NodePort", "LoadBalancer"):
                listener = (*key, "node", number)
                if listener in self._forwarders.keys() or _port_free(node_port):
                    wanted.add(listener)
                    node_ports[number] = self._forwarders.listen(listener, "127.0.0.1", node_port, backends)
        for listener in self._forwarders.keys():
            if listener[:2] == key and listener not in wanted:
                self._forwarders.close(listener)
        self._host_ports[key], self._node_ports[key] = host_ports, node_ports
        return {"clusterIP": address, "hostPorts": dict(host_ports), "nodePorts": dict(node_ports)}

    def delete(self, namespace, name):
        key = (namespace, name)
        for listener in self._forwarders.keys():
            if listener[:2] == key:
                self._forwarders.close(listener)
        address = self._addresses.pop(key, None)
        if address:
            _ip("addr", "del", f"{address}/32", "dev", self.network.interface)
        self._host_ports.pop(key, None)
        self._node_ports.pop(key, None)

    def shutdown(self):
        for key in list(self._addresses) + [listener[:2] for listener in self._forwarders.keys()]:
            self.delete(*key)
        self._forwarders.shutdown()
        podman("pod", "rm", "-f", self._anchor, check=False)

    def _address(self, key, requested):
        if key in self._addresses:
            return self._addresses[key]
        taken = set(self._addresses.values())
        pool = self.network.service_addresses()
        if requested in pool and requested not in taken:
            address = requested
        else:
            free = [candidate for candidate in pool if candidate not in taken]
            if not free:
                raise RuntimeError(f"no Service address left in {self.network.subnet}'s upper half")
            address = free[0]
        done = _ip("addr", "add", f"{address}/32", "dev", self.network.interface)
        if done.returncode != 0 and b"exists" not in done.stderr:
            raise RuntimeError(f"cannot add Service address {address} to {self.network.interface}: "
                               f"{done.stderr.decode().strip()}")
        self._addresses[key] = address
        return address

