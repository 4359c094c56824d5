"""A revision's secrets and environment, resolved as Container Apps does when it starts a replica.

Plain secret values come from the app's write-only store (never from its body). A Key Vault reference
(keyVaultUrl + identity) is read with the app's identity: the system-assigned one ('system') or a user-assigned one
(its resource id); the identity needs a role granting getSecret on the vault (Key Vault Secrets User), checked with
the lab's RBAC as the vault's data plane checks it. A refusal is a RevisionFailed with Azure's reason.
"""
import urllib.parse

from lab.azure import rbac

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
VAULT_TYPE = "microsoft.keyvault/vaults"


class RevisionFailed(Exception):
    """The revision cannot run; the message is what Azure reports as the reason."""


def _vault_for(ctx, url):
    parts = urllib.parse.urlsplit(url)
    for vault in ctx.store.resources(lambda r: r["body"]["type"].lower() == VAULT_TYPE):
        uri = urllib.parse.urlsplit(vault["body"].get("properties", {}).get("vaultUri", ""))
        if (parts.hostname, parts.port) == (uri.hostname, uri.port) or \
                parts.hostname == f"{vault['body']['name'].lower()}.vault.azure.net":
            return vault, [p for p in parts.path.split("/") if p]
    return None, None


def _principal(app_body, who):
    identity = app_body.get("identity") or {}
    if who.lower() == "system":
        return identity.get("principalId")
    for resource_id, assigned in (identity.get("userAssignedIdentities") or {}).items():
        if resource_id.lower() == who.lower():
            return assigned.get("principalId")
    return None


def key_vault_value(ctx, app_body, secret):
    """The value a Key Vault reference names, read as the app's identity; RevisionFailed when refused."""
    url, who = secret["keyVaultUrl"], secret.get("identity", "")
    reason = f"unable to fetch secret '{secret['name']}' using Managed identity '{who}'"
    vault, path = _vault_for(ctx, url)
    if vault is None or len(path) < 2 or path[0] != "secrets":
        raise RevisionFailed(f"{reason}: {url} is not a secret of a Key Vault in this subscription.")
    principal = _principal(app_body, who)
    assignments = [r["body"] for r in ctx.store.resources(
        lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments")]
    if not principal or not rbac.is_allowed(assignments, principal, vault["body"]["id"], GET_SECRET, data=True):
        raise RevisionFailed(f"{reason}: the identity (object id {principal}) is not authorized to perform "
                             f"'{GET_SECRET}' on vault {vault['body']['name']}: assign it 'Key Vault Secrets User'.")
    record = ctx.store.get("vaultSecrets", f"{vault['body']['id'].lower()}/{path[1].lower()}")
    version = path[2] if len(path) > 2 else (record or {}).get("latest")
    if not record or record.get("deleted") or version not in record["versions"]:
        raise RevisionFailed(f"{reason}: secret {path[1]}{'/' + version if len(path) > 2 else ''} was not found in "
                             f"vault {vault['body']['name']}.")
    return record["versions"][version]["value"]


def resolve(ctx, app_record):
    """{secret name: value} for every secret of the app."""
    body, stored = app_record["body"], app_record["private"].get("secrets", {})
    out = {}
    for secret in body.get("properties", {}).get("configuration", {}).get("secrets") or []:
        out[secret["name"]] = key_vault_value(ctx, body, secret) if secret.get("keyVaultUrl") \
            else stored.get(secret["name"], "")
    return out


def container_env(container, values):
    """The container's environment: plain values and secretRef values (a missing secret fails the revision)."""
    env = {}
    for item in container.get("env") or []:
        if item.get("secretRef"):
            if item["secretRef"] not in values:
                raise RevisionFailed(f"Container '{container['name']}': env {item['name']} references secret "
                                     f"'{item['secretRef']}', which the app does not define.")
            env[item["name"]] = values[item["secretRef"]]
        else:
            env[item["name"]] = item.get("value", "")
    return env
