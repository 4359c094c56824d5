"""The Key Vault secrets data plane: each vault answers on a port of its own (vaultUri https://127.0.0.1:<port>/,
as the SDK parses secret ids from the URL root: <vault>/secrets/<name>/<version>).

As Key Vault answers: an unauthenticated request gets 401 with the challenge azure-keyvault-secrets expects
(authorization=<authority>/<tenant>, resource=https://vault.azure.net); a token for https://vault.azure.net is
required and the caller needs a data role on the vault (Key Vault Secrets Officer / User); every set makes a new
version; PATCH changes a version's attributes; delete is soft (deletedsecrets/<name>, recover, purge, and a set
over a deleted name is refused with 409 until it is recovered or purged). Not emulated: network rules and
publicNetworkAccess (every caller comes from 127.0.0.1), certificates and keys.
"""
import re
import time
import uuid

from lab.azure import rbac
from lab.azure.container_apps import private_access
from lab.azure.tokens import TokenError
from lab.azure.web import HttpError, Response

AUDIENCE = "https://vault.azure.net"
NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
ACTION = "Microsoft.KeyVault/vaults/secrets/{}/action"
MAX_VALUE = 25 * 1024  # Key Vault's limit on a secret value (bytes)


def _now():
    return int(time.time())


class VaultApp:
    """The request handler of one vault's listener: the data plane, logged in the emulator's request log."""

    def __init__(self, ctx, vault_id):
        self.ctx, self.vault_id = ctx, vault_id

    def __call__(self, request):
        vault = self.ctx.store.get_resource(self.vault_id)
        if not vault:
            raise HttpError(404, "VaultNotFound", "The vault was deleted.")
        return handle(self.ctx, request, vault)

    def log_request(self, request, status, seconds):
        self.ctx.log_request(request, status, seconds)

    def log_exception(self, request, err):
        self.ctx.log_exception(request, err)

    def new_request_id(self):
        return self.ctx.new_request_id()


