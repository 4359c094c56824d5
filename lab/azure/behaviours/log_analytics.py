"""Log Analytics workspaces as Microsoft.OperationalInsights runs them: Azure sets the workspace (customer) id and
two shared keys, which only the sharedKeys action returns (a Container Apps environment sends its logs with them);
regenerateSharedKey replaces one. Refused as Azure refuses: an unknown SKU, a retention outside its range.
"""
import base64
import secrets
import uuid

from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError

SKUS = ("Free", "Standard", "Premium", "PerNode", "PerGB2018", "Standalone", "CapacityReservation",
        "LACluster")
KEY_NAMES = ("primarySharedKey", "secondarySharedKey")


def new_key():
    return base64.b64encode(secrets.token_bytes(64)).decode()


def bad(message, code="InvalidParameter"):
    raise HttpError(400, code, message)


def shared_keys(record):
    return {name: record["private"]["sharedKeys"][name] for name in KEY_NAMES}


def by_customer_id(ctx, customer_id):
    """The workspace record whose customerId is customer_id, or None."""
    wanted = str(customer_id or "").lower()
    found = ctx.store.resources(lambda r: r["body"]["type"].lower() == "microsoft.operationalinsights/workspaces"
                                and r["body"].get("properties", {}).get("customerId", "").lower() == wanted)
    return found[0] if found else None


class Workspace(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        sku = props.setdefault("sku", {"name": "PerGB2018"})
        if not isinstance(sku, dict) or sku.get("name") not in SKUS:
            bad(f"The SKU {sku!r} is invalid: properties.sku.name must be one of {', '.join(SKUS)}.")
        days = props.setdefault("retentionInDays", 7 if sku["name"] == "Free" else 30)
        low, high = (7, 7) if sku["name"] == "Free" else (30, 730)
        if not isinstance(days, int) or isinstance(days, bool) or not low <= days <= high:
            bad(f"retentionInDays {days!r} is invalid for SKU {sku['name']}: use {low}-{high} days.")
        props["customerId"] = kept.get("customerId") or str(uuid.uuid4())
        props.setdefault("publicNetworkAccessForIngestion", "Enabled")
        props.setdefault("publicNetworkAccessForQuery", "Enabled")
        props.setdefault("features", {}).setdefault("legacy", 0)
        props["createdDate"] = kept.get("createdDate") or record["body"]["systemData"]["createdAt"]
        props["modifiedDate"] = record["body"]["systemData"]["lastModifiedAt"]
        record["private"].setdefault("sharedKeys", {name: new_key() for name in KEY_NAMES})

    def action_sharedKeys(self, ctx, record, body):  # noqa: N802 - the ARM action's name
        return 200, shared_keys(record)

    def action_regenerateSharedKey(self, ctx, record, body):  # noqa: N802
        # Azure regenerates the primary key; both are answered.
        resource_id = record["body"]["id"]
        ctx.store.update_body(resource_id, lambda b, p: p["sharedKeys"].update(primarySharedKey=new_key()))
        return 200, shared_keys(ctx.store.get_resource(resource_id))
