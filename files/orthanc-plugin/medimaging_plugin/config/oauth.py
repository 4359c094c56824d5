"""The DicomWebOAuth section: schema, merge of JSON and environment, validation.

Precedence, per key: environment variable > Orthanc JSON > default. An environment variable that
sets any client-secret source (ClientSecret, ClientSecretEnv, ClientSecretFile) replaces every
secret source given in JSON for that server, so a container can override a host's file secret.
Environment server <NAME>s match JSON server names ignoring case and non-alphanumerics
(AZURE_DICOM == "azure-dicom" == "AzureDicom"); a server defined only in the environment is
registered in Orthanc as <name> lower-cased.
"""

import difflib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import unquote, urlsplit

from ..names import valid_name
from .env import read_env_section
from .errors import ConfigError
from .ranges import DAY, HOUR, finite, within_ranges

SECTION = "DicomWebOAuth"
DEFAULT_SCOPE = "https://dicom.healthcareapis.azure.com/.default"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/"

PROVIDERS = ("client_credentials", "managed_identity", "workload_identity", "static")
SECRET_KEYS = ("ClientSecret", "ClientSecretEnv", "ClientSecretFile")
# Extra per-server settings passed through to Orthanc's DICOMweb server entry (never headers or
# credentials: the Authorization header is the only secret we hand to Orthanc).
SERVER_OPTION_KEYS = ("HasDelete", "ChunkedTransfers", "HasWadoRsUniversalTransferSyntax")

# key: (type, default)
SECTION_SCHEMA = {
    "Enabled": (bool, True),
    "Servers": (dict, None),
    "RefreshMarginSeconds": (float, 300.0),
    "RefreshJitterSeconds": (float, 30.0),
    "RetryMinSeconds": (float, 2.0),
    "RetryMaxSeconds": (float, 300.0),
    "PermanentErrorRetrySeconds": (float, 900.0),
    "HttpTimeoutSeconds": (float, 10.0),
    "CaBundle": (str, None),
}
RANGES = {
    "RefreshMarginSeconds": (0, DAY), "RefreshJitterSeconds": (0, HOUR), "RetryMinSeconds": (0.01, HOUR),
    "RetryMaxSeconds": (0.01, DAY), "PermanentErrorRetrySeconds": (1, 7 * DAY), "HttpTimeoutSeconds": (0.1, 600),
}
SERVER_SCHEMA = {
    "Url": (str, None),
    "Provider": (str, None),
    "TokenEndpoint": (str, None),
    "ClientId": (str, None),
    "ClientSecret": (str, None),
    "ClientSecretEnv": (str, None),
    "ClientSecretFile": (str, None),
    "UseManagedIdentity": (bool, False),
    "Scope": (str, DEFAULT_SCOPE),
    "TenantId": (str, None),
    "AuthorityHost": (str, None),
    "FederatedTokenFile": (str, None),
    "ImdsEndpoint": (str, None),
    "StaticToken": (str, None),
    "StaticTokenFile": (str, None),
    "CaBundle": (str, None),
    "ServerOptions": (dict, None),
}


@dataclass(frozen=True)
class SecretSource:
    """Where a secret lives. The value is read at each use (files rotate: Key Vault CSI, Kubernetes)."""

    kind: str  # "inline" | "env" | "file"
    ref: str = field(repr=False)  # the value itself for "inline", hence never in repr

    def describe(self):
        return {"inline": "inline value", "env": "environment variable %s" % self.ref,
                "file": "file %s" % self.ref}[self.kind]

    def read(self, environ=None):
        environ = os.environ if environ is None else environ
        if self.kind == "inline":
            return self.ref
        if self.kind == "env":
            value = environ.get(self.ref, "")
            if not value:
                raise ConfigError(self.ref, "environment variable is empty or unset")
            return value
        with open(self.ref, "r", encoding="utf-8") as handle:
            value = handle.read().strip()
        if not value:
            raise ConfigError(self.ref, "secret file is empty")
        return value


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


def _norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _suggest(key, known):
    close = difflib.get_close_matches(key, list(known), n=1)
    return "did you mean %s?" % close[0] if close else "known keys: %s" % ", ".join(sorted(known))


