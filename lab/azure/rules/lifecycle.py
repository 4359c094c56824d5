"""Microsoft.Storage/storageAccounts/managementPolicies: the lifecycle rules Azure refuses.

Rules: at most 100, each named with 1-256 letters/digits (case-sensitive, unique), type Lifecycle, blobTypes
blockBlob/appendBlob (append blobs can only be deleted), up to 10 prefixes that start with a container name,
known actions with exactly one age condition of 0-99999 days, and no tiering step at or after the delete.
"""
from lab.azure.rules.fields import dig, matches, refuse

_INVALID = "InvalidValuesForRequestParameters"
RULE_NAME = r"[A-Za-z0-9]{1,256}"
# The container part of a prefix may be partial ("stu" matches containers starting with it); the rest is free.
PREFIX = r"[a-z0-9][a-z0-9-]{0,62}(/[^\x00-\x1f]{0,1024})?"
ACTIONS = {
    "baseBlob": {"tierToCool", "tierToCold", "tierToArchive", "tierToHot", "delete", "enableAutoTierToHotFromCool"},
    "snapshot": {"tierToCool", "tierToCold", "tierToArchive", "tierToHot", "delete"},
    "version": {"tierToCool", "tierToCold", "tierToArchive", "tierToHot", "delete"},
}
AGE_CONDITIONS = {
    "baseBlob": {"daysAfterModificationGreaterThan", "daysAfterLastAccessTimeGreaterThan",
                 "daysAfterCreationGreaterThan"},
    "snapshot": {"daysAfterCreationGreaterThan"},
    "version": {"daysAfterCreationGreaterThan"},
}
EXTRA_CONDITIONS = {"tierToArchive": {"daysAfterLastTierChangeGreaterThan"}}
BLOB_TYPES = {"blockBlob", "appendBlob"}
MAX_RULES, MAX_PREFIXES, MAX_DAYS = 100, 10, 99999


def _invalid(where, why):
    refuse(_INVALID, f"Values for request parameters are invalid: {where}: {why}")


def policy(arm_path, body):
    if arm_path.names[-1] != "default":
        _invalid("managementPolicyName", f"{arm_path.names[-1]!r}: the only management policy is 'default'.")
    rules = dig(body, "properties", "policy", "rules")
    if not isinstance(rules, list) or not rules:
        _invalid("policy.rules", "at least one rule is required.")
    if len(rules) > MAX_RULES:
        _invalid("policy.rules", f"{len(rules)} rules: at most {MAX_RULES}.")
    seen = set()
    for index, rule in enumerate(rules):
        where = f"policy.rules[{index}]"
        if not isinstance(rule, dict):
            _invalid(where, "a rule must be an object.")
        name = rule.get("name")
        if not matches(RULE_NAME, name):
            _invalid(f"{where}.name", f"{name!r}: a rule name is 1-256 letters and digits.")
        if name in seen:
            _invalid(f"{where}.name", f"{name!r} is used by another rule: rule names must be unique.")
        seen.add(name)
        if rule.get("type") != "Lifecycle":
            _invalid(f"{where}.type", f"{rule.get('type')!r}: the only rule type is 'Lifecycle'.")
        definition = rule.get("definition") if isinstance(rule.get("definition"), dict) else {}
        blob_types = _filters(f"{where}.definition.filters", definition.get("filters"))
        _actions(f"{where}.definition.actions", definition.get("actions"), blob_types)


def _filters(where, filters):
    filters = filters if isinstance(filters, dict) else {}
    blob_types = filters.get("blobTypes")
    if not isinstance(blob_types, list) or not blob_types:
        _invalid(f"{where}.blobTypes", "at least one of blockBlob, appendBlob is required.")
    wrong = [t for t in blob_types if not isinstance(t, str) or t not in BLOB_TYPES]
    if wrong:
        _invalid(f"{where}.blobTypes", f"{wrong!r}: use blockBlob or appendBlob.")
    prefixes = filters.get("prefixMatch") or []
    if not isinstance(prefixes, list) or len(prefixes) > MAX_PREFIXES:
        _invalid(f"{where}.prefixMatch", f"at most {MAX_PREFIXES} prefixes, as a list.")
    for index, prefix in enumerate(prefixes):
        if not matches(PREFIX, prefix):
            _invalid(f"{where}.prefixMatch[{index}]", f"{prefix!r}: a prefix starts with a (lower-case) container "
                     "name, e.g. 'studies/' or 'studies/2024'.")
    return set(blob_types)


def _actions(where, actions, blob_types):
    if not isinstance(actions, dict) or not actions:
        _invalid(where, "at least one action is required.")
    for group, steps in actions.items():
        if group not in ACTIONS:
            _invalid(f"{where}.{group}", f"unknown action group: use {', '.join(sorted(ACTIONS))}.")
        if not isinstance(steps, dict) or not steps:
            _invalid(f"{where}.{group}", "at least one action is required.")
        days = {}
        for action, conditions in steps.items():
            here = f"{where}.{group}.{action}"
            if action not in ACTIONS[group]:
                _invalid(here, f"unknown action: use {', '.join(sorted(ACTIONS[group]))}.")
            if action == "enableAutoTierToHotFromCool":
                if not isinstance(conditions, bool):
                    _invalid(here, "must be true or false.")
                continue
            if "appendBlob" in blob_types and action != "delete":
                _invalid(here, "append blobs can only be deleted: tiering needs blobTypes [blockBlob].")
            days[action] = _conditions(here, group, action, conditions)
        _order(f"{where}.{group}", days)


def _conditions(where, group, action, conditions):
    if not isinstance(conditions, dict):
        _invalid(where, "must be an object of conditions.")
    allowed = AGE_CONDITIONS[group] | EXTRA_CONDITIONS.get(action, set())
    for key, value in conditions.items():
        if key not in allowed:
            _invalid(f"{where}.{key}", f"unknown condition: use {', '.join(sorted(allowed))}.")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                or not 0 <= value <= MAX_DAYS:
            _invalid(f"{where}.{key}", f"{value!r}: days must be a whole number from 0 to {MAX_DAYS}.")
    ages = [k for k in conditions if k in AGE_CONDITIONS[group]]
    if len(ages) != 1:
        _invalid(where, f"exactly one of {', '.join(sorted(AGE_CONDITIONS[group]))} is required, got {ages or 'none'}.")
    return ages[0], conditions[ages[0]]


def _order(where, days):
    """A tiering step on or after the delete (same condition) would never run: Azure refuses the rule."""
    if "delete" not in days:
        return
    condition, delete_days = days["delete"]
    for action, (other_condition, other_days) in days.items():
        if action != "delete" and other_condition == condition and other_days >= delete_days:
            _invalid(f"{where}.{action}.{condition}", f"{other_days} is not before delete ({delete_days}): a blob "
                     "is deleted before it would be tiered.")
