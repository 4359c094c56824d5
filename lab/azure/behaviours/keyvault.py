"""Key Vault as the resource provider runs it: names are global, a deleted vault is soft-deleted (kept as a
Microsoft.KeyVault/locations/deletedVaults resource, its name still taken), a create over a soft-deleted name
needs createMode recover, purge protection is irreversible and blocks a purge, the vault URI is set by Azure (in
the lab: https://127.0.0.1:<port of its own>/, served by lab.azure.vault_data while the vault exists).
"""
import datetime

import threading

from lab.azure.behaviours import Behaviour
from lab.azure.vault_data import VaultApp
from lab.azure.web import HttpError, LabHttpsServer
from lab.proc import LOOPBACK, free_port

_SERVERS = {}  # vault id -> its data-plane listener
_LOCK = threading.Lock()

DELETED_TYPE = "Microsoft.KeyVault/locations/deletedVaults"


def deleted_id(subscription_id, location, name):
    return f"/subscriptions/{subscription_id}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}"


def _deleted(ctx, name):
    found = ctx.store.resources(lambda r: r["body"]["type"] == DELETED_TYPE and r["body"]["name"].lower() == name)
    return found[0] if found else None


class Vault(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        name = body["name"].lower()
        kept = (previous or {}).get("body", {}).get("properties", {})
        create_mode = (props.pop("createMode", None) or "default").lower()
        if previous is None:
            taken = ctx.store.resources(lambda r: r["body"]["type"].lower() == "microsoft.keyvault/vaults"
                                        and r["body"]["name"].lower() == name)
            if taken:
                raise HttpError(409, "VaultAlreadyExists", f"The vault name '{body['name']}' is already in use. "
                                "Vault names are globally unique so it is possible that the name is already taken.")
            deleted = _deleted(ctx, name)
            if deleted and create_mode != "recover":
                raise HttpError(409, "ConflictError", f"A vault with the same name already exists in deleted state. "
                                "You need to either recover or purge existing key vault.")
            if create_mode == "recover":
                if not deleted:
                    raise HttpError(404, "DeletedVaultNotFound", f"The deleted vault '{body['name']}' was not found.")
                ctx.store.delete_resource(deleted["body"]["id"])
        else:
            if kept.get("enablePurgeProtection") and props.get("enablePurgeProtection") is not True:
                props["enablePurgeProtection"] = True  # omitted in a PUT: it stays on
            days = kept.get("softDeleteRetentionInDays", 90)
            if props.get("softDeleteRetentionInDays", days) != days:
                raise HttpError(400, "BadRequest", "The property \"softDeleteRetentionInDays\" cannot be changed "
                                "once it has been set.")
        props.setdefault("enableSoftDelete", True)
        props.setdefault("softDeleteRetentionInDays", 90)
        for rule in (props.get("networkAcls") or {}).get("ipRules") or []:
            if "/" not in rule["value"]:
                rule["value"] += "/32"  # Azure stores a single address as a /32 range
        port = record["private"].setdefault("port", free_port())
        props["vaultUri"] = f"https://{LOOPBACK}:{port}/"  # the lab's data plane: lab.azure.vault_data
        props.setdefault("accessPolicies", [])

    def provision(self, ctx, record):
        with _LOCK:
            if record["body"]["id"] in _SERVERS or "port" not in record["private"]:  # (made before data planes)
                return
            server = LabHttpsServer((LOOPBACK, record["private"]["port"]), VaultApp(ctx, record["body"]["id"]),
                                    ctx.server_cert, ctx.server_key)
            _SERVERS[record["body"]["id"]] = server
        threading.Thread(target=server.serve_forever, name=f"vault-{record['body']['name']}", daemon=True).start()

    resume = provision

    def shutdown(self, ctx, record):
        with _LOCK:
            server = _SERVERS.pop(record["body"]["id"], None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def deprovision(self, ctx, record):
        self.shutdown(ctx, record)
        body = record["body"]
        props = body.get("properties", {})
        now = datetime.datetime.now(datetime.timezone.utc)
        purge = now + datetime.timedelta(days=props.get("softDeleteRetentionInDays", 90))
        subscription = body["id"].split("/")[2]
        resource_id = deleted_id(subscription, body["location"], body["name"])
        ctx.store.put_resource(resource_id, {"private": {}, "body": {
            "id": resource_id, "name": body["name"], "type": DELETED_TYPE,
            "properties": {"vaultId": body["id"], "location": body["location"], "tags": body.get("tags") or {},
                           "deletionDate": now.isoformat(), "scheduledPurgeDate": purge.isoformat(),
                           "purgeProtectionEnabled": bool(props.get("enablePurgeProtection"))}}})


class DeletedVault(Behaviour):
    def action_purge(self, ctx, record, body):
        if record["body"]["properties"].get("purgeProtectionEnabled"):
            raise HttpError(409, "ConflictError", f"Operation 'DeleteVault' is not allowed: vault "
                            f"'{record['body']['name']}' has purge protection enabled; it is purged on "
                            f"{record['body']['properties']['scheduledPurgeDate']}.")
        ctx.store.delete_resource(record["body"]["id"])
        return 200, None
