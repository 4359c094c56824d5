"""Private endpoints in the lab: how a service with public network access disabled tells callers apart.

A replica of a container app reaches the cloud side at the same URLs as everyone (https://127.0.0.1:<port>/...):
inside its network namespace, traffic to the lab's ports on 127.0.0.1 is sent on to its environment network's gateway
(iptables DNAT + MASQUERADE, entered with nsenter), where the emulator and the vaults listen too, and a relay
carries PostgreSQL and Azurite traffic on to 127.0.0.1 (those two do not tell callers apart).
So a caller's source address says where it comes from: 127.0.0.1 is the public internet; an address of an
environment network is that environment's VNet. A service whose publicNetworkAccess is Disabled answers only callers
from an environment whose VNet holds a private endpoint to it (to the DICOM service or its workspace, to the vault);
everyone else gets the service's own 403.
"""
import ipaddress
import subprocess
import threading

from lab.azure.container_apps import identity
from lab.azure.container_apps.ingress import Ingress
from lab.azure.web import HttpError, LabHttpsServer
from lab.containers.runtime import ContainerError, podman

IP_FREEBIND = 15
ENDPOINT_TYPE = "microsoft.network/privateendpoints"
_NETWORKS = {}   # ip_network of an environment's podman network -> environment id
_SERVERS = {}    # (gateway, port) -> server
_LOCK = threading.Lock()


class _GatewayServer(LabHttpsServer):
    def server_bind(self):
        self.socket.setsockopt(0, IP_FREEBIND, 1)  # SOL_IP: the gateway appears with the first container
        super().server_bind()


def register_network(subnet, env_id):
    _NETWORKS[ipaddress.ip_network(subnet)] = env_id


def forget_network(env_id):
    for subnet in [s for s, e in _NETWORKS.items() if e.lower() == env_id.lower()]:
        _NETWORKS.pop(subnet, None)
    with _LOCK:
        for key in list(_SERVERS):
            if not any(ipaddress.ip_address(key[0]) in s for s in _NETWORKS):
                server = _SERVERS.pop(key)
                if isinstance(server, Ingress):
                    server.close()
                else:
                    server.shutdown()
                    server.server_close()


def _listen(ctx, gateway, port, app):
    with _LOCK:
        if (gateway, port) not in _SERVERS:
            server = _GatewayServer((gateway, port), app, ctx.server_cert, ctx.server_key)
            _SERVERS[(gateway, port)] = server
            threading.Thread(target=server.serve_forever, name=f"private-{gateway}:{port}", daemon=True).start()


def _relay(ctx, gateway, port):
    """A TCP relay gateway:port -> 127.0.0.1:port for the lab services that run as their own processes."""
    with _LOCK:
        if (gateway, port) not in _SERVERS:
            relay = Ingress(ctx, gateway, port)
            relay.configure({"transport": "tcp"}, [("127.0.0.1", port)])
            _SERVERS[(gateway, port)] = relay


def cloud_ports(ctx):
    """{port: app} of the services a replica reaches: the emulator (ARM, Entra, DICOM) and each vault."""
    from lab.azure.vault_data import VaultApp  # noqa: PLC0415 - vault_data imports this module
    ports = {ctx.facts["ports"]["emulator"]: ctx}
    for vault in ctx.store.resources(lambda r: r["body"]["type"].lower() == "microsoft.keyvault/vaults"):
        if vault["private"].get("port"):
            ports[vault["private"]["port"]] = VaultApp(ctx, vault["body"]["id"])
    return ports


def connect(ctx, container, gateway):
    """Let the replica reach the cloud services' 127.0.0.1 ports through its network's gateway."""
    ports = cloud_ports(ctx)
    for port, app in ports.items():
        _listen(ctx, gateway, port, app)
    relayed = [ctx.facts["ports"][name] for name in ("postgres", "azurite") if ctx.facts["ports"].get(name)]
    for port in relayed:
        _relay(ctx, gateway, port)
    ports = {**ports, **{port: None for port in relayed}}
    pid = podman("container", "inspect", "--format", "{{.State.Pid}}", container).stdout.decode().strip()
    enter = ["nsenter", "-t", pid, "-n"]
    listed = ",".join(str(p) for p in sorted(set(ports) | {identity.PORT}))  # the identity endpoint is localhost:42356
    for argv in (["sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=1"],
                 ["iptables", "-w", "5", "-t", "nat", "-A", "OUTPUT", "-d", "127.0.0.1/32", "-p", "tcp", "-m",
                  "multiport", "--dports", listed, "-j", "DNAT", "--to-destination", gateway],
                 ["iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-s", "127.0.0.1/32", "-d",
                  f"{gateway}/32", "-j", "MASQUERADE"]):
        done = subprocess.run(enter + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if done.returncode != 0:
            raise ContainerError(f"`{' '.join(argv[:3])} ...` in {container}'s network failed: "
                                 f"{done.stderr.decode(errors='replace').strip()}")


def environment_of(address):
    try:
        found = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    return next((env for subnet, env in _NETWORKS.items() if found in subnet), None)


def through_private_endpoint(ctx, address, targets):
    """True when `address` is in an environment network whose VNet has a private endpoint to one of targets."""
    env_id = environment_of(address)
    env = ctx.store.get_resource(env_id) if env_id else None
    subnet = ((env or {}).get("body", {}).get("properties", {}).get("vnetConfiguration") or {}).get(
        "infrastructureSubnetId")
    if not subnet:
        return False
    vnet = subnet.lower().rsplit("/subnets/", 1)[0] + "/subnets/"
    wanted = {t.lower() for t in targets}
    for endpoint in ctx.store.resources(lambda r: r["body"]["type"].lower() == ENDPOINT_TYPE):
        props = endpoint["body"].get("properties", {})
        if not str((props.get("subnet") or {}).get("id", "")).lower().startswith(vnet):
            continue
        for connection in (props.get("privateLinkServiceConnections") or []) + \
                (props.get("manualPrivateLinkServiceConnections") or []):
            if str((connection.get("properties") or {}).get("privateLinkServiceId", "")).lower() in wanted:
                return True
    return False


def require(ctx, request, body, targets, refusal):
    """Refuse (refusal: an HttpError) a caller that is not behind a private endpoint when public access is off."""
    if (body.get("properties") or {}).get("publicNetworkAccess") != "Disabled":
        return
    if not through_private_endpoint(ctx, getattr(request, "client_address", None), targets):
        raise refusal


def key_vault_refusal():
    message = ("Public network access is disabled and request is not from a trusted service nor via an approved "
               "private link.")
    return HttpError(403, "Forbidden", message, body={"error": {"code": "Forbidden", "message": message,
                                                                "innererror": {"code": "ForbiddenByConnection"}}})


def dicom_refusal():
    return HttpError(403, "Forbidden", "Access denied: public network access to this DICOM service is disabled; "
                     "reach it through a private endpoint.")
