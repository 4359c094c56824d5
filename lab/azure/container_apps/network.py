"""One podman network per managed environment (a /24 under 10.89.128.0/17); the host answers on its gateway."""
import hashlib
import ipaddress
import threading

from lab.azure.container_apps import labels, lab_key, private_access
from lab.containers.runtime import ContainerError, podman, podman_json

POOL = ipaddress.ip_network("10.89.128.0/17")
_LOCK = threading.Lock()


def network_name(ctx, env_id):
    return f"medimaging-ca-{lab_key(ctx.layout.root)[:4]}-" + hashlib.sha256(env_id.lower().encode()).hexdigest()[:8]


def _subnets_in_use():
    used = set()
    for network in podman_json("network", "ls", "--format", "json"):
        for subnet in network.get("subnets") or []:
            used.add(ipaddress.ip_network(subnet["subnet"]))
    return used


def ensure(ctx, env_id):
    """(network name, gateway address) of the environment's network, created on first use."""
    name = network_name(ctx, env_id)
    with _LOCK:
        found = podman_json("network", "ls", "--format", "json", "--filter", f"name=^{name}$")
        for attempt in range(3):  # another lab on this machine may take the same free subnet at the same moment
            if found:
                break
            used = _subnets_in_use()
            start = int(hashlib.sha256(env_id.lower().encode()).hexdigest(), 16) % 128 + attempt
            candidates = list(POOL.subnets(new_prefix=24))
            subnet = next((s for s in candidates[start:] + candidates[:start] if not any(s.overlaps(u) for u in used)),
                          None)
            if subnet is None:
                raise ContainerError(f"no free /24 left in {POOL} for a Container Apps environment network: remove "
                                     "unused lab networks (python -m lab.containers clean container-apps)")
            podman("network", "create", *labels(ctx), "--subnet", str(subnet), "--gateway", str(subnet[1]), name,
                   check=attempt == 2)
            found = podman_json("network", "ls", "--format", "json", "--filter", f"name=^{name}$")
    private_access.register_network(found[0]["subnets"][0]["subnet"], env_id)
    return name, found[0]["subnets"][0]["gateway"]


def gateway(ctx, env_id):
    """The gateway of the environment's network, or None when it has none."""
    found = podman_json("network", "ls", "--format", "json", "--filter", f"name=^{network_name(ctx, env_id)}$")
    return found[0]["subnets"][0]["gateway"] if found else None


def remove(ctx, env_id):
    """Remove the network and whatever is still attached to it."""
    private_access.forget_network(env_id)
    podman("network", "rm", "-f", network_name(ctx, env_id), check=False)