def _authorize(ctx, request, vault, action):
    challenge = {"WWW-Authenticate": f'Bearer authorization="{ctx.base_url}/{ctx.facts["tenantId"]}", '
                                     f'resource="{AUDIENCE}"'}
    auth = request.header("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise HttpError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge)
    try:
        claims = ctx.tokens.verify(auth[7:].strip(), (AUDIENCE, AUDIENCE + "/"))
    except TokenError as err:
        raise HttpError(401, "Unauthorized", f"AKV10022: Invalid audience or token: {err.reason}.", challenge) from None
    request.principal = claims["oid"]
    assignments = [r["body"] for r in ctx.store.resources(
        lambda r: r["body"]["type"].lower() == "microsoft.authorization/roleassignments")]
    if not rbac.is_allowed(assignments, claims["oid"], vault["body"]["id"], ACTION.format(action), data=True):
        raise HttpError(403, "Forbidden", f"Caller is not authorized to perform action on resource. Action: "
                        f"'{ACTION.format(action)}'. Assignment: (not found). Caller: oid={claims['oid']}. "
                        f"Vault: {vault['body']['name']}.", body={"error": {
                            "code": "Forbidden", "message": "Caller is not authorized to perform action on resource.",
                            "innererror": {"code": "ForbiddenByRbac"}}})


def _bundle(vault_uri, name, version, entry, with_value=True):
    out = {"id": f"{vault_uri}secrets/{name}/{version}", "attributes": dict(entry["attributes"]),
           "tags": entry.get("tags") or {}}
    if with_value:
        out["value"] = entry["value"]
    if entry.get("contentType") is not None:
        out["contentType"] = entry["contentType"]
    return out


def _attributes(body, previous=None):
    given = body.get("attributes") or {}
    if not isinstance(given, dict):
        raise HttpError(400, "BadParameter", "attributes must be an object.")
    out = dict(previous or {"enabled": True, "created": _now(), "recoveryLevel": "Recoverable+Purgeable",
                            "recoverableDays": 90})
    for key in ("enabled", "nbf", "exp"):
        if key in given and given[key] is not None:
            if (key == "enabled") != isinstance(given[key], bool) or (key != "enabled" and not isinstance(given[key], int)):
                raise HttpError(400, "BadParameter", f"attributes.{key} has the wrong type.")
            out[key] = given[key]
    out["updated"] = _now()
    return out


def handle(ctx, request, vault):
    private_access.require(ctx, request, vault["body"], [vault["body"]["id"]], private_access.key_vault_refusal())
    parts = request.path.split("/")  # '', collection, [secret], [version|action]
    if len(parts) < 2 or parts[1] not in ("secrets", "deletedsecrets"):
        raise HttpError(404, "NotFound", "The lab's vault data plane serves secrets and deletedsecrets only.")
    vault_uri = vault["body"]["properties"]["vaultUri"]
    name = parts[2] if len(parts) > 2 else ""
    if name and not NAME.fullmatch(name):
        raise HttpError(400, "BadParameter", f"The secret name '{name}' is invalid: 1-127 letters, digits and '-'.")
    key = f"{vault['body']['id'].lower()}/{name.lower()}"
    record = ctx.store.get("vaultSecrets", key) or {"name": name, "versions": {}, "latest": None, "deleted": None}
    rest = parts[3] if len(parts) > 3 else ""
    if parts[1] == "deletedsecrets":
        return _deleted(ctx, request, vault, vault_uri, key, record, rest)
    method = request.method
    if method == "PUT" and not rest:
        return _set(ctx, request, vault, vault_uri, key, record)
    if not record["latest"] or record["deleted"]:
        _authorize(ctx, request, vault, "getSecret" if method == "GET" else "setSecret")
        raise HttpError(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault. If "
                        "you recently deleted this secret you may be able to recover it using the correct recovery "
                        "command.")
    version = rest or record["latest"]
    if version not in record["versions"]:
        _authorize(ctx, request, vault, "getSecret")
        raise HttpError(404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found.")
    if method == "GET":
        _authorize(ctx, request, vault, "getSecret")
        return Response(200, _bundle(vault_uri, name, version, record["versions"][version]))
    if method == "PATCH":
        _authorize(ctx, request, vault, "setSecret")
        body = request.json_object()
        entry = record["versions"][version]
        entry["attributes"] = _attributes(body, entry["attributes"])
        if "contentType" in body:
            entry["contentType"] = body["contentType"]
        if "tags" in body:
            entry["tags"] = body["tags"] or {}
        ctx.store.put("vaultSecrets", key, record)
        return Response(200, _bundle(vault_uri, name, version, entry, with_value=False))
    if method == "DELETE" and not rest:
        _authorize(ctx, request, vault, "delete")
        now = _now()
        days = vault["body"]["properties"].get("softDeleteRetentionInDays", 90)
        record["deleted"] = {"deletedDate": now, "scheduledPurgeDate": now + days * 86400}
        ctx.store.put("vaultSecrets", key, record)
        return Response(200, _deleted_bundle(vault_uri, name, record))
    raise HttpError(405, "MethodNotAllowed", f"{method} is not supported on {request.path}.")


def _set(ctx, request, vault, vault_uri, key, record):
    _authorize(ctx, request, vault, "setSecret")
    body = request.json_object()
    value = body.get("value")
    if not isinstance(value, str):
        raise HttpError(400, "BadParameter", "The request body must hold the secret's value as a string.")
    if len(value.encode("utf-8")) > MAX_VALUE:
        raise HttpError(400, "BadParameter", f"The secret value is larger than {MAX_VALUE} bytes.")
    if record["deleted"]:
        raise HttpError(409, "Conflict", f"Secret {record['name']} is currently in a deleted but recoverable state, "
                        "and its name cannot be reused; in this state, the secret can only be recovered or purged.",
                        body={"error": {"code": "Conflict", "message": f"Secret {record['name']} is currently in a "
                                        "deleted but recoverable state, and its name cannot be reused; in this state, "
                                        "the secret can only be recovered or purged.",
                                        "innererror": {"code": "ObjectIsDeletedButRecoverable"}}})
    version = uuid.uuid4().hex
    record["versions"][version] = {"value": value, "contentType": body.get("contentType"),
                                   "attributes": _attributes(body), "tags": body.get("tags") or {}}
    record["latest"] = version
    ctx.store.put("vaultSecrets", key, record)
    return Response(200, _bundle(vault_uri, record["name"], version, record["versions"][version]))


def _deleted_bundle(vault_uri, name, record):
    entry = record["versions"][record["latest"]]
    out = _bundle(vault_uri, name, record["latest"], entry, with_value=False)
    out.update(recoveryId=f"{vault_uri}deletedsecrets/{name}", deletedDate=record["deleted"]["deletedDate"],
               scheduledPurgeDate=record["deleted"]["scheduledPurgeDate"])
    return out


def _deleted(ctx, request, vault, vault_uri, key, record, action):
    name = record["name"]
    if not record.get("deleted"):
        _authorize(ctx, request, vault, "readMetadata")
        raise HttpError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
    if request.method == "GET" and not action:
        _authorize(ctx, request, vault, "readMetadata")
        return Response(200, _deleted_bundle(vault_uri, name, record))
    if request.method == "POST" and action == "recover":
        _authorize(ctx, request, vault, "recover")
        record["deleted"] = None
        ctx.store.put("vaultSecrets", key, record)
        entry = record["versions"][record["latest"]]
        return Response(200, _bundle(vault_uri, name, record["latest"], entry, with_value=False))
    if request.method == "DELETE" and not action:
        _authorize(ctx, request, vault, "purge")
        if vault["body"]["properties"].get("enablePurgeProtection"):
            raise HttpError(403, "Forbidden", "Operation \"purge\" is not allowed because purge protection is "
                            "enabled for this vault.")
        ctx.store.pop("vaultSecrets", key)
        return Response(204)
    raise HttpError(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}.")

