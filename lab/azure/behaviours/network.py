"""Virtual networks: each subnet gets its id and a child resource of its own (GET .../subnets/{name} works, and
what references a subnet can be checked against it); a subnet something still uses cannot be removed.
"""
import json
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError

SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


def users_of(ctx, resource_id, skip):
    """Resources (other than skip and its children) whose body names resource_id."""
    needle = json.dumps(resource_id.lower())[1:-1]
    prefix = skip.lower()
    return [r["body"]["id"] for r in ctx.store.resources(
        lambda r: not r["body"]["id"].lower().startswith(prefix) and needle in json.dumps(r["body"]).lower())]


class VirtualNetwork(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        props["resourceGuid"] = kept.get("resourceGuid") or str(uuid.uuid4())
        props.setdefault("privateEndpointVNetPolicies", "Disabled")
        wanted = set()
        for subnet in props.get("subnets") or []:
            subnet["id"] = f"{body['id']}/subnets/{subnet['name']}"
            subnet["type"] = SUBNET_TYPE
            subnet_props = subnet.setdefault("properties", {})
            subnet_props.setdefault("privateEndpointNetworkPolicies", "Disabled")
            subnet_props.setdefault("delegations", [])
            for delegation in subnet_props["delegations"]:
                delegation["id"] = f"{subnet['id']}/delegations/{delegation.get('name')}"
                delegation["type"] = "Microsoft.Network/virtualNetworks/subnets/delegations"
            subnet_props["provisioningState"] = "Succeeded"
            wanted.add(subnet["id"].lower())
        for subnet in kept.get("subnets") or []:
            if subnet["id"].lower() not in wanted:
                refuse_if_used(ctx, subnet, body["id"])

    def provision(self, ctx, record):
        body = record["body"]
        subnets = {s["id"].lower(): s for s in body.get("properties", {}).get("subnets") or []}
        for child in ctx.store.children_of(body["id"]):
            if child["body"]["type"] == SUBNET_TYPE and child["body"]["id"].lower() not in subnets:
                ctx.store.delete_resource(child["body"]["id"])
        for subnet in subnets.values():
            ctx.store.put_resource(subnet["id"], {"private": {}, "body": subnet})

    def before_delete(self, ctx, record):
        for subnet in record["body"].get("properties", {}).get("subnets") or []:
            refuse_if_used(ctx, subnet, record["body"]["id"])


def refuse_if_used(ctx, subnet, vnet_id):
    used = users_of(ctx, subnet["id"], vnet_id)
    if used:
        raise HttpError(400, "InUseSubnetCannotBeDeleted", f"Subnet {subnet['name']} is in use by {used[0]} and "
                        "cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.")


def subnet_exists(ctx, subnet_id, where):
    """Refuse a reference to a subnet that does not exist, as ARM does."""
    if not isinstance(subnet_id, str) or not ctx.store.get_resource(subnet_id) or \
            ctx.store.get_resource(subnet_id)["body"]["type"] != SUBNET_TYPE:
        raise HttpError(400, "InvalidResourceReference", f"Resource {subnet_id} referenced by {where} was not found.")
