"""Names one section refers to and another defines: the DICOMweb servers and peers Orthanc will know.

A router destination or the priors' Server naming a server nobody defines used to keep studies pending
forever as "destination down". Only what the same configuration defines counts: DicomWeb.Servers, the
servers the DicomWebOAuth section registers (JSON and ORTHANC__DICOMWEB_OAUTH__SERVERS__... variables,
named as config/schema.py merges them), and OrthancPeers. A reference finds its name ignoring case (the
container form upper-cases names: schema.py's docstring) and is answered with the defined spelling.
"""

from .errors import ConfigError
from .oauth import FIELDS, SECTION
from .schema import merge_named, read_env


def _keys(value):
    return set(value) if isinstance(value, dict) else set()


def dicomweb_servers(orthanc_config, environ):
    """Names of the DICOMweb servers this configuration defines."""
    names = _keys((orthanc_config.get("DicomWeb") or {}).get("Servers"))
    oauth = orthanc_config.get(SECTION)
    oauth = oauth if isinstance(oauth, dict) else {}
    env = read_env(environ, SECTION, FIELDS)
    if oauth.get("Enabled") is False or str(env.get("Enabled", "true")).lower() in ("false", "0", "no"):
        return names
    json_servers = oauth.get("Servers") if isinstance(oauth.get("Servers"), dict) else {}
    return names | set(merge_named(json_servers, env.get("Servers", {}), FIELDS["Servers"].entries))


def peers(orthanc_config):
    return _keys(orthanc_config.get("OrthancPeers"))


def require(path, name, known, what, where):
    """The defined spelling of `name` among `known` (exact, else the one equal ignoring case), or ConfigError."""
    if name in known:
        return name
    same = [candidate for candidate in known if candidate.lower() == name.lower()]
    if len(same) == 1:
        return same[0]
    listed = ", ".join(sorted(known)) or "none"
    raise ConfigError(path, "%s %r is not defined in this configuration" % (what, name),
                      "define it in %s (defined: %s)" % (where, listed))
