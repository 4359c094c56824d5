"""Entra ID: OpenID discovery, JWKS, the v2 token endpoint (client secret, federated client assertion),
the App Service-shaped managed identity endpoint, and a lab OIDC issuer that stands in for a cluster's
service-account issuer (so workload identity can be tried without a cluster).
"""
import base64
import hashlib
import json
import re
import secrets
import ssl
import time
import urllib.parse
import urllib.request
import uuid

import jwt

from lab.azure import principals
from lab.azure.web import HttpError, Response

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Resource (scope without /.default) -> the audience Entra puts in the token.
RESOURCES = {
    "https://management.azure.com": "https://management.azure.com/",
    "https://management.core.windows.net": "https://management.core.windows.net/",
    "https://dicom.healthcareapis.azure.com": "https://dicom.healthcareapis.azure.com",
    "https://storage.azure.com": "https://storage.azure.com",
    "https://graph.microsoft.com": "https://graph.microsoft.com",
    "https://vault.azure.net": "https://vault.azure.net",
    "https://ossrdbms-aad.database.windows.net": "https://ossrdbms-aad.database.windows.net",
}
MANAGEMENT_AUDIENCES = ("https://management.azure.com/", "https://management.azure.com",
                        "https://management.core.windows.net/", "https://management.core.windows.net")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def _utc(seconds):
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(seconds)) if isinstance(seconds, (int, float)) else "unset"


def aad_error(status, error, code, description):
    body = {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()), "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4())}
    return HttpError(status, error, description, body=body)


