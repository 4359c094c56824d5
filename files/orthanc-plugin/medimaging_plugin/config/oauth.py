"""The DicomWebOAuth section: its fields and the token servers it describes.

Read with the one schema (config/schema.py): environment variable > Orthanc JSON > default, per key. A
variable that sets any client-secret source (ClientSecret, ClientSecretEnv, ClientSecretFile) replaces every
secret source given in JSON for that server, so a container can override a host's file secret. Environment
server <NAME>s match JSON server names ignoring case and non-alphanumerics (AZURE_DICOM == "azure-dicom" ==
"AzureDicom"); a server defined only in the environment is registered in Orthanc as <name> lower-cased.

server_settings() also reads the TokenServer of the archive and storage sections (token_server_field()).
"""

import os
from dataclasses import dataclass, field
from typing import Optional

from .checks import check_file, check_url
from .errors import ConfigError
from .ranges import DAY, HOUR
from .schema import Field, load_section
from .secret_source import SecretSource, env_secret

SECTION = "DicomWebOAuth"
DEFAULT_SCOPE = "https://dicom.healthcareapis.azure.com/.default"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/"
DEFAULT_IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"

PROVIDERS = ("client_credentials", "managed_identity", "workload_identity", "static")
SECRET_KEYS = ("ClientSecret", "ClientSecretEnv", "ClientSecretFile")
# Extra per-server settings passed through to Orthanc's DICOMweb server entry (never headers or
# credentials: the Authorization header is the only secret we hand to Orthanc).
SERVER_OPTION_KEYS = ("HasDelete", "ChunkedTransfers", "HasWadoRsUniversalTransferSyntax")

SERVER_FIELDS = {
    "Url": Field(str),
    "Provider": Field(str),
    "TokenEndpoint": Field(str),
    "ClientId": Field(str),
    "ClientSecret": Field(str, group="secret"),
    "ClientSecretEnv": Field(str, group="secret"),
    "ClientSecretFile": Field(str, group="secret"),
    "UseManagedIdentity": Field(bool, False),
    "Scope": Field(str, DEFAULT_SCOPE),
    "TenantId": Field(str),
    "AuthorityHost": Field(str),
    "FederatedTokenFile": Field(str),
    "ImdsEndpoint": Field(str),
    "StaticToken": Field(str),
    "StaticTokenFile": Field(str),
    "CaBundle": Field(str),
    "ServerOptions": Field(dict),
}
FIELDS = {
    "Enabled": Field(bool, True),
    "Servers": Field(dict, entries=SERVER_FIELDS, what="server"),
    "RefreshMarginSeconds": Field(float, 300.0, limits=(0, DAY)),
    "RefreshJitterSeconds": Field(float, 30.0, limits=(0, HOUR)),
    "RetryMinSeconds": Field(float, 2.0, limits=(0.01, HOUR)),
    "RetryMaxSeconds": Field(float, 300.0, limits=(0.01, DAY)),
    "PermanentErrorRetrySeconds": Field(float, 900.0, limits=(1, 7 * DAY)),
    "HttpTimeoutSeconds": Field(float, 10.0, limits=(0.1, 600)),
    "CaBundle": Field(str),
}


def token_server_field(scope):
    """A TokenServer key of another section: a server entry without Url/ServerOptions, Scope defaulting to `scope`."""
    fields = {key: spec for key, spec in SERVER_FIELDS.items() if key not in ("Url", "ServerOptions")}
    fields["Scope"] = Field(str, scope)
    return Field(dict, fields=fields)


@dataclass(frozen=True)
class ServerSettings:
    name: str
    url: str
    provider: str
    scope: str
    client_id: Optional[str] = None
    token_endpoint: Optional[str] = None
    secret: Optional[SecretSource] = None  # client secret or static token
    federated_token_file: Optional[str] = None
    imds_endpoint: Optional[str] = None
    identity_endpoint: Optional[str] = None
    identity_header: Optional[SecretSource] = None
    ca_bundle: Optional[str] = None
    server_options: dict = field(default_factory=dict)

    def public_view(self):
        """What the status endpoint may show: no secret values."""
        return {"provider": self.provider, "url": self.url, "scope": self.scope,
                "client_id": self.client_id, "token_endpoint": self.token_endpoint,
                "secret_source": self.secret.describe() if self.secret else None}


