"""Microsoft.Storage: an account is an Azurite account (listKeys gives its keys, primaryEndpoints point
at Azurite over HTTPS); a blob container is a real Azurite container. Account, blob-service and
container settings (network rules, TLS minimum, public access, soft delete, versioning, immutability,
lifecycle) are stored and returned as given even where Azurite cannot enforce them.
"""
import base64
import datetime
import secrets
import threading

from lab.azure.behaviours import Behaviour
from lab.azure.web import HttpError

_AZURITE_LOCK = threading.Lock()
ACCOUNT_TYPE = "microsoft.storage/storageaccounts"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_key():
    return base64.b64encode(secrets.token_bytes(64)).decode()


def sync_azurite(ctx, change):
    """Apply change(accounts) to Azurite's account list and restart it when the list changed."""
    with _AZURITE_LOCK:
        azurite = ctx.azurite
        accounts = azurite.accounts()
        before = dict(accounts)
        change(accounts)
        if accounts != before:
            azurite.save_accounts(accounts)
            azurite.restart()


def keys_body(record):
    created = record["private"].get("keyCreationTime", _now())
    return {"keys": [{"keyName": f"key{i + 1}", "value": key, "permissions": "FULL", "creationTime": created}
                     for i, key in enumerate(record["private"]["keys"])]}


class StorageAccount(Behaviour):
    def prepare(self, ctx, record, previous):
        body, private = record["body"], record["private"]
        name = body["name"]  # its rules: lab.azure.rules.storage, checked before this
        if not previous:
            taken = ctx.store.resources(lambda r: r["body"]["type"].lower() == ACCOUNT_TYPE
                                        and r["body"]["name"] == name and r["body"]["id"].lower() != body["id"].lower())
            if taken:
                raise HttpError(409, "StorageAccountAlreadyTaken", f"The storage account named {name} is already "
                                "taken.")
        private.setdefault("keys", [_new_key(), _new_key()])
        private.setdefault("keyCreationTime", _now())
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        props["primaryEndpoints"] = {"blob": ctx.azurite.endpoint(name)}
        props["primaryLocation"] = body["location"]
        props["statusOfPrimary"] = "available"
        props["creationTime"] = kept.get("creationTime", _now())
        props["keyCreationTime"] = {"key1": private["keyCreationTime"], "key2": private["keyCreationTime"]}
        # Defaults of a new account today (secure by default): explicit values win.
        props.setdefault("minimumTlsVersion", kept.get("minimumTlsVersion", "TLS1_2"))
        props.setdefault("allowBlobPublicAccess", kept.get("allowBlobPublicAccess", False))
        props.setdefault("supportsHttpsTrafficOnly", kept.get("supportsHttpsTrafficOnly", True))
        props.setdefault("networkAcls", kept.get("networkAcls", {"bypass": "AzureServices", "virtualNetworkRules": [],
                                                                  "ipRules": [], "defaultAction": "Allow"}))
        props.setdefault("encryption", kept.get("encryption", {
            "services": {"blob": {"enabled": True, "keyType": "Account"}, "file": {"enabled": True,
                                                                                    "keyType": "Account"}},
            "keySource": "Microsoft.Storage"}))
        if body.get("kind") in ("StorageV2", "BlobStorage"):
            props.setdefault("accessTier", kept.get("accessTier", "Hot"))

    def provision(self, ctx, record):
        name, keys = record["body"]["name"], record["private"]["keys"]
        sync_azurite(ctx, lambda accounts: accounts.__setitem__(name, keys))
        # Every account has its blob service 'default', as on Azure.
        service_id = record["body"]["id"] + "/blobServices/default"
        if not ctx.store.get_resource(service_id):
            ctx.store.put_resource(service_id, {"private": {}, "body": {
                "id": service_id, "name": "default", "type": "Microsoft.Storage/storageAccounts/blobServices",
                "sku": record["body"].get("sku"),
                "properties": {"cors": {"corsRules": []}, "deleteRetentionPolicy": {"enabled": False},
                               "isVersioningEnabled": False, "provisioningState": "Succeeded"}}})

    def deprovision(self, ctx, record):
        sync_azurite(ctx, lambda accounts: accounts.pop(record["body"]["name"], None))

    def action_listKeys(self, ctx, record, body):
        return 200, keys_body(record)

    def action_regenerateKey(self, ctx, record, body):
        key_name = (body or {}).get("keyName", "")
        if key_name not in ("key1", "key2"):
            raise HttpError(400, "InvalidValuesForRequestParameters", "keyName must be key1 or key2.")
        index = int(key_name[-1]) - 1

        def change(body_, private):
            private["keys"][index] = _new_key()
        updated = ctx.store.update_body(record["body"]["id"], change)
        self.provision(ctx, updated)
        return 200, keys_body(updated)


def _container_client(ctx, account_record, container):
    from azure.storage.blob import BlobServiceClient
    name = account_record["body"]["name"]
    service = BlobServiceClient(ctx.azurite.endpoint(name), credential={"account_name": name,
                                                                         "account_key": account_record["private"]["keys"][0]},
                                connection_verify=ctx.ca_bundle)
    return service.get_container_client(container)


class BlobContainer(Behaviour):
    def prepare(self, ctx, record, previous):
        account = ctx.store.get_resource(record["body"]["id"].split("/blobServices/")[0])
        if account["body"]["properties"].get("provisioningState") != "Succeeded":
            raise HttpError(409, "StorageAccountIsNotProvisioned", "The storage account provisioning state must be "
                            "'Succeeded' before executing the operation.")
        props = record["body"].setdefault("properties", {})
        access = props.get("publicAccess") or "None"
        if access != "None" and not account["body"]["properties"].get("allowBlobPublicAccess"):
            raise HttpError(409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
        props["publicAccess"] = access
        props.setdefault("hasImmutabilityPolicy", False)
        props.setdefault("hasLegalHold", False)
        props.setdefault("leaseState", "Available")
        props.setdefault("leaseStatus", "Unlocked")
        props["lastModifiedTime"] = _now()

    def provision(self, ctx, record):
        from azure.core.exceptions import ResourceExistsError
        account = ctx.store.get_resource(record["body"]["id"].split("/blobServices/")[0])
        client = _container_client(ctx, account, record["body"]["name"])
        access = {"None": None, "Blob": "blob", "Container": "container"}[record["body"]["properties"]["publicAccess"]]
        try:
            client.create_container(public_access=access, metadata=record["body"]["properties"].get("metadata"))
        except ResourceExistsError:
            client.set_container_access_policy({}, public_access=access)

    def deprovision(self, ctx, record):
        from azure.core.exceptions import ResourceNotFoundError
        account = ctx.store.get_resource(record["body"]["id"].split("/blobServices/")[0])
        if account:
            try:
                _container_client(ctx, account, record["body"]["name"]).delete_container()
            except ResourceNotFoundError:
                pass
