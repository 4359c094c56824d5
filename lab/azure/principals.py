"""Who can hold a token: applications' service principals (Graph), user-assigned identities and
system-assigned identities (ARM resources). Each is {objectId, clientId[, resourceId]}.
"""
import hashlib
import hmac

UAI_TYPE = "microsoft.managedidentity/userassignedidentities"
FIC_TYPE = UAI_TYPE + "/federatedidentitycredentials"


def hash_secret(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(app, secret):
    digest = hash_secret(secret)
    return any(hmac.compare_digest(digest, cred["secretHash"]) for cred in app.get("passwordCredentials", []))


def application_by_app_id(store, app_id):
    return next((a for a in store.values("applications") if a["appId"].lower() == app_id.lower()), None)


def service_principal_by_app_id(store, app_id):
    return next((s for s in store.values("servicePrincipals") if s["appId"].lower() == app_id.lower()), None)


def user_assigned_by_client_id(store, client_id):
    found = store.resources(lambda r: r["body"]["type"].lower() == UAI_TYPE
                            and r["body"]["properties"].get("clientId", "").lower() == client_id.lower())
    return found[0] if found else None


def identity_principal(record):
    props = record["body"]["properties"]
    return {"objectId": props["principalId"], "clientId": props["clientId"], "resourceId": record["body"]["id"]}


def federated_credentials(store, identity_id):
    prefix = identity_id.lower() + "/federatedidentitycredentials/"
    return store.resources(lambda r: r["body"]["id"].lower().startswith(prefix))


def find_by_object_id(store, object_id):
    """Any principal with this object id, or None: used to refuse role assignments to nobody."""
    object_id = object_id.lower()
    for sp in store.values("servicePrincipals"):
        if sp["id"].lower() == object_id:
            return {"objectId": sp["id"], "clientId": sp["appId"], "principalType": "ServicePrincipal"}
    for record in store.resources():
        body = record["body"]
        if body["type"].lower() == UAI_TYPE and body["properties"].get("principalId", "").lower() == object_id:
            return dict(identity_principal(record), principalType="ServicePrincipal")
        identity = body.get("identity") or {}
        if identity.get("principalId", "").lower() == object_id:
            return {"objectId": identity["principalId"], "clientId": identity.get("clientId"),
                    "resourceId": body["id"], "principalType": "ServicePrincipal"}
    return None