@dataclass(frozen=True)
class OAuthSettings:
    enabled: bool
    servers: tuple
    refresh_margin: float
    refresh_jitter: float
    retry_min: float
    retry_max: float
    permanent_retry: float
    http_timeout: float


def _provider_of(path, cfg, environ):
    explicit = cfg["Provider"]
    if explicit:
        if explicit not in PROVIDERS:
            raise ConfigError(path + ".Provider", "unknown provider %r" % explicit,
                              "choose one of %s" % ", ".join(PROVIDERS))
        return explicit
    if cfg["StaticToken"] or cfg["StaticTokenFile"]:
        return "static"
    if cfg["UseManagedIdentity"]:
        return "managed_identity"
    if any(cfg[k] for k in SECRET_KEYS):
        return "client_credentials"
    if cfg["FederatedTokenFile"] or environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload_identity"
    raise ConfigError(path, "no credential configured",
                      "set ClientSecret/ClientSecretEnv/ClientSecretFile, UseManagedIdentity: true, "
                      "StaticToken, or Provider")


def _client_secret(path, cfg, environ):
    given = [k for k in SECRET_KEYS if cfg[k]]
    if len(given) > 1:
        raise ConfigError(path, "%s are mutually exclusive" % " and ".join(given), "keep exactly one")
    if not given:
        raise ConfigError(path + ".ClientSecret", "client_credentials needs a client secret",
                          "set ClientSecret, ClientSecretEnv (a variable name) or ClientSecretFile")
    key = given[0]
    if key == "ClientSecret":
        return SecretSource("inline", cfg[key])
    if key == "ClientSecretEnv":
        return env_secret(path + ".ClientSecretEnv", cfg[key], environ)
    check_file(path + ".ClientSecretFile", cfg[key], "secret file")
    return SecretSource("file", cfg[key])


def _static(path, cfg, _environ):
    if cfg["StaticToken"] and cfg["StaticTokenFile"]:
        raise ConfigError(path, "StaticToken and StaticTokenFile are mutually exclusive")
    if cfg["StaticTokenFile"]:
        check_file(path + ".StaticTokenFile", cfg["StaticTokenFile"], "token file")
        return {"secret": SecretSource("file", cfg["StaticTokenFile"])}
    if not cfg["StaticToken"]:
        raise ConfigError(path + ".StaticToken", "missing for Provider static")
    return {"secret": SecretSource("inline", cfg["StaticToken"])}


def _client_credentials(path, cfg, environ):
    if not cfg["TokenEndpoint"]:
        raise ConfigError(path + ".TokenEndpoint", "missing",
                          "e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token")
    check_url(path + ".TokenEndpoint", cfg["TokenEndpoint"], "TokenEndpoint")
    if not cfg["ClientId"]:
        raise ConfigError(path + ".ClientId", "missing for client_credentials")
    return {"client_id": cfg["ClientId"], "token_endpoint": cfg["TokenEndpoint"],
            "secret": _client_secret(path, cfg, environ)}


def _managed_identity(_path, cfg, environ):
    # A user-assigned identity is chosen by client id; AZURE_CLIENT_ID is Azure's convention.
    client_id = cfg["ClientId"] or environ.get("AZURE_CLIENT_ID") or None
    endpoint, header = environ.get("IDENTITY_ENDPOINT"), environ.get("IDENTITY_HEADER")
    if endpoint and not header:
        raise ConfigError("IDENTITY_ENDPOINT", "set without IDENTITY_HEADER",
                          "Azure Arc's challenge flow (IMDS_ENDPOINT) is not supported")
    if endpoint:
        check_url("IDENTITY_ENDPOINT", endpoint, "IDENTITY_ENDPOINT")
        return {"client_id": client_id, "identity_endpoint": endpoint,
                "identity_header": SecretSource("env", "IDENTITY_HEADER")}
    imds = cfg["ImdsEndpoint"] or environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    imds = (imds.rstrip("/") + "/metadata/identity/oauth2/token") if imds else DEFAULT_IMDS
    return {"client_id": client_id, "imds_endpoint": imds}


