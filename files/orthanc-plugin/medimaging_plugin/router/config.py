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
from ..config.postgres import postgres_dsn_params
from ..config.ranges import DAY, HOUR
from ..config.references import dicomweb_servers, peers, require
from ..config.schema import Field, load_section
from ..names import valid_name
from .filters import TagRule
from .transcode import parse_setting as parse_transcode

SECTION = "MedimagingRouter"
TYPES = ("dicomweb", "peer")

DESTINATION_FIELDS = {
    "Type": Field(str, "dicomweb"),
    "Server": Field(str),
    "Modalities": Field(list),
    "CallingAets": Field(list),
    "TagRule": Field(dict),
    "BatchSize": Field(int, limits=(1, 1000)),
    "Enabled": Field(bool, True),
    "Transcode": Field(list),  # transfer syntaxes re-encoded to Explicit VR LE; unset: transcode.DEFAULT_DICOMWEB
}
# LeaseSeconds >= 10: a lease shorter than one batch would let another replica retake an item being sent.
FIELDS = {
    "Enabled": Field(bool, True),
    "Destinations": Field(dict, entries=DESTINATION_FIELDS, what="destination"),
    "Workers": Field(int, 1, limits=(1, 16)),
    "BatchSize": Field(int, 20, limits=(1, 1000)),
    "RetryMinSeconds": Field(float, 2.0, limits=(0.01, HOUR)),
    "RetryMaxSeconds": Field(float, 300.0, limits=(0.01, DAY)),
    "LeaseSeconds": Field(float, 300.0, limits=(10, DAY)),
    "PollSeconds": Field(float, 1.0, limits=(0.01, HOUR)),
    "OrphanAfterSeconds": Field(float, 0.0, limits=(0, 7 * DAY)),  # 0: 3 x StableAge + 30
    "MaxRejections": Field(int, 3, limits=(1, 100)),
    "Database": Field(dict),
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


def _destination(name, cfg, default_batch, servers):
    """The Destination, or None when it is disabled (checked all the same, but its server may be gone already)."""
    path = "%s.Destinations.%s" % (SECTION, name)
    if cfg["Type"] not in TYPES:
        raise ConfigError(path + ".Type", "unknown type %r" % cfg["Type"], "choose dicomweb or peer")
    server = cfg["Server"] or name
    if not valid_name(server):
        raise ConfigError(path + ".Server", "not a valid Orthanc server/peer name: %r" % server)
    rule = TagRule.parse(cfg["TagRule"], path + ".TagRule") if cfg["TagRule"] else None
    transcode = parse_transcode(cfg["Transcode"], cfg["Type"], path + ".Transcode")
    if not cfg["Enabled"]:
        return None
    if cfg["Type"] == "dicomweb":
        server = require(path + ".Server", server, servers["dicomweb"], "DICOMweb server",
                         "DicomWebOAuth.Servers or DicomWeb.Servers")
    else:
        server = require(path + ".Server", server, servers["peer"], "Orthanc peer", "OrthancPeers")
    return Destination(name=name, kind=cfg["Type"], server=server,
                       batch_size=cfg["BatchSize"] if cfg["BatchSize"] is not None else default_batch,
                       modalities=tuple(m.upper() for m in cfg["Modalities"] or ()),
                       calling_aets=tuple(cfg["CallingAets"] or ()), tag_rule=rule, transcode=transcode)


def load_router_settings(orthanc_config, environ):
    """Validate the whole section. Returns RouterSettings, None when not configured, or raises
    ConfigError naming the first wrong key."""
    cfg = load_section(orthanc_config, environ, SECTION, FIELDS)
    if cfg is None:
        return None
    if not cfg["Enabled"]:
        return RouterSettings(enabled=False)
    if cfg["RetryMaxSeconds"] < cfg["RetryMinSeconds"]:
        raise ConfigError(SECTION + ".RetryMaxSeconds", "need 0 < RetryMinSeconds <= RetryMaxSeconds")
    servers = {"dicomweb": dicomweb_servers(orthanc_config, environ), "peer": peers(orthanc_config)}
    destinations = tuple(filter(None, (_destination(name, body, cfg["BatchSize"], servers)
                                       for name, body in sorted(cfg["Destinations"].items()))))
    if not destinations:
        raise ConfigError(SECTION + ".Destinations", "no destination configured",
                          "add e.g. \"Destinations\": {\"cloud\": {\"Type\": \"dicomweb\"}}")
    orphan = cfg["OrphanAfterSeconds"] or 3 * float(orthanc_config.get("StableAge", 60)) + 30
    db_params = postgres_dsn_params(orthanc_config, cfg["Database"], SECTION + ".Database"
                                    if cfg["Database"] is not None else "PostgreSQL")
    return RouterSettings(enabled=True, destinations=destinations, workers=cfg["Workers"],
                          batch_size=cfg["BatchSize"], retry_min=cfg["RetryMinSeconds"],
                          retry_max=cfg["RetryMaxSeconds"], lease=cfg["LeaseSeconds"], poll=cfg["PollSeconds"],
                          orphan_after=orphan, max_rejections=cfg["MaxRejections"], db_params=db_params)
