"""A minimal Microsoft Graph (v1.0): applications, their service principals and client secrets
(addPassword/removePassword), enough to automate an app registration. Callers need the
Application.ReadWrite.All app role (the lab admin has it).
"""
import datetime
import re
import secrets
import uuid

from lab.azure import principals
from lab.azure.web import HttpError, Response

GRAPH_AUDIENCE = "https://graph.microsoft.com"


def graph_error(status, code, message):
    return HttpError(status, code, message, body={"error": {"code": code, "message": message,
                                                            "innerError": {"request-id": str(uuid.uuid4())}}})


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def public_app(app):
    out = {k: v for k, v in app.items() if k != "passwordCredentials"}
    out["passwordCredentials"] = [{k: v for k, v in c.items() if k != "secretHash"}
                                  for c in app.get("passwordCredentials", [])]
    return out


class Graph:
    def __init__(self, ctx):
        self.ctx = ctx

    def handle(self, request, claims):
        if "Application.ReadWrite.All" not in (claims.get("roles") or []):
            raise graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        parts = request.path.strip("/").split("/")[1:]  # after v1.0
        collection = parts[0] if parts else ""
        if collection == "applications":
            return self.applications(request, parts[1:])
        if collection == "servicePrincipals":
            return self.service_principals(request, parts[1:])
        raise graph_error(400, "BadRequest", f"Resource not found for the segment '{collection}'.")

    @staticmethod
    def _filter(items, request):
        text = request.query.get("$filter")
        if not text:
            return items
        found = re.match(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*\Z", text)
        if not found:
            raise graph_error(400, "Request_UnsupportedQuery", f"Unsupported query: {text}")
        key, value = found.groups()
        return [i for i in items if str(i.get(key, "")).lower() == value.lower()]

    def applications(self, request, rest):
        store = self.ctx.store
        if not rest:
            if request.method == "GET":
                apps = self._filter(store.values("applications"), request)
                return Response(200, {"@odata.context": "$metadata#applications", "value": [public_app(a) for a in apps]})
            if request.method == "POST":
                body = request.json_object()
                if not body.get("displayName"):
                    raise graph_error(400, "Request_BadRequest", "displayName is required.")
                app = {"id": str(uuid.uuid4()), "appId": str(uuid.uuid4()), "displayName": body["displayName"],
                       "signInAudience": body.get("signInAudience", "AzureADMyOrg"),
                       "identifierUris": body.get("identifierUris", []), "createdDateTime": _iso(_now()),
                       "passwordCredentials": []}
                store.put("applications", app["id"], app)
                return Response(201, public_app(app))
        app = store.get("applications", rest[0])
        if not app:
            raise graph_error(404, "Request_ResourceNotFound", f"Resource '{rest[0]}' does not exist or one of its "
                              "queried reference-property objects are not present.")
        if len(rest) == 1:
            if request.method == "GET":
                return Response(200, public_app(app))
            if request.method == "PATCH":
                body = request.json_object()
                for key in ("displayName", "identifierUris", "signInAudience"):
                    if key in body:
                        app[key] = body[key]
                store.put("applications", app["id"], app)
                return Response(204)
            if request.method == "DELETE":
                store.pop("applications", app["id"])
                sp = principals.service_principal_by_app_id(store, app["appId"])
                if sp:
                    store.pop("servicePrincipals", sp["id"])
                return Response(204)
        if len(rest) == 2 and request.method == "POST" and rest[1] == "addPassword":
            body = request.json_object().get("passwordCredential") or {}
            secret = secrets.token_urlsafe(30)
            start = _now()
            end = body.get("endDateTime") or _iso(start + datetime.timedelta(days=730))
            credential = {"keyId": str(uuid.uuid4()), "displayName": body.get("displayName"), "hint": secret[:3],
                          "startDateTime": _iso(start), "endDateTime": end, "customKeyIdentifier": None}
            app["passwordCredentials"].append(dict(credential, secretHash=principals.hash_secret(secret)))
            store.put("applications", app["id"], app)
            return Response(200, dict(credential, secretText=secret))
        if len(rest) == 2 and request.method == "POST" and rest[1] == "removePassword":
            key_id = request.json_object().get("keyId")
            before = len(app["passwordCredentials"])
            app["passwordCredentials"] = [c for c in app["passwordCredentials"] if c["keyId"] != key_id]
            if len(app["passwordCredentials"]) == before:
                raise graph_error(400, "Request_BadRequest", f"No password credential found with keyId {key_id}.")
            store.put("applications", app["id"], app)
            return Response(204)
        raise graph_error(405, "Request_BadRequest", "Unsupported operation on applications.")

    def service_principals(self, request, rest):
        store = self.ctx.store
        if not rest:
            if request.method == "GET":
                return Response(200, {"@odata.context": "$metadata#servicePrincipals",
                                      "value": self._filter(store.values("servicePrincipals"), request)})
            if request.method == "POST":
                app_id = request.json_object().get("appId", "")
                if not isinstance(app_id, str):
                    raise graph_error(400, "Request_BadRequest", "appId must be a string.")
                app = principals.application_by_app_id(store, app_id)
                if not app:
                    raise graph_error(400, "Request_BadRequest", f"The appId '{app_id}' of the service principal "
                                      "does not reference a valid application object.")
                if principals.service_principal_by_app_id(store, app_id):
                    raise graph_error(409, "Request_MultipleObjectsWithSameKeyValue", "The service principal "
                                      "cannot be created, updated, or restored because the service principal name "
                                      f"{app_id} is already in use.")
                sp = {"id": str(uuid.uuid4()), "appId": app["appId"], "displayName": app["displayName"],
                      "servicePrincipalType": "Application", "accountEnabled": True,
                      "appOwnerOrganizationId": self.ctx.facts["tenantId"]}
                store.put("servicePrincipals", sp["id"], sp)
                return Response(201, sp)
        sp = store.get("servicePrincipals", rest[0]) if rest else None
        if not sp:
            raise graph_error(404, "Request_ResourceNotFound", f"Resource '{rest[0]}' does not exist.")
        if request.method == "GET":
            return Response(200, sp)
        if request.method == "DELETE":
            store.pop("servicePrincipals", sp["id"])
            return Response(204)
        raise graph_error(405, "Request_BadRequest", "Unsupported operation on servicePrincipals.")
