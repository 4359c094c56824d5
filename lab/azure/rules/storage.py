"""Microsoft.Storage: account and container names, SKUs and kinds Azure offers, network rules, customer-managed
key URLs. Codes and messages as the Storage resource provider answers."""
from lab.azure.rules import enums, keyvault, network
from lab.azure.rules.fields import dig, matches, refuse

ST = "azure.mgmt.storage"
ACCOUNT_NAME = r"[a-z0-9]{3,24}"
# 3-63 lower-case letters, digits and hyphens; starts and ends with a letter or digit; no '--'.
CONTAINER_NAME = r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"
METADATA_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,254}"
_INVALID = "InvalidValuesForRequestParameters"


def _invalid(field, why):
    refuse(_INVALID, f"Values for request parameters are invalid: {field}. {why}")


def account(arm_path, body):
    name = arm_path.names[0]
    if not matches(ACCOUNT_NAME, name):
        refuse("AccountNameInvalid", f"{name!r} is not a valid storage account name. Storage account name must be "
               "between 3 and 24 characters in length and use numbers and lower-case letters only.")
    for field, enum, value in (("sku.name", "SkuName", dig(body, "sku", "name")),
                               ("kind", "Kind", body.get("kind")),
                               ("properties.minimumTlsVersion", "MinimumTlsVersion",
                                dig(body, "properties", "minimumTlsVersion")),
                               ("properties.accessTier", "AccessTier", dig(body, "properties", "accessTier"))):
        if value is not None and not enums.is_one_of(ST, enum, value):
            _invalid(field, f"{value!r} is not one of {', '.join(sorted(enums.values(ST, enum)))}.")
    network_acls(dig(body, "properties", "networkAcls"))
    keyvault.check_urls(body, _INVALID)


def network_acls(acls):
    if not isinstance(acls, dict):
        return
    action = acls.get("defaultAction")
    if action is not None and not enums.is_one_of(ST, "DefaultAction", action):
        _invalid("networkAcls.defaultAction", f"{action!r} must be Allow or Deny.")
    bypass = acls.get("bypass")
    if isinstance(bypass, str):
        wrong = [p.strip() for p in bypass.split(",") if not enums.is_one_of(ST, "Bypass", p.strip())]
        if wrong:
            _invalid("networkAcls.bypass", f"{', '.join(map(repr, wrong))}: use None, Logging, Metrics or AzureServices.")
    for index, rule in enumerate(acls.get("ipRules") or []):
        value = rule.get("value") if isinstance(rule, dict) else None
        problem = network.storage_rule_problem(value)
        if problem:
            refuse(_INVALID, f"Values for request parameters are invalid: networkAcls.ipRule[{index}].value "
                   f"({value!r}: {problem}). For more information, see - https://aka.ms/storagenetworkruleset")
        if (rule.get("action") or "Allow") != "Allow":
            _invalid(f"networkAcls.ipRule[{index}].action", f"{rule.get('action')!r}: only Allow is supported.")


def container(arm_path, body):
    name = arm_path.names[-1]
    if not matches(CONTAINER_NAME, name):
        refuse("ContainerOperationFailure", f"The specified resource name contains invalid characters: container "
               f"name {name!r} must be 3-63 lower-case letters, digits and single hyphens, starting and ending with "
               "a letter or digit.")
    metadata = dig(body, "properties", "metadata") or {}
    for key, value in metadata.items() if isinstance(metadata, dict) else ():
        # Metadata travels as x-ms-meta-<name> headers: C# identifiers, ASCII values.
        if not matches(METADATA_NAME, key) or not isinstance(value, str) or not value.isascii() \
                or any(ord(c) < 32 for c in value):
            refuse("ContainerOperationFailure", f"The metadata specified is invalid: properties.metadata.{key} must "
                   "be named like an identifier (letters, digits, '_') and hold printable ASCII text.")


def blob_service(arm_path, body):
    if arm_path.names[-1] != "default":
        _invalid("blobServicesName", f"{arm_path.names[-1]!r}: the only blob service is 'default'.")
    for field in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        days = dig(body, "properties", field, "days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365):
            _invalid(f"properties.{field}.days", f"{days!r} must be 1 to 365.")
