"""Private DNS zones, their VNet links, private endpoints and DNS zone groups, as Azure runs them:

- a zone with VNet links cannot be deleted; a VNet is linked to a zone once; a link names an existing VNet;
- an endpoint needs an existing subnet and target and a sub-resource (groupId) the target offers; it gets an
  address from its subnet (the first four are Azure's) and the target's FQDNs in customDnsConfigs;
- a DNS zone group names existing zones and records the endpoint's A records in the zones that match.
"""
import ipaddress
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.network import subnet_exists
from lab.azure.web import HttpError

LINK_TYPE = "microsoft.network/privatednszones/virtualnetworklinks"
ENDPOINT_TYPE = "microsoft.network/privateendpoints"
# target type -> {groupId: FQDN templates ({name}: the target's name, {parent}: its parent's)}
TARGETS = {
    "microsoft.keyvault/vaults": {"vault": ("{name}.vault.azure.net",)},
    "microsoft.storage/storageaccounts": {kind: (f"{{name}}.{kind}.core.windows.net",)
                                          for kind in ("blob", "file", "queue", "table", "dfs", "web")},
    "microsoft.healthcareapis/workspaces": {"healthcareworkspace": ("{name}.workspace.azurehealthcareapis.com",)},
    "microsoft.dbforpostgresql/flexibleservers": {"postgresqlServer": ("{name}.postgres.database.azure.com",)},
    "microsoft.containerservice/managedclusters": {"management": ("{name}.privatelink.{location}.azmk8s.io",)},
    "microsoft.app/managedenvironments": {"managedEnvironments": ("{name}.{location}.azurecontainerapps.io",)},
}
# The privatelink zone of a public DNS suffix, where it is not simply privatelink.<suffix>.
ZONE_OF = {"vault.azure.net": "privatelink.vaultcore.azure.net"}


def _resource(ctx, resource_id):
    return ctx.store.get_resource(resource_id) if isinstance(resource_id, str) else None


def _type_of(resource_id):
    parts = resource_id.split("/")
    return f"{parts[6]}/{'/'.join(parts[7::2])}".lower() if len(parts) > 8 else ""


class PrivateDnsZone(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].setdefault("properties", {})
        links = [r for r in ctx.store.children_of(record["body"]["id"]) if r["body"]["type"].lower() == LINK_TYPE]
        props.update(maxNumberOfRecordSets=25000, maxNumberOfVirtualNetworkLinks=1000,
                     maxNumberOfVirtualNetworkLinksWithRegistration=100, numberOfVirtualNetworkLinks=len(links),
                     numberOfRecordSets=1 + len((record.get("private") or {}).get("records", {})))

    def before_delete(self, ctx, record):
        links = [r for r in ctx.store.children_of(record["body"]["id"]) if r["body"]["type"].lower() == LINK_TYPE]
        if links:
            raise HttpError(409, "CannotDeleteResource", f"Cannot delete resource while nested resources exist. "
                            f"Some existing nested resource IDs include: '{links[0]['body']['id']}'. Please delete "
                            "all nested resources before deleting this resource.")


class VirtualNetworkLink(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].setdefault("properties", {})
        vnet = (props.get("virtualNetwork") or {}).get("id")
        found = _resource(ctx, vnet)
        if not found or found["body"]["type"].lower() != "microsoft.network/virtualnetworks":
            raise HttpError(400, "BadRequest", f"The virtual network {vnet!r} of the link was not found.")
        if previous and (previous["body"]["properties"]["virtualNetwork"]["id"]).lower() != vnet.lower():
            raise HttpError(400, "BadRequest", "The virtual network of a virtual network link cannot be changed.")
        zone_id = record["body"]["id"].rsplit("/", 2)[0]
        for other in ctx.store.children_of(zone_id):
            other_vnet = (other["body"].get("properties", {}).get("virtualNetwork") or {}).get("id", "")
            if other["body"]["id"].lower() != record["body"]["id"].lower() and other_vnet.lower() == vnet.lower():
                raise HttpError(409, "Conflict", f"A virtual network cannot be linked to the same zone twice: "
                                f"{vnet} is linked by {other['body']['name']}.")
        if props.get("registrationEnabled") is None:
            props["registrationEnabled"] = False
        props["virtualNetworkLinkState"] = "Completed"


