"""Token providers: one small class per way of getting a bearer token.

Each provider's `acquire(now)` performs exactly one token request (no hidden cache: the manager
owns caching and scheduling, so acquisitions are counted and timed truthfully) and returns a Token.

Protocols (request shapes follow Microsoft's and RFC 6749's documentation):
- client_credentials: POST form grant_type=client_credentials, client_id, client_secret, scope
  (client_secret_post: accepted by Entra ID v2, Keycloak, and most servers).
- managed_identity: App Service / Container Apps: GET IDENTITY_ENDPOINT?api-version=2019-08-01
  &resource=R[&client_id=C] with header X-IDENTITY-HEADER; otherwise IMDS: GET
  http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
  [&client_id=C] with header Metadata: true.
- workload_identity: POST form grant_type=client_credentials, client_id, scope,
  client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer,
  client_assertion=<content of AZURE_FEDERATED_TOKEN_FILE, re-read at each exchange>.
- static: the configured token; its expiry is read from the JWT `exp` claim when it is a JWT.
"""

import base64
import json
import os

from .model import Token, TokenError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STATIC_LIFETIME = 365 * 24 * 3600.0  # an opaque static token does not expire as far as we know


def resource_of(scope):
    """Managed identity endpoints take a resource, not a scope: strip '/.default'."""
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


def jwt_exp(value):
    """The `exp` claim of a JWT, or None (not verified: only used to schedule a refresh)."""
    parts = value.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = payload.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (ValueError, TypeError):
        return None


def token_from_response(body, obtained_at, source):
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenError("%s answered without an access_token" % source, permanent=False)
    token_type = str(body.get("token_type", "Bearer"))
    if token_type.lower() != "bearer":
        raise TokenError("%s answered token_type %r, expected Bearer" % (source, token_type[:20]),
                         permanent=True)
    expires_at = None
    try:
        if body.get("expires_in") not in (None, ""):
            expires_at = obtained_at + float(body["expires_in"])
        elif body.get("expires_on") not in (None, ""):
            expires_at = float(body["expires_on"])
    except (TypeError, ValueError):
        expires_at = None
    claimed = jwt_exp(value)  # the resource server enforces the JWT's own exp (whole seconds)
    if expires_at is None or (claimed is not None and claimed < expires_at):
        expires_at = claimed
    if expires_at is None:
        raise TokenError("%s answered without a usable expires_in/expires_on" % source, permanent=False)
    if expires_at <= obtained_at:
        raise TokenError("%s answered a token that is already expired (clock skew?)" % source,
                         permanent=False)
    return Token(value=value, obtained_at=obtained_at, expires_at=expires_at)


class _Provider:
    kind = "?"

    def __init__(self, settings, http, environ=None):
        self.settings = settings
        self.http = http
        self.environ = os.environ if environ is None else environ

    def _secret(self, source):
        try:
            return source.read(self.environ)
        except (OSError, ValueError) as exc:
            # A missing or empty secret will not fix itself by retrying in two seconds.
            raise TokenError("cannot read the secret (%s): %s" % (source.describe(), type(exc).__name__),
                             permanent=True) from None


class ClientCredentialsProvider(_Provider):
    kind = "client_credentials"

    def acquire(self, now):
        s = self.settings
        secret = self._secret(s.secret)
        form = {"grant_type": "client_credentials", "client_id": s.client_id,
                "client_secret": secret, "scope": s.scope}
        body = self.http.request_json("POST", s.token_endpoint, data=form, verify=s.ca_bundle,
                                      headers={"Accept": "application/json"}, known_secrets=(secret,))
        return token_from_response(body, now, s.token_endpoint)


class WorkloadIdentityProvider(_Provider):
    kind = "workload_identity"

    def acquire(self, now):
        s = self.settings
        try:
            with open(s.federated_token_file, "r", encoding="utf-8") as handle:
                assertion = handle.read().strip()
        except OSError as exc:
            raise TokenError("cannot read federated token file %s: %s"
                             % (s.federated_token_file, type(exc).__name__), permanent=False) from None
        if not assertion:
            raise TokenError("federated token file %s is empty" % s.federated_token_file, permanent=False)
        form = {"grant_type": "client_credentials", "client_id": s.client_id, "scope": s.scope,
                "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
        body = self.http.request_json("POST", s.token_endpoint, data=form, verify=s.ca_bundle,
                                      headers={"Accept": "application/json"}, known_secrets=(assertion,))
        return token_from_response(body, now, s.token_endpoint)


class ManagedIdentityProvider(_Provider):
    kind = "managed_identity"

    def acquire(self, now):
        s = self.settings
        params = {"resource": resource_of(s.scope)}
        if s.identity_endpoint:
            header = self._secret(s.identity_header)
            params["api-version"] = "2019-08-01"
            if s.client_id:
                params["client_id"] = s.client_id
            url, headers, secrets = s.identity_endpoint, {"X-IDENTITY-HEADER": header}, (header,)
        else:
            params["api-version"] = "2018-02-01"
            if s.client_id:
                params["client_id"] = s.client_id
            url, headers, secrets = s.imds_endpoint, {"Metadata": "true"}, ()
        body = self.http.request_json("GET", url, params=params, headers=headers, verify=s.ca_bundle,
                                      known_secrets=secrets)
        return token_from_response(body, now, "managed identity endpoint")


class StaticTokenProvider(_Provider):
    kind = "static"

    def acquire(self, now):
        value = self._secret(self.settings.secret)
        expires_at = jwt_exp(value) or (now + STATIC_LIFETIME)
        if expires_at <= now:
            raise TokenError("the static token has expired (its exp claim is in the past)", permanent=True)
        return Token(value=value, obtained_at=now, expires_at=expires_at)


PROVIDER_CLASSES = {cls.kind: cls for cls in (ClientCredentialsProvider, WorkloadIdentityProvider,
                                              ManagedIdentityProvider, StaticTokenProvider)}


def build_provider(settings, http, environ=None):
    return PROVIDER_CLASSES[settings.provider](settings, http, environ)
