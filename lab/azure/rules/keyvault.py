"""Key Vault references in request bodies (customer-managed keys, Key Vault secret references): Azure reaches a
vault over HTTPS only, so an http:// (or schemeless) URL is refused naming the field that holds it."""
import urllib.parse

from lab.azure.rules.fields import refuse

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
