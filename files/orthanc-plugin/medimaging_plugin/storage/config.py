"""The MedimagingStorage section (and ORTHANC__MEDIMAGING_STORAGE__... in containers). Off unless present.

Azure Blob, no stored secret (the token providers of DicomWebOAuth; Scope defaults to Azure Storage's):
  "MedimagingStorage": {"Backend": "azure_blob",
                        "ContainerUrl": "https://ACCOUNT.blob.core.windows.net/orthanc",
                        "TokenServer": {"Provider": "workload_identity"}}
S3 with the default AWS credential chain (environment, web identity, instance role through IMDSv2):
  "MedimagingStorage": {"Backend": "s3", "Bucket": "orthanc-images", "Region": "eu-west-1",
                        "KmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/..."}
Fallbacks for Blob, each from a file only (never inline, never logged): SasTokenFile, ConnectionStringFile
(AccountName + AccountKey, or SharedAccessSignature).
"""

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from ..config import blob_target
from ..config.checks import check_file, check_url
from ..config.errors import ConfigError
from ..config.schema import Field, load_section
from ..config.secret_source import SecretSource
from .layout import STRUCTURES, normalise_root

SECTION = "MedimagingStorage"
DEFAULT_API_VERSION = blob_target.DEFAULT_API_VERSION
STORAGE_SCOPE = blob_target.STORAGE_SCOPE  # the token scope of Blob (tests and callers read it here)
BACKENDS = ("azure_blob", "s3")
HYBRID_MODES = ("Disabled", "WriteToObjectStorage")
FIELDS = dict(blob_target.FIELDS, **{
    "Enabled": Field(bool, True),
    "Backend": Field(str),
    "RootPath": Field(str),
    "StorageStructure": Field(str, "flat"),
    "HybridMode": Field(str, "Disabled"),
    "HttpTimeoutSeconds": Field(float, 30.0, limits=(0.5, 600)),
    "MaxRetries": Field(int, 4, limits=(0, 10)),
    "RetryBaseSeconds": Field(float, 0.2, limits=(0.01, 10)),
    # connections to the storage shared by Orthanc's threads (kept alive; a thread waits when all are busy)
    "MaxConnections": Field(int, 16, limits=(1, 256)),
    "CaBundle": Field(str),
    "ConnectionStringFile": Field(str),  # azure_blob, with blob_target.FIELDS
    # s3
    "Bucket": Field(str),
    "Region": Field(str),
    "Endpoint": Field(str),
    "KmsKeyId": Field(str),
    "ImdsEndpoint": Field(str),
    "StsEndpoint": Field(str),
})
BLOB_KEYS = ("ContainerUrl", "TokenServer", "SasTokenFile", "ConnectionStringFile")
S3_KEYS = ("Bucket", "Region", "Endpoint", "KmsKeyId", "ImdsEndpoint", "StsEndpoint")
BLOB_AUTH_KEYS = ("TokenServer", "SasTokenFile", "ConnectionStringFile")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}")


@dataclass(frozen=True)
class StorageSettings:
    enabled: bool
    backend: str = ""
    root: str = ""
    structure: str = "flat"
    disk_root: Optional[str] = None  # hybrid mode: where Orthanc's filesystem storage is
    timeout: float = 30.0
    max_retries: int = 4
    retry_base: float = 0.2
    max_connections: int = 16
    ca_bundle: Optional[str] = None
    container_url: str = ""
    auth: str = ""  # token | sas_file | connection_string | aws_chain
    secret: Optional[SecretSource] = None
    token_server: object = None
    api_version: str = DEFAULT_API_VERSION
    bucket: str = ""
    region: str = ""
    endpoint: Optional[str] = None
    kms_key_id: Optional[str] = None
    imds_endpoint: str = "http://169.254.169.254"
    sts_endpoint: str = ""

    def public_view(self):
        view = {"backend": self.backend, "auth": self.auth, "root_path": self.root,
                "storage_structure": self.structure, "hybrid_disk_root": self.disk_root}
        if self.backend == "azure_blob":
            view["container_url"] = self.container_url
            if self.token_server is not None:
                view["token"] = {"provider": self.token_server.provider, "scope": self.token_server.scope,
                                 "client_id": self.token_server.client_id}
            if self.secret is not None:
                view["secret_source"] = self.secret.describe()
        else:
            view.update(bucket=self.bucket, region=self.region, endpoint=self.endpoint,
                        sse_kms=bool(self.kms_key_id))
        return view


