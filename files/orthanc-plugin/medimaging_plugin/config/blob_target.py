"""An Azure Blob container a feature reads and writes: the keys and rules MedimagingArchive and MedimagingStorage
share, so one ContainerUrl is accepted or refused the same way whichever section holds it.

  ContainerUrl   https://ACCOUNT.blob.core.windows.net/CONTAINER (no query string: a SAS is a credential)
  ApiVersion     the x-ms-version date sent with every request
  TokenServer    an OAuth server entry (managed/workload identity, client credentials), Scope Azure Storage's
  SasTokenFile   a file holding a SAS query string, re-read at each request so it can rotate
"""

import re
from urllib.parse import urlsplit

from .checks import check_file, check_url
from .errors import ConfigError
from .oauth import server_settings, token_server_field
from .schema import Field

STORAGE_SCOPE = "https://storage.azure.com/.default"
DEFAULT_API_VERSION = "2025-11-05"
FIELDS = {
    "ContainerUrl": Field(str),
    "ApiVersion": Field(str, DEFAULT_API_VERSION),
    "TokenServer": token_server_field(STORAGE_SCOPE),
    "SasTokenFile": Field(str),
}
_API_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTAINER_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")


def container_url(section, value, missing="missing"):
    """The section's ContainerUrl without its trailing '/', or ConfigError naming what is wrong."""
    path = section + ".ContainerUrl"
    if not value:
        raise ConfigError(path, missing, "https://ACCOUNT.blob.core.windows.net/CONTAINER")
    check_url(path, value, "ContainerUrl")
    parts = urlsplit(value)
    if "?" in value or "#" in value:  # even empty: blob names appended after them would not be path segments
        raise ConfigError(path, "must carry no query string or fragment (a SAS is a credential: give it in a "
                                "file, SasTokenFile)")
    segments = parts.path.rstrip("/").split("/")[1:]
    if "" in segments[:-1]:
        raise ConfigError(path, "must not contain empty path segments ('//'), got %r" % value)
    if not segments or not _CONTAINER_RE.fullmatch(segments[-1]):
        raise ConfigError(path, "must end with a container name (3-63 lower-case letters, digits, '-')",
                          "e.g. https://ACCOUNT.blob.core.windows.net/%s" % section[len("Medimaging"):].lower())
    return value.rstrip("/")


def api_version(section, value):
    if not _API_VERSION_RE.fullmatch(value):
        raise ConfigError(section + ".ApiVersion", "expected an x-ms-version date such as " + DEFAULT_API_VERSION)
    return value


def one_credential(section, cfg, keys, missing, what_to_do):
    """The one credential key set among `keys`; ConfigError when none (`missing`) or several are."""
    given = [key for key in keys if cfg[key]]
    if len(given) != 1:
        raise ConfigError(section, ("%s are mutually exclusive" % " and ".join(given)) if given else missing,
                          what_to_do)
    if given[0].endswith("File"):
        check_file(section + "." + given[0], cfg[given[0]], "secret file")
    return given[0]


def token_server(feature, section, cfg, url, environ, ca_bundle):
    """ServerSettings of the section's TokenServer; the token is for `url` (never sent to the token endpoint)."""
    return server_settings(feature, dict(cfg["TokenServer"], Url=url), environ, ca_bundle, section + ".TokenServer")
