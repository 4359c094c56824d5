"""The MedimagingRouter section: schema and validation (JSON and ORTHANC__MEDIMAGING_ROUTER__... form).

  "MedimagingRouter": {
    "Destinations": {
      "cloud": {"Type": "dicomweb", "Modalities": ["CT", "MR"], "CallingAets": ["CT01"],
                "TagRule": {"Tag": "InstitutionName", "Equals": "General Hospital"}}
    }
  }
Precedence per key: environment > JSON > default. The whole section is validated at start.
"""

from dataclasses import dataclass, field
from typing import Optional

from ..config.errors import ConfigError
from ..names import valid_name
from ..config.ranges import DAY, HOUR, within_ranges
from ..config.references import dicomweb_servers, peers, require
from .filters import TagRule
from .sections import merge_named, postgres_dsn_params, read_env, typed
from .transcode import parse_setting as parse_transcode

SECTION = "MedimagingRouter"
TYPES = ("dicomweb", "peer")

SECTION_SCHEMA = {
    "Enabled": (bool, True),
    "Destinations": (dict, None),
    "Workers": (int, 1),
    "BatchSize": (int, 20),
    "RetryMinSeconds": (float, 2.0),
    "RetryMaxSeconds": (float, 300.0),
    "LeaseSeconds": (float, 300.0),
    "PollSeconds": (float, 1.0),
    "OrphanAfterSeconds": (float, 0.0),  # 0: 3 x StableAge + 30
    "MaxRejections": (int, 3),
    "Database": (dict, None),
}
RANGES = {
    "Workers": (1, 16), "BatchSize": (1, 1000), "RetryMinSeconds": (0.01, HOUR), "RetryMaxSeconds": (0.01, DAY),
    "LeaseSeconds": (10, DAY), "PollSeconds": (0.01, HOUR), "OrphanAfterSeconds": (0, 7 * DAY), "MaxRejections": (1, 100),
}
DESTINATION_SCHEMA = {
    "Type": (str, "dicomweb"),
    "Server": (str, None),
    "Modalities": (list, None),
    "CallingAets": (list, None),
    "TagRule": (dict, None),
    "BatchSize": (int, None),
    "Enabled": (bool, True),
    "Transcode": (list, None),  # transfer syntaxes re-encoded to Explicit VR LE; unset: transcode.DEFAULT_DICOMWEB
}


@dataclass(frozen=True)
class Destination:
    name: str
    kind: str  # dicomweb | peer
    server: str  # Orthanc's DICOMweb server name or peer name
    batch_size: int
    modalities: tuple = ()
    calling_aets: tuple = ()
    tag_rule: Optional[TagRule] = None
    transcode: tuple = ()

    def public_view(self):
        return {"type": self.kind, "server": self.server, "batch_size": self.batch_size,
                "modalities": list(self.modalities), "calling_aets": list(self.calling_aets),
                "tag_rule": self.tag_rule.describe() if self.tag_rule else None, "transcode": list(self.transcode)}


@dataclass(frozen=True)
class RouterSettings:
    enabled: bool
    destinations: tuple = ()
    workers: int = 1
    batch_size: int = 20
    retry_min: float = 2.0
    retry_max: float = 300.0
    lease: float = 300.0
    poll: float = 1.0
    orphan_after: float = 90.0
    max_rejections: int = 3
    db_params: dict = field(default_factory=dict, repr=False)  # holds the password: never logged


