"""Names one section refers to and another defines: the DICOMweb servers and peers Orthanc will know.

A router destination or the priors' Server naming a server nobody defines used to keep studies pending
forever as "destination down". Only what the same configuration defines counts: DicomWeb.Servers, the
servers the DicomWebOAuth section registers (JSON and ORTHANC__DICOMWEB_OAUTH__SERVERS__... variables,
the latter registered in lower case unless they match a JSON name), and OrthancPeers.
"""

import re

from .env import read_env_section
from .errors import ConfigError
from .oauth import SECTION, SECTION_SCHEMA, SERVER_SCHEMA


def _norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _keys(value):
    return set(value) if isinstance(value, dict) else set()


def dicomweb_servers(orthanc_config, environ):
    """Names of the DICOMweb servers this configuration defines."""
    names = _keys((orthanc_config.get("DicomWeb") or {}).get("Servers"))
    oauth = orthanc_config.get(SECTION)
    oauth = oauth if isinstance(oauth, dict) else {}
    env_section, env_servers = read_env_section(environ, SECTION_SCHEMA, SERVER_SCHEMA)[:2]
    if oauth.get("Enabled") is False or str(env_section.get("Enabled", "true")).lower() in ("false", "0", "no"):
        return names
    json_names = _keys(oauth.get("Servers"))
    by_norm = {_norm(name): name for name in json_names}
    return names | json_names | {by_norm.get(_norm(name), name.lower()) for name in env_servers}


def peers(orthanc_config):
    return _keys(orthanc_config.get("OrthancPeers"))


def require(path, name, known, what, where):
    """Raise ConfigError at `path` unless `name` is in `known`."""
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise ConfigError(path, "%s %r is not defined in this configuration" % (what, name),
                          "define it in %s (defined: %s)" % (where, listed))
