"""The MedimagingArchive section (and ORTHANC__MEDIMAGING_ARCHIVE__... in containers).

  "MedimagingArchive": {"ContainerUrl": "https://ACCOUNT.blob.core.windows.net/archive",
                        "SasTokenFile": "/mnt/secrets-store/archive-sas",
                        "CaBundle": "/etc/orthanc/tls/ca.pem", "ApiVersion": "2025-11-05"}

Exactly one credential: SasTokenFile (a file holding a SAS query string, re-read at each request so it can
rotate), SasTokenEnv (the name of an environment variable holding it), or TokenServer (an OAuth server entry
with the keys of a DicomWebOAuth server, minus Url/ServerOptions; its Scope defaults to Azure Storage's).
"""

import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from ..config.errors import ConfigError
from ..config.ranges import within_ranges
from ..config.oauth import SecretSource, SERVER_SCHEMA, _check_file, _check_url, _server, _typed
from ..router.sections import read_env, typed

SECTION = "MedimagingArchive"
STORAGE_SCOPE = "https://storage.azure.com/.default"
DEFAULT_API_VERSION = "2025-11-05"
SCHEMA = {
    "Enabled": (bool, True),
    "ContainerUrl": (str, None),
    "SasTokenFile": (str, None),
    "SasTokenEnv": (str, None),
    "TokenServer": (dict, None),
    "CaBundle": (str, None),
    "ApiVersion": (str, DEFAULT_API_VERSION),
    "HttpTimeoutSeconds": (float, 30.0),
    "Concurrency": (int, 4),
}
AUTH_KEYS = ("SasTokenFile", "SasTokenEnv", "TokenServer")
TOKEN_SERVER_KEYS = {k: v for k, v in SERVER_SCHEMA.items() if k not in ("Url", "ServerOptions")}
_API_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTAINER_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")


@dataclass(frozen=True)
class ArchiveSettings:
    enabled: bool
    container_url: str = ""
    auth: str = ""  # "sas_file" | "sas_env" | "token"
    sas: Optional[SecretSource] = None
    token_server: object = None  # config.oauth.ServerSettings (repr hides secrets)
    ca_bundle: Optional[str] = None
    api_version: str = DEFAULT_API_VERSION
    timeout: float = 30.0
    concurrency: int = 4

    def public_view(self):
        view = {"container_url": self.container_url, "auth": self.auth, "api_version": self.api_version,
                "ca_bundle": self.ca_bundle, "concurrency": self.concurrency}
        if self.sas is not None:
            view["sas_source"] = self.sas.describe()
        if self.token_server is not None:
            view["token"] = {"provider": self.token_server.provider, "scope": self.token_server.scope,
                             "client_id": self.token_server.client_id,
                             "token_endpoint": self.token_server.token_endpoint}
        return view


def _container_url(value):
    path = SECTION + ".ContainerUrl"
    _check_url(path, value, "ContainerUrl")
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ConfigError(path, "must not carry a query string (a SAS belongs in SasTokenFile or SasTokenEnv)")
    segments = parts.path.rstrip("/").split("/")[1:]
    if "" in segments[:-1]:
        raise ConfigError(path, "must not contain empty path segments ('//'), got %r" % value)
    if not segments or not _CONTAINER_RE.fullmatch(segments[-1]):
        raise ConfigError(path, "must end with a container name (3-63 lower-case letters, digits, '-')",
                          "e.g. https://ACCOUNT.blob.core.windows.net/archive")
    return value.rstrip("/")


def load_archive_settings(orthanc_config, environ):
    """ArchiveSettings, None when the section is absent, or ConfigError naming the first bad key."""
    env_values = read_env(environ, SECTION, SCHEMA)[0]
    raw = orthanc_config.get(SECTION)
    if raw is None and not env_values:
        return None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(SECTION, "expected a JSON object")
    raw = dict(raw or {})
    raw.update(env_values)
    cfg = typed(raw, SCHEMA, SECTION, set(env_values))
    if not cfg["Enabled"]:
        return ArchiveSettings(enabled=False)
    if not cfg["ContainerUrl"]:
        raise ConfigError(SECTION + ".ContainerUrl", "missing", "https://ACCOUNT.blob.core.windows.net/CONTAINER")
    url = _container_url(cfg["ContainerUrl"])
    if not _API_VERSION_RE.fullmatch(cfg["ApiVersion"]):
        raise ConfigError(SECTION + ".ApiVersion", "expected an x-ms-version date such as 2025-11-05")
    within_ranges(cfg, {"HttpTimeoutSeconds": (0.1, 600), "Concurrency": (1, 16)}, SECTION)
    ca_bundle = cfg["CaBundle"]
    if ca_bundle:
        _check_file(SECTION + ".CaBundle", ca_bundle, "CA bundle")
    given = [k for k in AUTH_KEYS if cfg[k]]
    if len(given) != 1:
        raise ConfigError(SECTION, ("%s are mutually exclusive" % " and ".join(given)) if given
                          else "no credential configured", "set exactly one of %s" % ", ".join(AUTH_KEYS))
    common = dict(enabled=True, container_url=url, ca_bundle=ca_bundle, api_version=cfg["ApiVersion"],
                  timeout=cfg["HttpTimeoutSeconds"], concurrency=cfg["Concurrency"])
    if cfg["SasTokenFile"]:
        _check_file(SECTION + ".SasTokenFile", cfg["SasTokenFile"], "SAS token file")
        return ArchiveSettings(auth="sas_file", sas=SecretSource("file", cfg["SasTokenFile"]), **common)
    if cfg["SasTokenEnv"]:
        if not environ.get(cfg["SasTokenEnv"]):
            raise ConfigError(SECTION + ".SasTokenEnv", "environment variable %s is empty or unset" % cfg["SasTokenEnv"])
        return ArchiveSettings(auth="sas_env", sas=SecretSource("env", cfg["SasTokenEnv"]), **common)
    path = SECTION + ".TokenServer"
    body = _typed(cfg["TokenServer"], TOKEN_SERVER_KEYS, path, set())
    body.setdefault("Scope", STORAGE_SCOPE)
    body["Url"] = url  # the resource the token is for; never sent to the token endpoint
    server = _server("archive", body, environ, ca_bundle, path)
    return ArchiveSettings(auth="token", token_server=server, **common)
