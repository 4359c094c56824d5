"""The MedimagingPriors section (and ORTHANC__MEDIMAGING_PRIORS__... in containers).

  "MedimagingPriors": {"Server": "cloud", "Count": 3, "Modalities": ["CT"], "BodyParts": ["CHEST"],
                       "WindowSeconds": 86400}
"""

from dataclasses import dataclass, field

from ..config.errors import ConfigError
from ..config.ranges import DAY, within_ranges
from ..config.references import dicomweb_servers, require
from ..names import valid_name
from ..router.sections import postgres_dsn_params, read_env, typed

SECTION = "MedimagingPriors"
SCHEMA = {
    "Enabled": (bool, True),
    "Server": (str, None),
    "Count": (int, 3),
    "Modalities": (list, None),
    "BodyParts": (list, None),
    "WindowSeconds": (float, 86400.0),
    "Workers": (int, 1),
    "Database": (dict, None),
}
RANGES = {"Count": (1, 50), "Workers": (1, 4), "WindowSeconds": (0, 30 * DAY)}


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
    env_values = read_env(environ, SECTION, SCHEMA)[0]
    raw = orthanc_config.get(SECTION)
    if raw is None and not env_values:
        return None
    raw = dict(raw or {}) if isinstance(raw, dict) or raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(SECTION, "expected a JSON object")
    raw.update(env_values)
    cfg = typed(raw, SCHEMA, SECTION, set(env_values))
    if not cfg["Enabled"]:
        return PriorsSettings(enabled=False)
    if not cfg["Server"]:
        raise ConfigError(SECTION + ".Server", "missing", "the DICOMweb server name to query, e.g. \"cloud\"")
    if not valid_name(cfg["Server"]):
        raise ConfigError(SECTION + ".Server", "not a valid DICOMweb server name: %r" % cfg["Server"])
    within_ranges(cfg, RANGES, SECTION)
    db_params = {}
    if cfg["Database"] is not None:
        db_params = postgres_dsn_params(orthanc_config, cfg["Database"], SECTION + ".Database")
    elif isinstance(orthanc_config.get("PostgreSQL"), dict) and orthanc_config["PostgreSQL"].get("Host"):
        db_params = postgres_dsn_params(orthanc_config)
    require(SECTION + ".Server", cfg["Server"], dicomweb_servers(orthanc_config, environ), "DICOMweb server",
            "DicomWebOAuth.Servers or DicomWeb.Servers")
    return PriorsSettings(enabled=True, server=cfg["Server"], count=cfg["Count"],
                          modalities=tuple(m.upper() for m in cfg["Modalities"] or ()),
                          body_parts=tuple(b.upper() for b in cfg["BodyParts"] or ()),
                          window=cfg["WindowSeconds"], workers=cfg["Workers"], db_params=db_params)
