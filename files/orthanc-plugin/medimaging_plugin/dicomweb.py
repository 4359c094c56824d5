"""Runtime registration of DICOMweb servers in Orthanc (PUT {Root}servers/NAME).

Re-PUTting the entry replaces its HttpHeaders, so every STOW/QIDO/WADO that Orthanc's own DICOMweb
client sends carries the current token: no proxy hop (the pattern of the official orthanc-gcp
plugin). The Authorization header is the only secret handed to Orthanc.
"""

import json

DEFAULT_ROOT = "/dicom-web/"


class PersistenceRefused(RuntimeError):
    """Registering would write bearer tokens into Orthanc's database."""


def dicomweb_root(orthanc_config):
    root = (orthanc_config.get("DicomWeb") or {}).get("Root") or DEFAULT_ROOT
    return "/" + root.strip("/") + "/"


def refuse_if_persisted(orthanc_config):
    """DicomWeb.ServersInDatabase stores server entries, headers included, in plain text in the
    database (and they show up in saved jobs): refuse rather than persist tokens there."""
    if (orthanc_config.get("DicomWeb") or {}).get("ServersInDatabase") is True:
        raise PersistenceRefused(
            "DicomWeb.ServersInDatabase is true: Orthanc would store bearer tokens in plain text "
            "in its database; OAuth servers are not registered. Set DicomWeb.ServersInDatabase "
            "to false (servers are then kept in memory only) to enable DicomWebOAuth")


def server_entry(server_settings, token):
    entry = {"Url": server_settings.url,
             "HttpHeaders": {"Authorization": "Bearer " + token.value}}
    entry.update(server_settings.server_options)
    return entry


class Registrar:
    """Callable used by TokenManager: makes Orthanc use `token` for the server."""

    def __init__(self, api, root=DEFAULT_ROOT):
        self.api = api
        self.root = root

    def __call__(self, server_settings, token):
        self.api.put(self.root + "servers/" + server_settings.name,
                     json.dumps(server_entry(server_settings, token)))

    def qido_ping(self, name):
        """One QIDO-RS /studies?limit=1 through Orthanc's DICOMweb client. Returns the number of
        studies answered (0 or 1); raises on any HTTP error."""
        body = json.dumps({"Uri": "/studies", "Arguments": {"limit": "1"}})
        answer = json.loads(self.api.post(self.root + "servers/%s/qido" % name, body) or b"[]")
        return len(answer) if isinstance(answer, list) else 0
