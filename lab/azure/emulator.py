"""The emulator: one HTTPS service that routes to Entra ID, Microsoft Graph, ARM and the DICOM data plane,
authenticates every call, and logs every request (method, path, api-version, status) to a JSONL file.
"""
import json
import os
import threading
import time
import traceback
import uuid

from lab.azure import principals, providers, rbac
from lab.azure.arm import Arm
from lab.azure.behaviours import arc, dicom
from lab.azure.behaviours import load as load_behaviour
from lab.azure.entra import MANAGEMENT_AUDIENCES, Entra
from lab.azure.graph import GRAPH_AUDIENCE, Graph
from lab.azure.lro import Operations, TERMINAL
from lab.azure.store import Store
from lab.azure.tokens import SigningKey, TokenError, TokenService
from lab.azure.validation import api_versions
from lab.azure.web import HttpError, Response
from lab.azurite import Azurite
from lab.postgres import PostgresCluster
from lab.proc import LOOPBACK

ADMIN_ASSIGNMENT = "00000000-0000-4000-8000-00000000ad01"


class Emulator:
    def __init__(self, layout, settle_seconds=0.3, retry_after=1, token_lifetime=3600):
        self.layout = layout
        self.facts = layout.load_facts()
        ports = self.facts["ports"]
        self.base_url = f"https://{LOOPBACK}:{ports['emulator']}"
        self.location_name = self.facts["location"]
        self.ca_bundle = os.path.join(layout.ca_dir, "ca.pem")
        self.server_cert = os.path.join(layout.ca_dir, "server.pem")
        self.server_key = os.path.join(layout.ca_dir, "server.key")
        self.settle_seconds = settle_seconds
        self.store = Store(layout.state_file)
        self.tokens = TokenService(SigningKey(layout.signing_key), self.facts["tenantId"], token_lifetime)
        self.operations = Operations(self.store, self.base_url, self.facts["subscriptionId"], retry_after)
        self.azurite = Azurite(layout.azurite_dir, ports["azurite"], self.server_cert, self.server_key)
        self.postgres = PostgresCluster(layout.postgres_data, ports["postgres"])
        self.postgres_host = LOOPBACK
        self.postgres_version = "15"
        self.arm, self.entra, self.graph = Arm(self), Entra(self), Graph(self)
        self._log_lock = threading.Lock()
        self.bootstrap()

    # Start and stop ----------------------------------------------------------------------------------
    def bootstrap(self):
        """The lab admin: an application with a secret, its service principal, Owner on the subscription."""
        admin = self.facts["admin"]
        if not self.store.get("applications", admin["applicationObjectId"]):
            self.store.put("applications", admin["applicationObjectId"], {
                "id": admin["applicationObjectId"], "appId": admin["clientId"], "displayName": admin["displayName"],
                "signInAudience": "AzureADMyOrg", "identifierUris": [],
                "passwordCredentials": [{"keyId": str(uuid.uuid4()), "displayName": "lab", "hint": "lab",
                                         "secretHash": principals.hash_secret(admin["clientSecret"])}]})
            self.store.put("servicePrincipals", admin["objectId"], {
                "id": admin["objectId"], "appId": admin["clientId"], "displayName": admin["displayName"],
                "servicePrincipalType": "Application", "accountEnabled": True,
                "graphRoles": ["Application.ReadWrite.All"]})
        scope = f"/subscriptions/{self.facts['subscriptionId']}"
        assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{ADMIN_ASSIGNMENT}"
        if not self.store.get_resource(assignment_id):
            self.store.put_resource(assignment_id, {"private": {}, "body": {
                "id": assignment_id, "name": ADMIN_ASSIGNMENT, "type": "Microsoft.Authorization/roleAssignments",
                "properties": {"scope": scope, "principalId": admin["objectId"], "principalType": "ServicePrincipal",
                               "roleDefinitionId": f"{scope}/providers/{rbac.ROLE_TYPE}/{rbac.OWNER}"}}})

    def _each_with_behaviour(self):
        for record in self.store.resources():
            resource_type = providers.lookup(record["body"]["type"])
            if resource_type and resource_type.behaviour:
                yield record, load_behaviour(resource_type.behaviour)

    def resume(self):
        """After a restart: data planes come back, operations cut short are finished."""
        for record, behaviour in self._each_with_behaviour():
            state = record["body"].get("properties", {}).get("provisioningState", "Succeeded")
            if state in TERMINAL:
                behaviour.resume(self, record)
        for record in self.store.resources():
            state = record["body"].get("properties", {}).get("provisioningState", "Succeeded")
            if state == "Deleting":
                self.arm.remove(record)
            elif state not in TERMINAL:
                resource_type = providers.lookup(record["body"]["type"])
                load_behaviour(resource_type.behaviour if resource_type else None).provision(self, record)
                self.arm.set_state(record["body"]["id"], "Succeeded")
        for op in self.store.values("operations"):
            if op["status"] not in TERMINAL:
                op.update(status="Succeeded")
                self.store.put("operations", op["id"], op)

    def shutdown(self):
        threads = [threading.Thread(target=behaviour.shutdown, args=(self, record))
                   for record, behaviour in self._each_with_behaviour()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    # Helpers the parts share ---------------------------------------------------------------------------
    def api_versions_of(self, resource_type):
        if not resource_type.package:
            return []
        return sorted(api_versions(resource_type.package), reverse=True)

    def dicom_audience(self, resource):
        for record in self.store.resources(lambda r: r["body"]["type"].lower() ==
                                           "microsoft.healthcareapis/workspaces/dicomservices"):
            url = record["body"].get("properties", {}).get("serviceUrl", "")
            if url and resource.rstrip("/") == url:
                return url
        return None

    def note_principal(self, request, principal):
        request.principal = principal.get("objectId")

    def bearer_claims(self, request, audiences, arm_style=True):
        auth = request.header("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise HttpError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                            "missing.", self._challenge())
        try:
            claims = self.tokens.verify(auth[7:].strip(), audiences)
        except TokenError as err:
            code = err.code if err.code != "invalid_token" else "InvalidAuthenticationToken"
            message = {"InvalidAuthenticationTokenAudience":
                       f"The access token has been obtained for wrong audience or resource: {err.reason}. It should "
                       f"exactly match with one of the allowed audiences '{','.join(audiences)}'."}.get(
                           code, f"The access token is invalid: {err.reason}.")
            raise HttpError(401, code, message, self._challenge("invalid_token")) from None
        request.principal = claims["oid"]
        return claims

    def _challenge(self, error=None):
        value = f'Bearer authorization_uri="{self.base_url}/{self.facts["tenantId"]}", error="{error or "invalid_token"}"'
        return {"WWW-Authenticate": value}

    def require_lab_admin(self, request):
        claims = self.bearer_claims(request, MANAGEMENT_AUDIENCES)
        if claims["oid"] != self.facts["admin"]["objectId"]:
            raise HttpError(403, "AuthorizationFailed", "Only the lab admin may use the lab's own endpoints.")
        return claims

    # Dispatch --------------------------------------------------------------------------------------------
    def __call__(self, request):
        path = request.path
        if path == "/_lab/health":
            return Response(200, {"status": "ok", "tenantId": self.facts["tenantId"]})
        if path.startswith("/_lab/oidc/"):
            name, _, rest = path[len("/_lab/oidc/"):].partition("/")
            return self.entra.lab_oidc(request, name, rest)
        if path == "/_lab/managed-identity-hosts" and request.method == "POST":
            self.require_lab_admin(request)
            resource_id = request.json_object().get("resourceId", "")
            if not isinstance(resource_id, str):
                raise HttpError(400, "InvalidRequestContent", "resourceId must be a string.")
            if not self.store.get_resource(resource_id):
                raise HttpError(404, "ResourceNotFound", f"No resource '{resource_id}' to host a managed identity.")
            return Response(200, self.entra.register_msi_host(resource_id))
        if path == "/_lab/arc/agent" and request.method == "POST":   # Arc agents report, signed with their key
            return arc.agent_check_in(self, request)
        if path.rstrip("/") == "/msi/token":
            return self.entra.managed_identity(request)
        if path.startswith("/dicom/"):
            return dicom.proxy(self, request)
        if path.startswith("/v1.0/"):
            claims = self.bearer_claims(request, (GRAPH_AUDIENCE, GRAPH_AUDIENCE + "/"))
            return self.graph.handle(request, claims)
        lower = path.lower()
        if lower.startswith("/subscriptions") or lower.startswith("/tenants") or lower.startswith("/providers"):
            claims = self.bearer_claims(request, MANAGEMENT_AUDIENCES)
            return self.arm.handle(request, claims)
        answer = self.entra.handle(request)
        if answer is not None:
            return answer
        raise HttpError(404, "NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")

    # Logs ------------------------------------------------------------------------------------------------
    def new_request_id(self):
        return str(uuid.uuid4())

    def log_request(self, request, status, seconds):
        entry = {"ts": round(time.time(), 3), "method": request.method, "path": request.path,
                 "apiVersion": request.query.get("api-version"), "status": status,
                 "principal": request.principal, "ms": round(seconds * 1000, 1)}
        line = json.dumps(entry) + "\n"
        with self._log_lock:
            with open(self.layout.request_log, "a", encoding="utf-8") as handle:
                handle.write(line)

    def log_exception(self, request, err):
        with self._log_lock:
            with open(self.layout.emulator_log, "a", encoding="utf-8") as handle:
                handle.write(f"{request.method} {request.path}: {''.join(traceback.format_exception(err))}\n")