class Entra:
    def __init__(self, ctx):
        self.ctx = ctx
        self.tenant = ctx.facts["tenantId"]

    # Discovery -------------------------------------------------------------------------------------
    def authority(self):
        return f"{self.ctx.base_url}/{self.tenant}"

    def discovery(self, v2):
        base = self.authority()
        token = f"{base}/oauth2/v2.0/token" if v2 else f"{base}/oauth2/token"
        return {"issuer": f"{base}/v2.0" if v2 else self.ctx.tokens.issuer,
                "token_endpoint": token, "jwks_uri": f"{base}/discovery/v2.0/keys" if v2 else f"{base}/discovery/keys",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "grant_types_supported": ["client_credentials"], "tenant_region_scope": "EU",
                "cloud_instance_name": "lab.localhost", "msgraph_host": self.ctx.base_url.split("://", 1)[1]}

    def handle(self, request):
        """Routes under /{tenant}/...; None when the path is not Entra's."""
        parts = request.path.strip("/").split("/")
        if len(parts) < 2:
            return None
        tenant, rest = parts[0], "/".join(parts[1:]).lower()
        known = {"v2.0/.well-known/openid-configuration", ".well-known/openid-configuration", "discovery/v2.0/keys",
                 "discovery/keys", "oauth2/v2.0/token", "oauth2/token"}
        if rest not in known:
            return None
        if tenant.lower() not in (self.tenant.lower(), "organizations", "common"):
            raise aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                            "the correct tenant ID and are signing into the correct cloud.")
        if rest.endswith("openid-configuration"):
            return Response(200, self.discovery(rest.startswith("v2.0")))
        if rest.endswith("keys"):
            return Response(200, self.ctx.tokens.key.jwks())
        if request.method != "POST":
            raise aad_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        return self.token(request, v1=rest == "oauth2/token")

    # Token endpoint ------------------------------------------------------------------------------------
    def token(self, request, v1=False):
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            raise aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                            f"'{form.get('grant_type')}'. The lab supports client_credentials only.")
        client_id = form.get("client_id", "")
        if not client_id and request.header("authorization", "").lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(request.header("authorization")[6:]).decode().partition(":")
            except ValueError:  # not base64, or not UTF-8 inside
                raise aad_error(400, "invalid_client", 7000216, "The Basic authorization header is malformed.") \
                    from None
            form["client_secret"] = secret
        resource = form.get("resource") if v1 else self.resource_of(form.get("scope", ""))
        audience = self.audience_for(resource)
        if form.get("client_assertion"):
            principal, acr = self.from_assertion(client_id, form), "2"
        elif form.get("client_secret") is not None:
            principal, acr = self.from_secret(client_id, form["client_secret"]), "1"
        else:
            raise aad_error(400, "invalid_client", 7000218, "The request body must contain the following parameter: "
                            "'client_assertion' or 'client_secret'.")
        extra = {}
        if audience == "https://graph.microsoft.com" and principal.get("graphRoles"):
            extra["roles"] = principal["graphRoles"]
        token, expires = self.ctx.tokens.issue(principal, audience, appidacr=acr, extra=extra)
        self.ctx.note_principal(request, principal)
        answer = {"token_type": "Bearer", "expires_in": expires - int(time.time()),
                  "ext_expires_in": expires - int(time.time()), "access_token": token}
        if v1:
            answer.update(resource=resource, expires_on=str(expires))
        return Response(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def resource_of(scope):
        for item in scope.split():
            if item.endswith("/.default"):
                return item[: -len("/.default")]
        raise aad_error(400, "invalid_scope", 1002012, f"The provided value for scope '{scope}' is not valid. "
                        "Client credential flows must have a scope value with /.default suffixed to the resource "
                        "identifier (application ID URI).")

    def audience_for(self, resource):
        resource = (resource or "").rstrip("/")
        if resource in RESOURCES:
            return RESOURCES[resource]
        dicom = self.ctx.dicom_audience(resource)
        if dicom:
            return dicom
        raise aad_error(400, "invalid_resource", 500011, f"The resource principal named {resource} was not found "
                        f"in the tenant named {self.tenant}. This can happen if the application has not been "
                        "installed by the administrator of the tenant.")

    def from_secret(self, client_id, secret):
        app = principals.application_by_app_id(self.ctx.store, client_id)
        sp = principals.service_principal_by_app_id(self.ctx.store, client_id) if app else None
        if not app or not sp:
            raise aad_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                            f"found in the directory '{self.tenant}'.")
        if not principals.secret_matches(app, secret):
            raise aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                            f"sent in the request is the client secret value, not the client secret ID, for a secret "
                            f"added to app '{client_id}'.")
        return {"objectId": sp["id"], "clientId": app["appId"], "graphRoles": sp.get("graphRoles", [])}

    def from_assertion(self, client_id, form):
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise aad_error(400, "invalid_request", 700009, "client_assertion_type must be " + CLIENT_ASSERTION_TYPE)
        identity = principals.user_assigned_by_client_id(self.ctx.store, client_id)
        if not identity:
            raise aad_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                            f"found in the directory '{self.tenant}'.")
        assertion = form["client_assertion"]
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise aad_error(400, "invalid_client", 50027, f"JWT token is invalid or malformed ({err}).") from err
        issuer, subject = claims.get("iss", ""), claims.get("sub", "")
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        for fic in principals.federated_credentials(self.ctx.store, identity["body"]["id"]):
            props = fic["body"]["properties"]
            if props.get("issuer") == issuer and props.get("subject") == subject \
                    and set(props.get("audiences") or []) & set(audiences):
                self.verify_assertion(assertion, issuer, props["audiences"])
                return principals.identity_principal(identity)
        raise aad_error(400, "invalid_client", 70021, "No matching federated identity record found for presented "
                        f"assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion "
                        f"Audience: '{','.join(str(a) for a in audiences)}'.")

    def verify_assertion(self, assertion, issuer, audiences):
        key = self.issuer_key(issuer, jwt.get_unverified_header(assertion).get("kid"))
        try:
            jwt.decode(assertion, key, algorithms=["RS256", "ES256"], audience=audiences, issuer=issuer,
                       options={"require": ["exp", "iss", "sub", "aud"]})
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as err:
            # Entra's own words, with the times, so the caller can tell an expired token from a clock problem.
            claims = jwt.decode(assertion, options={"verify_signature": False})
            raise aad_error(400, "invalid_client", 700024, "Client assertion is not within its valid time range. "
                            f"Current time: {_utc(time.time())}, assertion valid from {_utc(claims.get('nbf'))}, "
                            f"expiry time of assertion {_utc(claims.get('exp'))}. The assertion has "
                            f"{'expired' if isinstance(err, jwt.ExpiredSignatureError) else 'not become valid yet'}."
                            ) from err
        except jwt.PyJWTError as err:
            raise aad_error(401, "invalid_client", 700027, f"Client assertion failed signature validation ({err}).") \
                from err

    def issuer_key(self, issuer, kid):
        """The assertion issuer's signing key: the lab's own OIDC issuer, or a loopback issuer's JWKS."""
        if issuer.startswith(f"{self.ctx.base_url}/_lab/oidc/"):
            return self.ctx.tokens.key.key.public_key()
        parsed = urllib.parse.urlsplit(issuer)
        if parsed.scheme != "https" or parsed.hostname not in LOOPBACK_HOSTS:
            raise aad_error(400, "invalid_client", 700211, f"No matching federated identity record found for "
                            f"presented assertion issuer '{issuer}' (the lab reaches https issuers on 127.0.0.1 only).")
        context = ssl.create_default_context(cafile=self.ctx.ca_bundle)
        try:
            with urllib.request.urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=5,
                                        context=context) as answer:  # noqa: S310 - loopback https only
                jwks_uri = json.load(answer)["jwks_uri"]
            if urllib.parse.urlsplit(jwks_uri).hostname not in LOOPBACK_HOSTS:
                raise ValueError(f"jwks_uri {jwks_uri} is not on 127.0.0.1")
            with urllib.request.urlopen(jwks_uri, timeout=5, context=context) as answer:  # noqa: S310
                keys = json.load(answer)["keys"]
        except (OSError, ValueError, KeyError) as err:
            raise aad_error(400, "invalid_client", 700211, f"Could not read the signing keys of issuer '{issuer}': "
                            f"{err}") from err
        for jwk in keys:
            if kid is None or jwk.get("kid") == kid:
                return jwt.PyJWK(jwk).key
        raise aad_error(401, "invalid_client", 700027, f"Issuer '{issuer}' has no key with kid '{kid}'.")

    # Managed identity (App Service shape: IDENTITY_ENDPOINT + IDENTITY_HEADER) ------------------------------
    def register_msi_host(self, resource_id):
        header = secrets.token_urlsafe(24)
        self.ctx.store.put("msiHosts", hashlib.sha256(header.encode()).hexdigest(), {"resourceId": resource_id})
        return {"IDENTITY_ENDPOINT": f"{self.ctx.base_url}/msi/token", "IDENTITY_HEADER": header}

    def managed_identity(self, request):
        header = request.header("x-identity-header")
        host = self.ctx.store.get("msiHosts", hashlib.sha256(header.encode()).hexdigest()) if header else None
        if not host:
            raise HttpError(401, "Unauthorized", "missing or unknown X-IDENTITY-HEADER",
                            body={"statusCode": 401, "message": "Unauthorized: X-IDENTITY-HEADER is missing or "
                                  "does not belong to a lab managed-identity host."})
        record = self.ctx.store.get_resource(host["resourceId"])
        identity = (record or {}).get("body", {}).get("identity") or {}
        query = request.query
        principal = None
        if query.get("client_id") or query.get("mi_res_id") or query.get("object_id"):
            for res_id, uai in (identity.get("userAssignedIdentities") or {}).items():
                if query.get("client_id", "").lower() == uai["clientId"].lower() or \
                        query.get("mi_res_id", "").lower() == res_id.lower() or \
                        query.get("object_id", "").lower() == uai["principalId"].lower():
                    principal = {"objectId": uai["principalId"], "clientId": uai["clientId"], "resourceId": res_id}
        elif identity.get("principalId"):
            principal = {"objectId": identity["principalId"], "clientId": identity.get("clientId"),
                         "resourceId": host["resourceId"]}
        if not principal:
            raise HttpError(400, "BadRequest", "no identity", body={
                "statusCode": 400, "message": "No Managed Identity found for specified ClientId/ResourceId/PrincipalId."})
        try:
            audience = self.audience_for(query.get("resource", ""))
        except HttpError:
            raise HttpError(400, "BadRequest", "bad resource", body={
                "statusCode": 400, "message": f"AADSTS500011: The resource principal named {query.get('resource')} "
                                              "was not found in the tenant."}) from None
        token, expires = self.ctx.tokens.issue(principal, audience, appidacr="2")
        self.ctx.note_principal(request, principal)
        return Response(200, {"access_token": token, "expires_on": str(expires), "resource": query.get("resource"),
                              "token_type": "Bearer", "client_id": principal["clientId"]})

    # The lab's stand-in for a cluster's service-account issuer --------------------------------------------
    def lab_oidc(self, request, name, rest):
        issuer = f"{self.ctx.base_url}/_lab/oidc/{name}"
        if rest == ".well-known/openid-configuration":
            return Response(200, {"issuer": issuer, "jwks_uri": f"{issuer}/keys", "response_types_supported":
                                  ["id_token"], "subject_types_supported": ["public"],
                                  "id_token_signing_alg_values_supported": ["RS256"]})
        if rest == "keys":
            return Response(200, self.ctx.tokens.key.jwks())
        if rest == "token" and request.method == "POST":
            self.ctx.require_lab_admin(request)
            body = request.json_object()
            subject, lifetime = body.get("subject"), body.get("lifetime", 3600)
            if not isinstance(subject, str) or not re.fullmatch(r"[\w:.\-/@]+", subject):
                raise HttpError(400, "InvalidRequest", "subject is required, e.g. system:serviceaccount:ns:name")
            if isinstance(lifetime, bool) or not isinstance(lifetime, int):
                raise HttpError(400, "InvalidRequest", "lifetime must be a whole number of seconds")
            now = int(time.time())
            claims = {"iss": issuer, "sub": subject, "aud": body.get("audience", "api://AzureADTokenExchange"),
                      "iat": now, "nbf": now, "exp": now + lifetime}
            token = jwt.encode(claims, self.ctx.tokens.key.key, algorithm="RS256",
                               headers={"kid": self.ctx.tokens.key.kid})
            return Response(200, {"token": token, "issuer": issuer})
        raise HttpError(404, "NotFound", f"unknown lab OIDC path {rest}")
