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

from ..config.checks import check_file, check_url
from ..config.errors import ConfigError
from ..config.oauth import server_settings, token_server_field
from ..config.schema import Field, load_section
from ..config.secret_source import SecretSource, env_secret

SECTION = "MedimagingArchive"
STORAGE_SCOPE = "https://storage.azure.com/.default"
DEFAULT_API_VERSION = "2025-11-05"
FIELDS = {
    "Enabled": Field(bool, True),
    "ContainerUrl": Field(str),
    "SasTokenFile": Field(str),
    "SasTokenEnv": Field(str),
    "TokenServer": token_server_field(STORAGE_SCOPE),
    "CaBundle": Field(str),
    "ApiVersion": Field(str, DEFAULT_API_VERSION),
    "HttpTimeoutSeconds": Field(float, 30.0, limits=(0.1, 600)),
    "Concurrency": Field(int, 4, limits=(1, 16)),
}
AUTH_KEYS = ("SasTokenFile", "SasTokenEnv", "TokenServer")
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
    check_url(path, value, "ContainerUrl")
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
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return ArchiveSettings(enabled=False)
    if not cfg["ContainerUrl"]:
        raise ConfigError(SECTION + ".ContainerUrl", "missing", "https://ACCOUNT.blob.core.windows.net/CONTAINER")
    url = _container_url(cfg["ContainerUrl"])
    if not _API_VERSION_RE.fullmatch(cfg["ApiVersion"]):
        raise ConfigError(SECTION + ".ApiVersion", "expected an x-ms-version date such as 2025-11-05")
    ca_bundle = cfg["CaBundle"]
    if ca_bundle:
        check_file(SECTION + ".CaBundle", ca_bundle, "CA bundle")
    given = [k for k in AUTH_KEYS if cfg[k]]
    if len(given) != 1:
        raise ConfigError(SECTION, ("%s are mutually exclusive" % " and ".join(given)) if given
                          else "no credential configured", "set exactly one of %s" % ", ".join(AUTH_KEYS))
    common = dict(enabled=True, container_url=url, ca_bundle=ca_bundle, api_version=cfg["ApiVersion"],
                  timeout=cfg["HttpTimeoutSeconds"], concurrency=cfg["Concurrency"])
    if cfg["SasTokenFile"]:
        check_file(SECTION + ".SasTokenFile", cfg["SasTokenFile"], "SAS token file")
        return ArchiveSettings(auth="sas_file", sas=SecretSource("file", cfg["SasTokenFile"]), **common)
    if cfg["SasTokenEnv"]:
        return ArchiveSettings(auth="sas_env", sas=env_secret(SECTION + ".SasTokenEnv", cfg["SasTokenEnv"], environ),
                               **common)
    body = dict(cfg["TokenServer"], Url=url)  # the resource the token is for; never sent to the token endpoint
    server = server_settings("archive", body, environ, ca_bundle, SECTION + ".TokenServer")
    return ArchiveSettings(auth="token", token_server=server, **common)