def _coerce(path, value, kind, from_env):
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(path, "expected true or false, got %r" % (value,))
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(path, "expected a number, got %r" % (value,))
        if isinstance(value, (int, float)):
            result = float(value)
        else:
            try:
                result = float(value) if from_env else None
            except ValueError:
                result = None
            if result is None:
                raise ConfigError(path, "expected a number, got %r" % (value,))
        if finite(path, result) < 0:
            raise ConfigError(path, "must be >= 0, got %r" % (value,))
        return result
    if kind is dict:
        if from_env and isinstance(value, str):
            import json
            try:
                value = json.loads(value)
            except ValueError:
                raise ConfigError(path, "expected a JSON object") from None
        if not isinstance(value, dict):
            raise ConfigError(path, "expected a JSON object, got %s" % type(value).__name__)
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, "expected a non-empty string")
    return value.strip()


def _is_loopback(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(path, url, what):
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(path, "%s must be an absolute https:// URL, got %r" % (what, url))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(path, "%s uses plain http to a non-loopback host: bearer tokens and "
                                "secrets would travel unencrypted" % what, "use https://")
    if parts.username or parts.password:
        raise ConfigError(path, "%s must not embed credentials" % what)
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise ConfigError(path, "%s must not contain spaces, control characters or backslashes" % what)
    if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
        # An HTTP stack resolves them: .../archive/../other would address another container or resource.
        raise ConfigError(path, "%s must not contain '.' or '..' path segments, got %r" % (what, url))


# Files a deployment installs after its configuration check (config/check.py --will-exist): taken as present.
PLANNED_FILES = set()


def _check_file(path, filename, what):
    if filename in PLANNED_FILES:
        return
    if not os.path.isfile(filename):
        raise ConfigError(path, "%s %r does not exist or is not a file" % (what, filename))
    if not os.access(filename, os.R_OK):
        raise ConfigError(path, "%s %r is not readable by Orthanc's user" % (what, filename))


def _typed(raw, schema, prefix, from_env_keys):
    out = {}
    for key, value in raw.items():
        path = "%s.%s" % (prefix, key)
        if key not in schema:
            raise ConfigError(path, "unknown key", _suggest(key, schema))
        kind, _default = schema[key]
        if value is None:
            continue
        out[key] = _coerce(path, value, kind, key in from_env_keys)
    return out


def _merge_servers(json_servers, env_servers):
    """Merge env servers into JSON servers (env wins). Returns {name: (raw dict, env keys)}."""
    merged = {name: (dict(body) if isinstance(body, dict) else body, set())
              for name, body in json_servers.items()}
    by_norm = {_norm(name): name for name in json_servers}
    for env_name, env_values in env_servers.items():
        name = by_norm.get(_norm(env_name), env_name.lower())
        body, env_keys = merged.get(name, ({}, set()))
        if not isinstance(body, dict):
            body = {}
        if any(k in env_values for k in SECRET_KEYS):
            for key in SECRET_KEYS:
                body.pop(key, None)
        body.update(env_values)
        merged[name] = (body, env_keys | set(env_values))
    return merged


def _provider_of(path, cfg, environ):
    explicit = cfg.get("Provider")
    if explicit:
        if explicit not in PROVIDERS:
            raise ConfigError(path + ".Provider", "unknown provider %r" % explicit,
                              "choose one of %s" % ", ".join(PROVIDERS))
        return explicit
    if cfg.get("StaticToken") or cfg.get("StaticTokenFile"):
        return "static"
    if cfg.get("UseManagedIdentity"):
        return "managed_identity"
    if any(cfg.get(k) for k in SECRET_KEYS):
        return "client_credentials"
    if cfg.get("FederatedTokenFile") or environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload_identity"
    raise ConfigError(path, "no credential configured",
                      "set ClientSecret/ClientSecretEnv/ClientSecretFile, UseManagedIdentity: true, "
                      "StaticToken, or Provider")


def _secret_source(path, cfg, environ):
    given = [k for k in SECRET_KEYS if cfg.get(k)]
    if len(given) > 1:
        raise ConfigError(path, "%s are mutually exclusive" % " and ".join(given), "keep exactly one")
    if not given:
        raise ConfigError(path + ".ClientSecret", "client_credentials needs a client secret",
                          "set ClientSecret, ClientSecretEnv (a variable name) or ClientSecretFile")
    key = given[0]
    if key == "ClientSecret":
        return SecretSource("inline", cfg[key])
    if key == "ClientSecretEnv":
        if not environ.get(cfg[key]):
            raise ConfigError(path + ".ClientSecretEnv",
                              "environment variable %s is empty or unset" % cfg[key])
        return SecretSource("env", cfg[key])
    _check_file(path + ".ClientSecretFile", cfg[key], "secret file")
    return SecretSource("file", cfg[key])


def _server(name, cfg, environ, section_ca, path):
    if not valid_name(name):
        raise ConfigError(path, "server name must be 1-64 letters, digits, '_', '.', '-'")
    if "Url" not in cfg:
        raise ConfigError(path + ".Url", "missing", "the DICOMweb base URL, e.g. "
                          "https://WORKSPACE-SERVICE.dicom.azurehealthcareapis.com/v2/")
    _check_url(path + ".Url", cfg["Url"], "Url")
    url = cfg["Url"] if cfg["Url"].endswith("/") else cfg["Url"] + "/"
    provider = _provider_of(path, cfg, environ)
    ca_bundle = cfg.get("CaBundle", section_ca)
    if ca_bundle:
        _check_file(path + ".CaBundle", ca_bundle, "CA bundle")
    options = cfg.get("ServerOptions") or {}
    for key in options:
        if key not in SERVER_OPTION_KEYS:
            raise ConfigError(path + ".ServerOptions." + key, "not allowed",
                              "allowed: %s (credentials and headers are managed by the plugin)"
                              % ", ".join(SERVER_OPTION_KEYS))
    common = dict(name=name, url=url, provider=provider, scope=cfg.get("Scope", DEFAULT_SCOPE),
                  ca_bundle=ca_bundle, server_options=dict(options))
    client_id = cfg.get("ClientId")

    if provider == "static":
        if cfg.get("StaticToken") and cfg.get("StaticTokenFile"):
            raise ConfigError(path, "StaticToken and StaticTokenFile are mutually exclusive")
        if cfg.get("StaticTokenFile"):
            _check_file(path + ".StaticTokenFile", cfg["StaticTokenFile"], "token file")
            return ServerSettings(secret=SecretSource("file", cfg["StaticTokenFile"]), **common)
        if not cfg.get("StaticToken"):
            raise ConfigError(path + ".StaticToken", "missing for Provider static")
        return ServerSettings(secret=SecretSource("inline", cfg["StaticToken"]), **common)

    if provider == "client_credentials":
        if not cfg.get("TokenEndpoint"):
            raise ConfigError(path + ".TokenEndpoint", "missing",
                              "e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token")
        _check_url(path + ".TokenEndpoint", cfg["TokenEndpoint"], "TokenEndpoint")
        if not client_id:
            raise ConfigError(path + ".ClientId", "missing for client_credentials")
        return ServerSettings(client_id=client_id, token_endpoint=cfg["TokenEndpoint"],
                              secret=_secret_source(path, cfg, environ), **common)

    if provider == "managed_identity":
        # A user-assigned identity is chosen by client id; AZURE_CLIENT_ID is Azure's convention.
        client_id = client_id or environ.get("AZURE_CLIENT_ID") or None
        endpoint, header = environ.get("IDENTITY_ENDPOINT"), environ.get("IDENTITY_HEADER")
        if endpoint and not header:
            raise ConfigError("IDENTITY_ENDPOINT", "set without IDENTITY_HEADER",
                              "Azure Arc's challenge flow (IMDS_ENDPOINT) is not supported")
        if endpoint:
            _check_url("IDENTITY_ENDPOINT", endpoint, "IDENTITY_ENDPOINT")
            return ServerSettings(client_id=client_id, identity_endpoint=endpoint,
                                  identity_header=SecretSource("env", "IDENTITY_HEADER"), **common)
        imds = cfg.get("ImdsEndpoint") or environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST")
        imds = (imds.rstrip("/") + "/metadata/identity/oauth2/token") if imds else \
            "http://169.254.169.254/metadata/identity/oauth2/token"
        return ServerSettings(client_id=client_id, imds_endpoint=imds, **common)

    # workload_identity: Azure's AKS webhook injects the AZURE_* variables.
    token_file = cfg.get("FederatedTokenFile") or environ.get("AZURE_FEDERATED_TOKEN_FILE")
    client_id = client_id or environ.get("AZURE_CLIENT_ID")
    if not token_file:
        raise ConfigError(path + ".FederatedTokenFile", "missing",
                          "set it or AZURE_FEDERATED_TOKEN_FILE (the AKS webhook does)")
    _check_file(path + ".FederatedTokenFile", token_file, "federated token file")
    if not client_id:
        raise ConfigError(path + ".ClientId", "missing for workload_identity", "or set AZURE_CLIENT_ID")
    endpoint = cfg.get("TokenEndpoint")
    if not endpoint:
        tenant = cfg.get("TenantId") or environ.get("AZURE_TENANT_ID")
        if not tenant:
            raise ConfigError(path + ".TenantId", "missing for workload_identity",
                              "or set AZURE_TENANT_ID or TokenEndpoint")
        host = cfg.get("AuthorityHost") or environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY_HOST
        endpoint = "%s/%s/oauth2/v2.0/token" % (host.rstrip("/"), tenant)
    _check_url(path + ".TokenEndpoint", endpoint, "token endpoint")
    return ServerSettings(client_id=client_id, token_endpoint=endpoint,
                          federated_token_file=token_file, **common)


def load_oauth_settings(orthanc_config, environ=None):
    """Validate the whole section. Returns OAuthSettings, None when the feature is not configured,
    or raises ConfigError naming the first wrong or missing key."""
    environ = os.environ if environ is None else environ
    raw = orthanc_config.get(SECTION)
    env_section, env_servers, env_problems = read_env_section(environ, SECTION_SCHEMA, SERVER_SCHEMA)
    if env_problems:
        var, problem = env_problems[0]
        raise ConfigError(var, problem)
    if raw is None and not env_section and not env_servers:
        return None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(SECTION, "expected a JSON object")
    json_servers = raw.get("Servers", {})
    if not isinstance(json_servers, dict):
        raise ConfigError(SECTION + ".Servers", "expected a JSON object of name -> server")
    merged_section = {k: v for k, v in raw.items() if k != "Servers"}
    merged_section.update(env_section)
    section = _typed(merged_section, SECTION_SCHEMA, SECTION, set(env_section))

    def get(key):
        return section.get(key, SECTION_SCHEMA[key][1])

    if not get("Enabled"):
        return OAuthSettings(False, (), 0, 0, 0, 0, 0, 0)
    within_ranges(section, RANGES, SECTION)
    if get("RetryMaxSeconds") < get("RetryMinSeconds"):
        raise ConfigError(SECTION + ".RetryMaxSeconds", "need 0 < RetryMinSeconds <= RetryMaxSeconds")
    if get("CaBundle"):
        _check_file(SECTION + ".CaBundle", get("CaBundle"), "CA bundle")
    servers = []
    merged = _merge_servers(json_servers, env_servers)
    if not merged:
        raise ConfigError(SECTION + ".Servers", "no server configured")
    for name in sorted(merged):
        body, env_keys = merged[name]
        path = "%s.Servers.%s" % (SECTION, name)
        if not isinstance(body, dict):
            raise ConfigError(path, "expected a JSON object")
        servers.append(_server(name, _typed(body, SERVER_SCHEMA, path, env_keys), environ,
                               get("CaBundle"), path))
    return OAuthSettings(
        enabled=True, servers=tuple(servers),
        refresh_margin=get("RefreshMarginSeconds"), refresh_jitter=get("RefreshJitterSeconds"),
        retry_min=get("RetryMinSeconds"), retry_max=get("RetryMaxSeconds"),
        permanent_retry=get("PermanentErrorRetrySeconds"), http_timeout=get("HttpTimeoutSeconds"))
