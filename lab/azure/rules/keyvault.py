"""Key Vault references in request bodies (customer-managed keys, Key Vault secret references): Azure reaches a
vault over HTTPS only, so an http:// (or schemeless) URL is refused naming the field that holds it. And the
vaults themselves: names, closed value lists, retention, soft delete and purge protection, network rules."""
import urllib.parse

from lab.azure.rules import network
from lab.azure.rules.fields import dig, matches, refuse

# Field names (lower case) that hold a Key Vault key or secret URL, wherever they sit in a body.
URL_FIELDS = frozenset({"keyvaulturi", "keyvaulturl", "primarykeyuri", "geobackupkeyuri", "keyurl", "keyuri"})


def _walk(node, path):
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key.lower() in URL_FIELDS and isinstance(value, str):
                yield where, value
            else:
                yield from _walk(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def check_urls(body, code):
    for where, value in _walk(body, "$"):
        if not value:
            continue
        parts = urllib.parse.urlsplit(value)
        if parts.scheme.lower() != "https" or not parts.hostname:
            refuse(code, f"The Key Vault URL in {where[2:]} must be an https:// URL, got {value!r}: Azure reaches "
                   "Key Vault over HTTPS only.")


# Microsoft.KeyVault/vaults ------------------------------------------------------------------------------------
VAULT_NAME = r"(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]"
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Closed lists as the Key Vault resource provider enforces them (the SDK treats them as open strings).
CLOSED = {("sku", "name"): ("standard", "premium"), ("sku", "family"): ("A",),
          ("networkAcls", "defaultAction"): ("Allow", "Deny"), ("networkAcls", "bypass"): ("AzureServices", "None"),
          ("publicNetworkAccess",): ("Enabled", "Disabled"), ("createMode",): ("default", "recover")}


def vault(arm_path, body):
    name = arm_path.names[0]
    if not matches(VAULT_NAME, name):
        refuse("VaultNameNotValid", f"The vault name '{name}' is invalid. A vault's name must be between 3-24 "
               "alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not "
               "contain consecutive hyphens.")
    props = body.get("properties") or {}
    for path, allowed in CLOSED.items():
        value = dig(props, *path)
        if value is not None and (not isinstance(value, str) or value.lower() not in {a.lower() for a in allowed}):
            refuse("BadRequest", f"The value {value!r} of properties.{'.'.join(path)} is invalid: use one of "
                   f"{', '.join(allowed)}.")
    tenant = props.get("tenantId")
    if tenant is not None and not matches(GUID, tenant):
        refuse("BadRequest", f"The tenantId {tenant!r} is not a valid GUID.")
    days = props.get("softDeleteRetentionInDays")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 7 <= days <= 90):
        refuse("BadRequest", f"The softDeleteRetentionInDays {days!r} is invalid: it must be 7 to 90.")
    if props.get("enableSoftDelete") is False:
        refuse("BadRequest", "The property \"enableSoftDelete\" cannot be set to false. Soft delete is always on.")
    if props.get("enablePurgeProtection") is False:
        refuse("BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge "
               "protection for a vault is an irreversible action.")
    for index, rule in enumerate(dig(props, "networkAcls", "ipRules") or []):
        value = rule.get("value") if isinstance(rule, dict) else None
        address, _, prefix = value.partition("/") if isinstance(value, str) else ("", "", "")
        if network.ipv4(address) is None or (prefix and not matches(r"[0-9]|[12][0-9]|3[0-2]", prefix)):
            refuse("BadRequest", f"properties.networkAcls.ipRules[{index}].value {value!r} is not an IPv4 address "
                   "or CIDR range.")
    for index, rule in enumerate(dig(props, "networkAcls", "virtualNetworkRules") or []):
        subnet = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(subnet, str) or "/providers/microsoft.network/virtualnetworks/" not in subnet.lower() \
                or "/subnets/" not in subnet.lower():
            refuse("BadRequest", f"properties.networkAcls.virtualNetworkRules[{index}].id {subnet!r} is not a subnet "
                   "resource id.")
