"""The MedimagingPriors section (and ORTHANC__MEDIMAGING_PRIORS__... in containers).

  "MedimagingPriors": {"Server": "cloud", "Count": 3, "Modalities": ["CT"], "BodyParts": ["CHEST"],
                       "WindowSeconds": 86400}
"""

from dataclasses import dataclass, field

from ..config.errors import ConfigError
from ..config.postgres import postgres_dsn_params
from ..config.ranges import DAY
from ..config.references import dicomweb_servers, require
from ..config.schema import Field, load_section
from ..names import valid_name

SECTION = "MedimagingPriors"
FIELDS = {
    "Enabled": Field(bool, True),
    "Server": Field(str),
    "Count": Field(int, 3, limits=(1, 50)),
    "Modalities": Field(list),
    "BodyParts": Field(list),
    "WindowSeconds": Field(float, 86400.0, limits=(0, 30 * DAY)),
    "Workers": Field(int, 1, limits=(1, 4)),
    "Database": Field(dict),
}


@dataclass(frozen=True)
class PriorsSettings:
    enabled: bool
    server: str = ""
    count: int = 3
    modalities: tuple = ()
    body_parts: tuple = ()
    window: float = 86400.0
    workers: int = 1
    db_params: dict = field(default_factory=dict, repr=False)  # empty: the window is kept in memory

    def public_view(self):
        return {"server": self.server, "count": self.count, "modalities": list(self.modalities),
                "body_parts": list(self.body_parts), "window_seconds": self.window,
                "window_store": "postgresql" if self.db_params else "memory"}


def load_priors_settings(orthanc_config, environ):
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return PriorsSettings(enabled=False)
    if not cfg["Server"]:
        raise ConfigError(SECTION + ".Server", "missing", "the DICOMweb server name to query, e.g. \"cloud\"")
    if not valid_name(cfg["Server"]):
        raise ConfigError(SECTION + ".Server", "not a valid DICOMweb server name: %r" % cfg["Server"])
    db_params = {}
    if cfg["Database"] is not None:
        db_params = postgres_dsn_params(orthanc_config, cfg["Database"], SECTION + ".Database")
    elif isinstance(orthanc_config.get("PostgreSQL"), dict) and orthanc_config["PostgreSQL"].get("Host"):
        db_params = postgres_dsn_params(orthanc_config)
    server = require(SECTION + ".Server", cfg["Server"], dicomweb_servers(orthanc_config, environ),
                     "DICOMweb server", "DicomWebOAuth.Servers or DicomWeb.Servers")
    return PriorsSettings(enabled=True, server=server, count=cfg["Count"],
                          modalities=tuple(m.upper() for m in cfg["Modalities"] or ()),
                          body_parts=tuple(b.upper() for b in cfg["BodyParts"] or ()),
                          window=cfg["WindowSeconds"], workers=cfg["Workers"], db_params=db_params)