def _destination(name, raw, env_keys, default_batch, servers):
    path = "%s.Destinations.%s" % (SECTION, name)
    if not valid_name(name):
        raise ConfigError(path, "destination name must be 1-64 letters, digits, '_', '.', '-'")
    cfg = typed(raw, DESTINATION_SCHEMA, path, env_keys)
    if cfg["Type"] not in TYPES:
        raise ConfigError(path + ".Type", "unknown type %r" % cfg["Type"], "choose dicomweb or peer")
    server = cfg["Server"] or name
    if not valid_name(server):
        raise ConfigError(path + ".Server", "not a valid Orthanc server/peer name: %r" % server)
    if not cfg["Enabled"]:
        pass  # a disabled destination sends nothing: its server may be gone already
    elif cfg["Type"] == "dicomweb":
        require(path + ".Server", server, servers["dicomweb"], "DICOMweb server",
                "DicomWebOAuth.Servers or DicomWeb.Servers")
    else:
        require(path + ".Server", server, servers["peer"], "Orthanc peer", "OrthancPeers")
    within_ranges(cfg, {"BatchSize": RANGES["BatchSize"]}, path)
    batch = cfg["BatchSize"] if cfg["BatchSize"] is not None else default_batch
    rule = TagRule.parse(cfg["TagRule"], path + ".TagRule") if cfg["TagRule"] else None
    modalities = tuple(m.upper() for m in cfg["Modalities"] or ())
    return cfg["Enabled"], Destination(name=name, kind=cfg["Type"], server=server, batch_size=batch,
                                       modalities=modalities, calling_aets=tuple(cfg["CallingAets"] or ()),
                                       tag_rule=rule,
                                       transcode=parse_transcode(cfg["Transcode"], cfg["Type"], path + ".Transcode"))


def load_router_settings(orthanc_config, environ):
    """Validate the whole section. Returns RouterSettings, None when not configured, or raises
    ConfigError naming the first wrong key."""
    env_values, env_named = read_env(environ, SECTION, SECTION_SCHEMA, "Destinations", DESTINATION_SCHEMA)
    raw = orthanc_config.get(SECTION)
    if raw is None and not env_values and not env_named:
        return None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(SECTION, "expected a JSON object")
    merged_raw = {k: v for k, v in raw.items() if k != "Destinations"}
    merged_raw.update(env_values)
    cfg = typed(merged_raw, SECTION_SCHEMA, SECTION, set(env_values))
    if not cfg["Enabled"]:
        return RouterSettings(enabled=False)
    json_destinations = raw.get("Destinations") or {}
    if not isinstance(json_destinations, dict):
        raise ConfigError(SECTION + ".Destinations", "expected a JSON object of name -> destination")
    # LeaseSeconds >= 10: a lease shorter than one batch would let another replica retake an item being sent.
    within_ranges(cfg, RANGES, SECTION)
    if cfg["RetryMaxSeconds"] < cfg["RetryMinSeconds"]:
        raise ConfigError(SECTION + ".RetryMaxSeconds", "need 0 < RetryMinSeconds <= RetryMaxSeconds")
    servers = {"dicomweb": dicomweb_servers(orthanc_config, environ), "peer": peers(orthanc_config)}
    destinations = []
    for name, (body, keys) in sorted(merge_named(json_destinations, env_named).items()):
        enabled, destination = _destination(name, body, keys, cfg["BatchSize"], servers)
        if enabled:
            destinations.append(destination)
    if not destinations:
        raise ConfigError(SECTION + ".Destinations", "no destination configured",
                          "add e.g. \"Destinations\": {\"cloud\": {\"Type\": \"dicomweb\"}}")
    orphan = cfg["OrphanAfterSeconds"] or 3 * float(orthanc_config.get("StableAge", 60)) + 30
    db_params = postgres_dsn_params(orthanc_config, cfg["Database"], SECTION + ".Database"
                                    if cfg["Database"] is not None else "PostgreSQL")
    return RouterSettings(enabled=True, destinations=tuple(destinations), workers=cfg["Workers"],
                          batch_size=cfg["BatchSize"], retry_min=cfg["RetryMinSeconds"],
                          retry_max=cfg["RetryMaxSeconds"], lease=cfg["LeaseSeconds"], poll=cfg["PollSeconds"],
                          orphan_after=orphan, max_rejections=cfg["MaxRejections"], db_params=db_params)
