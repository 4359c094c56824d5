"""MedimagingRouter section: defaults, precedence env > JSON, and every bad key named in the error."""
import pytest

from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.router.config import load_router_settings

PG = {"Host": "127.0.0.1", "Port": 5433, "Database": "orthanc", "Username": "orthanc", "Password": "s3cret-pw"}


# The servers and peers the destinations below name (a destination must name one the configuration defines).
SERVERS = {name: {"Url": "https://dicom.example/%s/" % name} for name in ("cloud", "c", "a", "b")}
PEERS = {name: {"Url": "https://peer.example/"} for name in ("cloudpeer", "archive_peer")}


def _config(router=None, **extra):
    config = {"PostgreSQL": dict(PG), "DicomWeb": {"Servers": dict(SERVERS)}, "OrthancPeers": dict(PEERS)}
    if router is not None:
        config["MedimagingRouter"] = router
    config.update(extra)
    return config


def _error(config, environ=None):
    with pytest.raises(ConfigError) as caught:
        load_router_settings(config, environ or {})
    return caught.value


def test_not_configured_is_none():
    assert load_router_settings({"PostgreSQL": PG}, {}) is None


def test_defaults_and_destination_inheritance():
    settings = load_router_settings(_config({"Destinations": {"cloud": {}}}), {})
    assert settings.enabled
    assert (settings.workers, settings.batch_size, settings.retry_min, settings.retry_max) == (1, 20, 2.0, 300.0)
    assert (settings.lease, settings.poll, settings.max_rejections) == (300.0, 1.0, 3)
    assert settings.orphan_after == 3 * 60 + 30  # StableAge default 60
    (cloud,) = settings.destinations
    assert (cloud.name, cloud.kind, cloud.server, cloud.batch_size) == ("cloud", "dicomweb", "cloud", 20)
    assert cloud.modalities == () and cloud.calling_aets == () and cloud.tag_rule is None


def test_orphan_follows_stable_age_and_explicit_value_wins():
    assert load_router_settings(_config({"Destinations": {"c": {}}}, StableAge=10), {}).orphan_after == 60
    assert load_router_settings(_config({"Destinations": {"c": {}}, "OrphanAfterSeconds": 7}), {}).orphan_after == 7


def test_destination_values():
    settings = load_router_settings(_config({"BatchSize": 5, "Destinations": {
        "b-peer": {"Type": "peer", "Server": "cloudpeer", "BatchSize": 2},
        "a": {"Modalities": ["ct", "mr"], "CallingAets": ["CT01"],
              "TagRule": {"Tag": "0008,0080", "Equals": "General"}},
        "off": {"Enabled": False}}}), {})
    assert [d.name for d in settings.destinations] == ["a", "b-peer"]  # sorted, disabled one dropped
    a, peer = settings.destinations
    assert a.modalities == ("CT", "MR") and a.calling_aets == ("CT01",) and a.batch_size == 5
    assert a.tag_rule.tag == "0008,0080" and a.tag_rule.op == "Equals"
    assert (peer.kind, peer.server, peer.batch_size) == ("peer", "cloudpeer", 2)


def test_database_params_come_from_postgresql_section_and_password_is_not_in_repr():
    settings = load_router_settings(_config({"Destinations": {"cloud": {}}}), {})
    assert settings.db_params["host"] == "127.0.0.1" and settings.db_params["port"] == 5433
    assert settings.db_params["password"] == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings)
    override = load_router_settings(_config({"Destinations": {"cloud": {}},
                                             "Database": {"ConnectionUri": "postgresql://x@127.0.0.1/q"}}), {})
    assert override.db_params == {"conninfo": "postgresql://x@127.0.0.1/q"}


def test_disabled_section_needs_nothing_else():
    settings = load_router_settings({"MedimagingRouter": {"Enabled": False}}, {})
    assert settings.enabled is False and settings.destinations == ()


