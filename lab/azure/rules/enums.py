"""Closed value lists read from the installed SDK's enums (never re-typed here). The SDKs treat enums as
extensible, so the models accept any string; for these fields the service does not, and neither does the lab."""
import functools
import importlib

from lab.azure.validation import api_versions


@functools.lru_cache(maxsize=None)
def values(package, class_name):
    """The enum's values in every api-version the installed SDK knows (empty when it has no such enum)."""
    found = set()
    for module_name in api_versions(package).values():
        enum = getattr(importlib.import_module(module_name), class_name, None)
        if enum is not None:
            found.update(member.value for member in enum)
    return frozenset(found)


def is_one_of(package, class_name, value, case_insensitive=True):
    allowed = values(package, class_name)
    if not allowed or not isinstance(value, str):
        return not allowed
    if case_insensitive:
        return value.lower() in {a.lower() for a in allowed}
    return value in allowed
