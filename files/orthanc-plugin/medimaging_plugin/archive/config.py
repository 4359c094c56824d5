"""The MedimagingArchive section (and ORTHANC__MEDIMAGING_ARCHIVE__... in containers).

  "MedimagingArchive": {"ContainerUrl": "https://ACCOUNT.blob.core.windows.net/archive",
                        "SasTokenFile": "/mnt/secrets-store/archive-sas",
                        "CaBundle": "/etc/orthanc/tls/ca.pem", "ApiVersion": "2025-11-05"}

Exactly one credential: SasTokenFile (a file holding a SAS query string, re-read at each request so it can
rotate), SasTokenEnv (the name of an environment variable holding it), or TokenServer (an OAuth server entry
with the keys of a DicomWebOAuth server, minus Url/ServerOptions; its Scope defaults to Azure Storage's).
"""

from dataclasses import dataclass
from typing import Optional

from ..config import blob_target
from ..config.blob_target import DEFAULT_API_VERSION
from ..config.checks import check_file
from ..config.schema import Field, load_section
from ..config.secret_source import SecretSource, env_secret

SECTION = "MedimagingArchive"
FIELDS = dict(blob_target.FIELDS, **{
    "Enabled": Field(bool, True),
    "SasTokenEnv": Field(str),
    "CaBundle": Field(str),
    "HttpTimeoutSeconds": Field(float, 30.0, limits=(0.1, 600)),
    "Concurrency": Field(int, 4, limits=(1, 16)),
})
AUTH_KEYS = ("SasTokenFile", "SasTokenEnv", "TokenServer")


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


def load_archive_settings(orthanc_config, environ):
    """ArchiveSettings, None when the section is absent, or ConfigError naming the first bad key."""
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return ArchiveSettings(enabled=False)
    url = blob_target.container_url(SECTION, cfg["ContainerUrl"])
    version = blob_target.api_version(SECTION, cfg["ApiVersion"])
    ca_bundle = cfg["CaBundle"]
    if ca_bundle:
        check_file(SECTION + ".CaBundle", ca_bundle, "CA bundle")
    auth = blob_target.one_credential(SECTION, cfg, AUTH_KEYS, "no credential configured",
                                      "set exactly one of %s" % ", ".join(AUTH_KEYS))
    common = dict(enabled=True, container_url=url, ca_bundle=ca_bundle, api_version=version,
                  timeout=cfg["HttpTimeoutSeconds"], concurrency=cfg["Concurrency"])
    if auth == "SasTokenFile":
        return ArchiveSettings(auth="sas_file", sas=SecretSource("file", cfg["SasTokenFile"]), **common)
    if auth == "SasTokenEnv":
        return ArchiveSettings(auth="sas_env", sas=env_secret(SECTION + ".SasTokenEnv", cfg["SasTokenEnv"], environ),
                               **common)
    server = blob_target.token_server("archive", SECTION, cfg, url, environ, ca_bundle)
    return ArchiveSettings(auth="token", token_server=server, **common)