@pytest.mark.parametrize("router, key", [
    ({"Destinations": {"cloud": {}}, "Workerz": 2}, "MedimagingRouter.Workerz"),
    ({"Destinations": {"cloud": {}}, "Workers": "two"}, "MedimagingRouter.Workers"),
    ({"Destinations": {"cloud": {}}, "Workers": 17}, "MedimagingRouter.Workers"),
    ({"Destinations": {"cloud": {}}, "Workers": 1.5}, "MedimagingRouter.Workers"),
    ({"Destinations": {"cloud": {}}, "BatchSize": 0}, "MedimagingRouter.BatchSize"),
    ({"Destinations": {"cloud": {}}, "RetryMinSeconds": 10, "RetryMaxSeconds": 5}, "MedimagingRouter.RetryMaxSeconds"),
    ({"Destinations": {"cloud": {}}, "LeaseSeconds": 5}, "MedimagingRouter.LeaseSeconds"),
    ({"Destinations": {"cloud": {}}, "PollSeconds": 0}, "MedimagingRouter.PollSeconds"),
    ({"Destinations": {"cloud": {}}, "MaxRejections": 0}, "MedimagingRouter.MaxRejections"),
    ({"Destinations": {"cloud": {}}, "Enabled": "yes"}, "MedimagingRouter.Enabled"),
    ({"Destinations": []}, "MedimagingRouter.Destinations"),
    ({"Destinations": {}}, "MedimagingRouter.Destinations"),
    ({"Destinations": {"cloud": {"Modality": ["CT"]}}}, "MedimagingRouter.Destinations.cloud.Modality"),
    ({"Destinations": {"cloud": {"Type": "s3"}}}, "MedimagingRouter.Destinations.cloud.Type"),
    ({"Destinations": {"cloud": {"Server": "bad name"}}}, "MedimagingRouter.Destinations.cloud.Server"),
    ({"Destinations": {"bad name": {}}}, "MedimagingRouter.Destinations.bad name"),
    ({"Destinations": {"cloud": {"BatchSize": 0}}}, "MedimagingRouter.Destinations.cloud.BatchSize"),
    ({"Destinations": {"cloud": {"Modalities": "CT"}}}, "MedimagingRouter.Destinations.cloud.Modalities"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName", "Equal": "x"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule.Equal"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "Institution Name", "Equals": "x"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule.Tag"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName", "Equals": "x", "In": ["y"]}}}},
     "MedimagingRouter.Destinations.cloud.TagRule"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName", "Regex": "(unclosed"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule.Regex"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName", "In": "x"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule.In"),
    ({"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutionName", "Equals": "x", "Negate": "yes"}}}},
     "MedimagingRouter.Destinations.cloud.TagRule.Negate"),
])
def test_bad_value_names_its_key(router, key):
    error = _error(_config(router))
    assert error.key == key
    assert str(error).startswith(key + ":")


def test_unknown_key_suggests_the_right_one():
    error = _error(_config({"Destinations": {"cloud": {}}, "RetryMaxSecond": 3}))
    assert "did you mean RetryMaxSeconds?" in str(error)


def test_only_disabled_destinations_is_an_error():
    assert _error(_config({"Destinations": {"cloud": {"Enabled": False}}})).key == "MedimagingRouter.Destinations"


def test_section_must_be_an_object():
    assert _error(_config(["cloud"])).key == "MedimagingRouter"


def test_no_postgresql_names_the_missing_section():
    servers = {"DicomWeb": {"Servers": SERVERS}}
    error = _error(dict(servers, MedimagingRouter={"Destinations": {"cloud": {}}}))
    assert error.key == "PostgreSQL"
    error = _error(dict(servers, MedimagingRouter={"Destinations": {"cloud": {}}, "Database": {"Port": 1}}))
    assert error.key == "MedimagingRouter.Database"


def test_environment_overrides_json_and_merges_destinations():
    environ = {"ORTHANC__MEDIMAGING_ROUTER__WORKERS": "3",
               "ORTHANC__MEDIMAGING_ROUTER__RETRY_MAX_SECONDS": "60",
               "ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__MODALITIES": "ct, MR",
               "ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__ARCHIVE_PEER__TYPE": "peer"}
    settings = load_router_settings(_config({"Workers": 1, "Destinations": {"cloud": {"BatchSize": 4}}}), environ)
    assert settings.workers == 3 and settings.retry_max == 60.0
    by_name = {d.name: d for d in settings.destinations}
    assert set(by_name) == {"cloud", "archive_peer"}
    assert by_name["cloud"].modalities == ("CT", "MR") and by_name["cloud"].batch_size == 4
    assert by_name["archive_peer"].kind == "peer"


def test_environment_alone_configures_the_router():
    environ = {"ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__TAG_RULE":
               '{"Tag": "Modality", "In": ["CT", "MR"], "Negate": true}'}
    (cloud,) = load_router_settings({"PostgreSQL": PG, "DicomWeb": {"Servers": SERVERS}}, environ).destinations
    assert cloud.tag_rule.negate and cloud.tag_rule.value == ("CT", "MR")


@pytest.mark.parametrize("var, value, key", [
    ("ORTHANC__MEDIMAGING_ROUTER__WORKRS", "2", "ORTHANC__MEDIMAGING_ROUTER__WORKRS"),
    ("ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__SERVR", "x",
     "ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__SERVR"),
    ("ORTHANC__MEDIMAGING_ROUTER__WORKERS", "many", "MedimagingRouter.Workers"),
    ("ORTHANC__MEDIMAGING_ROUTER__ENABLED", "maybe", "MedimagingRouter.Enabled"),
    ("ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__CLOUD__TAG_RULE", "{not json",
     "MedimagingRouter.Destinations.cloud.TagRule"),
])
def test_bad_environment_names_the_variable_or_key(var, value, key):
    error = _error(_config({"Destinations": {"cloud": {}}}), {var: value})
    assert error.key == key