class PrivateEndpoint(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        subnet_id = (props.get("subnet") or {}).get("id")
        subnet_exists(ctx, subnet_id, f"private endpoint {body['name']}")
        kept = (previous or {}).get("body", {}).get("properties", {})
        if kept and kept["subnet"]["id"].lower() != subnet_id.lower():
            raise HttpError(400, "CannotChangePrivateEndpointSubnet", "The subnet of a private endpoint cannot "
                            "change; delete the endpoint and create it again.")
        connections = props.get("privateLinkServiceConnections") or []
        if len(connections) != 1:
            raise HttpError(400, "InvalidPrivateLinkServiceConnections", "A private endpoint needs exactly one "
                            "privateLinkServiceConnection.")
        fqdns = self._connection(ctx, connections[0], body["location"])
        addresses = {c["fqdn"]: c["ipAddresses"] for c in kept.get("customDnsConfigs") or []}
        address = next(iter(addresses.values()), [None])[0] or self._next_address(ctx, subnet_id)
        props["customDnsConfigs"] = [{"fqdn": fqdn, "ipAddresses": [address]} for fqdn in fqdns]
        props["networkInterfaces"] = kept.get("networkInterfaces") or [{"id": (
            f"{body['id'].split('/providers/')[0]}/providers/Microsoft.Network/networkInterfaces/"
            f"{body['name']}.nic.{uuid.uuid4()}")}]
        props["ipConfigurations"] = []
        props.setdefault("manualPrivateLinkServiceConnections", [])

    @staticmethod
    def _connection(ctx, connection, location):
        conn_props = connection.setdefault("properties", {})
        target_id = conn_props.get("privateLinkServiceId")
        target = _resource(ctx, target_id)
        if not target:
            raise HttpError(400, "PrivateLinkServiceNotFound", f"The private link service resource {target_id!r} "
                            "was not found.")
        offered = TARGETS.get(_type_of(target["body"]["id"]), {})
        groups = conn_props.get("groupIds") or []
        if len(groups) != 1 or groups[0] not in offered:
            raise HttpError(400, "PrivateEndpointBadRequest", f"Call to {target['body']['type']} failed: the group "
                            f"ids {groups!r} are not valid; the resource offers {', '.join(offered) or 'none'}.")
        conn_props["privateLinkServiceConnectionState"] = {"status": "Approved", "description": "Auto-Approved",
                                                           "actionsRequired": "None"}
        conn_props["provisioningState"] = "Succeeded"
        return [t.format(name=target["body"]["name"], location=location) for t in offered[groups[0]]]

    @staticmethod
    def _next_address(ctx, subnet_id):
        subnet = ctx.store.get_resource(subnet_id)["body"]
        network = ipaddress.IPv4Network(subnet["properties"]["addressPrefix"])
        used = set()
        for endpoint in ctx.store.resources(lambda r: r["body"]["type"].lower() == ENDPOINT_TYPE):
            for config in endpoint["body"].get("properties", {}).get("customDnsConfigs") or []:
                used.update(config.get("ipAddresses") or [])
        for index, host in enumerate(network):
            if index >= 4 and host != network.broadcast_address and str(host) not in used:
                return str(host)
        raise HttpError(400, "SubnetIsFull", f"Subnet {subnet['name']} has no free address for a private endpoint.")


class PrivateDnsZoneGroup(Behaviour):
    def prepare(self, ctx, record, previous):
        endpoint = ctx.store.get_resource(record["body"]["id"].rsplit("/", 2)[0])
        configs = record["body"].setdefault("properties", {}).get("privateDnsZoneConfigs") or []
        if not 1 <= len(configs) <= 5:
            raise HttpError(400, "InvalidPrivateDnsZoneGroup", "A private DNS zone group holds 1 to 5 zones.")
        dns = endpoint["body"]["properties"].get("customDnsConfigs") or []
        for config in configs:
            zone_id = (config.get("properties") or {}).get("privateDnsZoneId")
            zone = _resource(ctx, zone_id)
            if not zone or zone["body"]["type"].lower() != "microsoft.network/privatednszones":
                raise HttpError(400, "InvalidPrivateDnsZoneIds", f"The private DNS zone {zone_id!r} was not found.")
            zone_name = zone["body"]["name"].lower()
            config["properties"]["recordSets"] = [
                {"recordType": "A", "recordSetName": entry["fqdn"].split(".", 1)[0],
                 "fqdn": f"{entry['fqdn'].split('.', 1)[0]}.{zone_name}", "ttl": 10,
                 "ipAddresses": entry["ipAddresses"], "provisioningState": "Succeeded"}
                for entry in dns if _zone_for(entry["fqdn"]) == zone_name]


def _zone_for(fqdn):
    suffix = fqdn.split(".", 1)[1].lower()
    return ZONE_OF.get(suffix, f"privatelink.{suffix}")
