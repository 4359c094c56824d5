"""Checks of values every feature's configuration shares: URLs that carry tokens, files Orthanc must read."""

import ipaddress
import os
from urllib.parse import unquote, urlsplit

from .errors import ConfigError

# Files a deployment installs after its configuration check (config/check.py --will-exist): taken as present.
PLANNED_FILES = set()


def is_loopback(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(path, url, what):
    """An absolute https:// URL (http:// only to a loopback host), without credentials, spaces or dot segments."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(path, "%s must be an absolute https:// URL, got %r" % (what, url))
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(path, "%s uses plain http to a non-loopback host: bearer tokens and "
                                "secrets would travel unencrypted" % what, "use https://")
    if parts.username or parts.password:
        raise ConfigError(path, "%s must not embed credentials" % what)
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise ConfigError(path, "%s must not contain spaces, control characters or backslashes" % what)
    if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
        # An HTTP stack resolves them: .../archive/../other would address another container or resource.
        raise ConfigError(path, "%s must not contain '.' or '..' path segments, got %r" % (what, url))


def check_file(path, filename, what):
    """A file Orthanc's user can read (or one the deployment will install: PLANNED_FILES)."""
    if filename in PLANNED_FILES:
        return
    if not os.path.isfile(filename):
        raise ConfigError(path, "%s %r does not exist or is not a file" % (what, filename))
    if not os.access(filename, os.R_OK):
        raise ConfigError(path, "%s %r is not readable by Orthanc's user" % (what, filename))
