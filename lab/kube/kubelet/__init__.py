"""The lab kubelet: PodmanRuntime runs Kubernetes Pods as podman pods, PodmanServiceNetwork makes Services reachable.

    network = ClusterNetwork("demo").ensure()          # podman network kube-demo, a free 10.2xx.y.0/24
    runtime = PodmanRuntime("demo", state_dir, network=network)
    services = PodmanServiceNetwork("demo", state_dir, network=network)
    ...
    services.shutdown(); runtime.shutdown()             # addresses and forwarders, then pods and the network

See README.md in this folder for what is emulated and what is not."""
from lab.kube.kubelet.network import ClusterNetwork, cluster_owner
from lab.kube.kubelet.runtime import PodmanRuntime
from lab.kube.kubelet.services import PodmanServiceNetwork

__all__ = ["ClusterNetwork", "PodmanRuntime", "PodmanServiceNetwork", "cluster_owner"]
