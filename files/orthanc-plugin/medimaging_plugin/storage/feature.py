"""The MedimagingStorage feature: settings -> object store -> the StorageArea Orthanc calls.

orthanc-python only accepts a storage area while the plugin loads (RegisterStorageArea at import), so the
store is built at once, without network traffic: credentials are fetched on the first request.
An invalid section FAILS CLOSED: a refusing area is registered, so Orthanc refuses every instance with a clear
log line instead of silently writing patient images to local disk that operators believe are in the bucket.
"""

from ..config import ConfigError
from ..http_client import HttpClient
from ..log import get_logger, redact
from ..tokens.http import TokenHttpClient
from ..tokens.providers import build_provider
from .aws_credentials import CredentialChain
from .area import StorageArea
from .blob import BearerCredential, BlobStore, SasCredential, SharedKeyCredential, parse_connection_string
from .config import SECTION, load_storage_settings
from .errors import StorageError
from .metrics import StorageMetrics
from .migrate import Migration
from .retry import RetryPolicy
from .s3 import S3Store

LOG = get_logger("storage")


class _ConnectionStringSas(SasCredential):
    """The SharedAccessSignature member of a connection string file."""

    def apply(self, headers):
        try:
            values = parse_connection_string(self.source.read(self.environ))
        except (OSError, ValueError) as exc:
            raise StorageError("cannot read the connection string (%s): %s"
                               % (self.source.describe(), type(exc).__name__)) from None
        sas = values.get("SharedAccessSignature", "").lstrip("?")
        return sas, [sas]


def _blob_credential(settings, environ):
    if settings.auth == "token":
        provider = build_provider(settings.token_server, TokenHttpClient(settings.timeout), environ)
        return BearerCredential(provider)
    if settings.auth == "sas_file":
        return SasCredential(settings.secret, environ)
    try:
        values = parse_connection_string(settings.secret.read(environ))
    except (OSError, ValueError) as exc:
        raise ConfigError(SECTION + ".ConnectionStringFile", "unreadable connection string: %s"
                          % type(exc).__name__) from None
    if values.get("AccountKey") and values.get("AccountName"):
        return SharedKeyCredential(settings.secret, environ)
    if values.get("SharedAccessSignature"):
        return _ConnectionStringSas(settings.secret, environ)
    raise ConfigError(SECTION + ".ConnectionStringFile", "holds neither AccountName+AccountKey nor "
                      "SharedAccessSignature")


def build_store(settings, environ):
    common = dict(timeout=settings.timeout, ca_bundle=settings.ca_bundle, max_connections=settings.max_connections,
                  retry=RetryPolicy(max_retries=settings.max_retries, base=settings.retry_base))
    if settings.backend == "azure_blob":
        return BlobStore(settings.container_url, _blob_credential(settings, environ), settings.api_version, **common)
    chain = CredentialChain(HttpClient(settings.timeout, ca_bundle=settings.ca_bundle or None), environ,
                            settings.sts_endpoint, settings.imds_endpoint)
    return S3Store(settings.bucket, settings.region, chain, settings.endpoint, settings.kms_key_id, **common)


class RefusingArea:
    """Registered when the section is invalid: every call fails with the configuration error."""

    def __init__(self, error):
        self.error = error

    def _refuse(self, *args):
        raise StorageError("%s is invalid, Orthanc's storage is refused: %s" % (SECTION, self.error))

    create = read = remove = _refuse


class StorageFeature:
    def __init__(self, settings=None, error=None, area=None, metrics=None, api=None):
        self.settings, self.error, self.area, self.metrics = settings, error, area, metrics
        self.migration = Migration(api, area) if api is not None and isinstance(area, StorageArea) else None

    @classmethod
    def from_config(cls, orthanc_config, environ, registry=None, api=None):
        try:
            settings = load_storage_settings(orthanc_config, environ)
            if settings is None or not settings.enabled:
                return cls(settings)
            store = build_store(settings, environ)
        except ConfigError as exc:
            LOG.error("%s: invalid configuration, every attachment is REFUSED until it is fixed: %s", SECTION,
                      redact(exc))
            return cls(error=redact(exc), area=RefusingArea(redact(exc)))
        except Exception as exc:  # a bug must not let Orthanc fall back to local disk either
            problem = "%s: %s" % (type(exc).__name__, redact(exc))
            LOG.error("%s: cannot start, every attachment is REFUSED: %s", SECTION, problem)
            return cls(error=problem, area=RefusingArea(problem))
        metrics = StorageMetrics(registry) if registry is not None else StorageMetrics()
        area = StorageArea(store, metrics, settings.structure, settings.root, settings.disk_root)
        LOG.info("%s: attachments in %s (%s, %s layout%s%s)", SECTION,
                 settings.container_url or "s3://%s" % settings.bucket, settings.auth, settings.structure,
                 ", root %s" % settings.root if settings.root else "",
                 ", hybrid: old files read from %s" % settings.disk_root if settings.disk_root else "")
        return cls(settings, area=area, metrics=metrics, api=api)

    @property
    def state(self):
        if self.error:
            return "error"
        if self.settings is None:
            return "not-configured"
        return "running" if self.settings.enabled else "disabled"

    def status(self):
        return {"feature": SECTION, "state": self.state, "error": self.error,
                "config": self.settings.public_view() if self.settings and self.settings.enabled else None}
