"""Microsoft.DBforPostgreSQL/flexibleServers: server, database and firewall rule names, SKUs per tier, the
administrator login and password rules, firewall IP ranges and customer-managed key URLs."""
import re

from lab.azure.rules import enums, keyvault, network
from lab.azure.rules.fields import dig, matches, refuse

PG = "azure.mgmt.postgresqlflexibleservers"
SERVER_NAME = r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]"
DATABASE_NAME = r"[A-Za-z_][A-Za-z0-9_$-]{0,62}"
FIREWALL_RULE_NAME = r"[-\w.]{1,128}"
LOGIN = r"[A-Za-z][A-Za-z0-9_]{0,62}"
# Compute sizes per tier (v3-v6 generations; a superset is harmless, a size of the wrong tier is not).
SKUS = {
    "Burstable": r"Standard_B(1ms|2s|2ms|4ms|8ms|12ms|16ms|20ms)",
    "GeneralPurpose": r"Standard_D(2|4|8|16|32|48|64|96)(s_v3|ds_v4|ds_v5|ads_v5|ds_v6|ads_v6)",
    "MemoryOptimized": r"Standard_E(2|4|8|16|20|32|48|64|96)(s_v3|ds_v4|ds_v5|ads_v5|ds_v6|ads_v6)",
}
_INVALID = "InvalidParameterValue"


def server(arm_path, body):
    name = arm_path.names[0]
    if not matches(SERVER_NAME, name):
        refuse("InvalidServerName", f"Server name {name!r} is invalid: 3-63 characters, lower-case letters, digits "
               "and hyphens, not starting or ending with a hyphen.")
    _sku(body.get("sku"))
    props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    login = props.get("administratorLogin")
    if login is not None and not matches(LOGIN, login):
        refuse("InvalidAdministratorLogin", f"The administrator login {login!r} is invalid: 1-63 letters, digits "
               "and underscores, starting with a letter.")
    password = props.get("administratorLoginPassword")
    if password is not None:
        problem = password_problem(password, login)
        if problem:
            # The code and first sentence Azure's database services answer (Microsoft.Sql, DBforMySQL, DBforPostgreSQL).
            refuse("PasswordNotComplex", "Password validation failed. The password does not meet policy requirements "
                   f"because it is not complex enough: properties.administratorLoginPassword: {problem}.")
    keyvault.check_urls(body, _INVALID)


def _sku(sku):
    if sku is None:
        return
    name, tier = sku.get("name"), sku.get("tier")
    if tier is not None and not enums.is_one_of(PG, "SkuTier", tier, case_insensitive=False):
        refuse(_INVALID, f"The sku.tier {tier!r} is invalid: use {', '.join(sorted(SKUS))}.")
    if name is None:
        return
    tiers = [t for t, pattern in SKUS.items() if matches(pattern, name)]
    if not tiers:
        refuse(_INVALID, f"The sku.name {name!r} is not a PostgreSQL flexible server compute size (for example "
               "Standard_B1ms, Standard_D2ds_v5, Standard_E2ds_v5).")
    if tier is not None and tier not in tiers:
        refuse(_INVALID, f"The sku.name {name!r} is not offered in sku.tier {tier!r}: it belongs to {tiers[0]}.")


def password_problem(password, login):
    """Azure's rule for the administrator password, in words, or None: 8-128 characters, 3 of 4 categories,
    not containing the login (nor a 3+ character part of it split at . , - _ # and spaces)."""
    if not isinstance(password, str):
        return "it must be a string"
    if not 8 <= len(password) <= 128:
        return f"it must be 8 to 128 characters long (got {len(password)})"
    categories = sum(bool(re.search(p, password)) for p in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if categories < 3:
        return ("it must contain characters from three of: upper-case letters, lower-case letters, digits, "
                "non-alphanumeric characters")
    if isinstance(login, str) and login:
        parts = [login] + [p for p in re.split(r"[.,\-_#\s]+", login) if len(p) >= 3]
        if any(p.lower() in password.lower() for p in parts):
            return "it must not contain the administrator login name or a part of it"
    return None


def database(arm_path, body):
    name = arm_path.names[-1]
    if not matches(DATABASE_NAME, name):
        refuse("InvalidDatabaseName", f"Database name {name!r} is invalid: 1-63 characters of letters, digits, '_', "
               "'$' and '-', starting with a letter or underscore.")


def firewall_rule(arm_path, body):
    name = arm_path.names[-1]
    if not matches(FIREWALL_RULE_NAME, name):
        refuse("InvalidFirewallRuleName", f"Firewall rule name {name!r} is invalid: 1-128 letters, digits, '_', '-' "
               "and '.'.")
    props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    addresses = {}
    for field in ("startIpAddress", "endIpAddress"):
        value = props.get(field)
        addresses[field] = network.ipv4(value)
        if addresses[field] is None:
            refuse(_INVALID, f"Invalid value given for parameter properties.{field}: {value!r} is not an IPv4 "
                   "address.")
    if addresses["startIpAddress"] > addresses["endIpAddress"]:
        refuse(_INVALID, f"Invalid firewall rule range: properties.startIpAddress {props['startIpAddress']!r} is after "
               f"properties.endIpAddress {props['endIpAddress']!r}.")