def _one_of(path, value, allowed):
    if value not in allowed:
        raise ConfigError(path, "expected one of %s, got %r" % (", ".join(allowed), value))
    return value


def _check_imds(url):
    """IMDS is plain http by design, on a link-local (169.254.169.254, fd00:ec2::254) or loopback address."""
    host = urlsplit(url).hostname or ""
    try:
        local = ipaddress.ip_address(host).is_link_local or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not url.startswith(("http://", "https://")) or not local:
        raise ConfigError(SECTION + ".ImdsEndpoint", "must be http(s):// on a link-local or loopback address, got %r"
                          % url, "the default http://169.254.169.254 is right on EC2")


def _blob(cfg, environ, common):
    url = blob_target.container_url(SECTION, cfg["ContainerUrl"], "missing for Backend azure_blob")
    version = blob_target.api_version(SECTION, cfg["ApiVersion"])
    key = blob_target.one_credential(SECTION, cfg, BLOB_AUTH_KEYS, "no credential for azure_blob",
                                     "set TokenServer (managed identity, workload identity or client credentials); "
                                     "SasTokenFile or ConnectionStringFile only as a fallback")
    common.update(backend="azure_blob", container_url=url, api_version=version)
    if key == "TokenServer":
        server = blob_target.token_server("storage", SECTION, cfg, url, environ, common["ca_bundle"])
        return StorageSettings(auth="token", token_server=server, **common)
    auth = "sas_file" if key == "SasTokenFile" else "connection_string"
    return StorageSettings(auth=auth, secret=SecretSource("file", cfg[key]), **common)


def _s3(cfg, environ, common):
    for key in ("Bucket", "Region"):
        if not cfg[key]:
            raise ConfigError(SECTION + "." + key, "missing for Backend s3")
    if not _BUCKET_RE.fullmatch(cfg["Bucket"]) or ".." in cfg["Bucket"]:
        raise ConfigError(SECTION + ".Bucket", "not a valid bucket name (3-63 lower-case letters, digits, '.', '-')")
    if not _REGION_RE.fullmatch(cfg["Region"]):
        raise ConfigError(SECTION + ".Region", "not an AWS region name, got %r" % cfg["Region"], "e.g. eu-west-1")
    for key in ("Endpoint", "StsEndpoint"):
        if cfg[key]:
            check_url(SECTION + "." + key, cfg[key], key)
    if cfg["ImdsEndpoint"]:
        _check_imds(cfg["ImdsEndpoint"])
    imds = cfg["ImdsEndpoint"] or environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or "http://169.254.169.254"
    sts = cfg["StsEndpoint"] or "https://sts.%s.amazonaws.com/" % cfg["Region"]
    common.update(backend="s3", bucket=cfg["Bucket"], region=cfg["Region"],
                  endpoint=cfg["Endpoint"].rstrip("/") if cfg["Endpoint"] else None, kms_key_id=cfg["KmsKeyId"],
                  imds_endpoint=imds, sts_endpoint=sts)
    return StorageSettings(auth="aws_chain", **common)


def load_storage_settings(orthanc_config, environ):
    """StorageSettings, None when the section is absent, or ConfigError naming the first bad key."""
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return StorageSettings(enabled=False)
    backend = _one_of(SECTION + ".Backend", cfg["Backend"], BACKENDS)
    foreign = [k for k in (S3_KEYS if backend == "azure_blob" else BLOB_KEYS) if cfg[k]]
    if foreign:
        raise ConfigError(SECTION + "." + foreign[0], "does not apply to Backend %s" % backend)
    structure = _one_of(SECTION + ".StorageStructure", cfg["StorageStructure"], STRUCTURES)
    hybrid = _one_of(SECTION + ".HybridMode", cfg["HybridMode"], HYBRID_MODES)
    if cfg["CaBundle"]:
        check_file(SECTION + ".CaBundle", cfg["CaBundle"], "CA bundle")
    disk_root = None
    if hybrid == "WriteToObjectStorage":
        disk_root = orthanc_config.get("StorageDirectory") or "OrthancStorage"
    common = dict(enabled=True, root=normalise_root(cfg["RootPath"]), structure=structure, disk_root=disk_root,
                  timeout=cfg["HttpTimeoutSeconds"], max_retries=cfg["MaxRetries"],
                  retry_base=cfg["RetryBaseSeconds"], max_connections=cfg["MaxConnections"],
                  ca_bundle=cfg["CaBundle"])
    return _blob(cfg, environ, common) if backend == "azure_blob" else _s3(cfg, environ, common)