def _workload_identity(path, cfg, environ):
    # Azure's AKS webhook injects the AZURE_* variables.
    token_file = cfg["FederatedTokenFile"] or environ.get("AZURE_FEDERATED_TOKEN_FILE")
    client_id = cfg["ClientId"] or environ.get("AZURE_CLIENT_ID")
    if not token_file:
        raise ConfigError(path + ".FederatedTokenFile", "missing",
                          "set it or AZURE_FEDERATED_TOKEN_FILE (the AKS webhook does)")
    check_file(path + ".FederatedTokenFile", token_file, "federated token file")
    if not client_id:
        raise ConfigError(path + ".ClientId", "missing for workload_identity", "or set AZURE_CLIENT_ID")
    endpoint = cfg["TokenEndpoint"]
    if not endpoint:
        tenant = cfg["TenantId"] or environ.get("AZURE_TENANT_ID")
        if not tenant:
            raise ConfigError(path + ".TenantId", "missing for workload_identity",
                              "or set AZURE_TENANT_ID or TokenEndpoint")
        host = cfg["AuthorityHost"] or environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST
        endpoint = "%s/%s/oauth2/v2.0/token" % (host.rstrip("/"), tenant)
    check_url(path + ".TokenEndpoint", endpoint, "token endpoint")
    return {"client_id": client_id, "token_endpoint": endpoint, "federated_token_file": token_file}


CREDENTIALS = {"static": _static, "client_credentials": _client_credentials,
               "managed_identity": _managed_identity, "workload_identity": _workload_identity}


def server_settings(name, cfg, environ, section_ca, path):
    """ServerSettings of one typed server entry (SERVER_FIELDS, or a token_server_field() with its Url set)."""
    if not cfg["Url"]:
        raise ConfigError(path + ".Url", "missing", "the DICOMweb base URL, e.g. "
                          "https://WORKSPACE-SERVICE.dicom.azurehealthcareapis.com/v2/")
    check_url(path + ".Url", cfg["Url"], "Url")
    provider = _provider_of(path, cfg, environ)
    ca_bundle = cfg["CaBundle"] or section_ca
    if ca_bundle:
        check_file(path + ".CaBundle", ca_bundle, "CA bundle")
    options = cfg.get("ServerOptions") or {}
    for key in options:
        if key not in SERVER_OPTION_KEYS:
            raise ConfigError(path + ".ServerOptions." + key, "not allowed",
                              "allowed: %s (credentials and headers are managed by the plugin)"
                              % ", ".join(SERVER_OPTION_KEYS))
    url = cfg["Url"] if cfg["Url"].endswith("/") else cfg["Url"] + "/"
    return ServerSettings(name=name, url=url, provider=provider, scope=cfg["Scope"], ca_bundle=ca_bundle,
                          server_options=dict(options), **CREDENTIALS[provider](path, cfg, environ))


def load_oauth_settings(orthanc_config, environ=None):
    """Validate the whole section. Returns OAuthSettings, None when the feature is not configured,
    or raises ConfigError naming the first wrong or missing key."""
    environ = os.environ if environ is None else environ
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return OAuthSettings(False, (), 0, 0, 0, 0, 0, 0)
    if cfg["RetryMaxSeconds"] < cfg["RetryMinSeconds"]:
        raise ConfigError(SECTION + ".RetryMaxSeconds", "need 0 < RetryMinSeconds <= RetryMaxSeconds")
    if cfg["CaBundle"]:
        check_file(SECTION + ".CaBundle", cfg["CaBundle"], "CA bundle")
    if not cfg["Servers"]:
        raise ConfigError(SECTION + ".Servers", "no server configured")
    servers = tuple(server_settings(name, body, environ, cfg["CaBundle"], "%s.Servers.%s" % (SECTION, name))
                    for name, body in sorted(cfg["Servers"].items()))
    return OAuthSettings(
        enabled=True, servers=servers,
        refresh_margin=cfg["RefreshMarginSeconds"], refresh_jitter=cfg["RefreshJitterSeconds"],
        retry_min=cfg["RetryMinSeconds"], retry_max=cfg["RetryMaxSeconds"],
        permanent_retry=cfg["PermanentErrorRetrySeconds"], http_timeout=cfg["HttpTimeoutSeconds"])
