"""The plugin's configuration schema hardening (issue 11 part 5): finite numbers in ranges, names that must exist,
known DICOM tags, regexes with bounded matching time, URLs without dot segments, and the deploy-time check CLI."""
import json
import math

import pytest

from medimaging_plugin.archive.config import load_archive_settings
from medimaging_plugin.config import check
from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.config.oauth import load_oauth_settings
from medimaging_plugin.config.ranges import within_ranges
from medimaging_plugin.config.references import dicomweb_servers
from medimaging_plugin.priors.config import load_priors_settings
from medimaging_plugin.router.config import load_router_settings
from medimaging_plugin.router.dicom_tags import tag_of
from medimaging_plugin.router.regex_safety import UnsafeRegex, compile_safe

PG = {"Host": "127.0.0.1", "Database": "orthanc", "Username": "orthanc"}
SERVERS = {"DicomWeb": {"Servers": {"cloud": {"Url": "https://pacs.example/"}}}, "PostgreSQL": PG}


def router(**section):
    section.setdefault("Destinations", {"cloud": {}})
    return dict(SERVERS, MedimagingRouter=section)


def refused(load, config, environ=None):
    with pytest.raises(ConfigError) as caught:
        load(config, environ or {})
    return caught.value


@pytest.mark.parametrize("key, value", [
    ("BatchSize", -5), ("BatchSize", 10 ** 9), ("BatchSize", 0), ("Workers", 17), ("RetryMinSeconds", math.nan),
    ("RetryMaxSeconds", math.inf), ("LeaseSeconds", -math.inf), ("LeaseSeconds", 9), ("PollSeconds", 0),
    ("MaxRejections", 10 ** 6), ("OrphanAfterSeconds", 1e12)])
def test_router_numbers_must_be_finite_and_in_range(key, value):
    assert refused(load_router_settings, router(**{key: value})).key == "MedimagingRouter." + key


@pytest.mark.parametrize("variable, value, key", [
    ("ORTHANC__MEDIMAGING_ROUTER__RETRY_MIN_SECONDS", "nan", "MedimagingRouter.RetryMinSeconds"),
    ("ORTHANC__MEDIMAGING_ROUTER__BATCH_SIZE", "1000000000", "MedimagingRouter.BatchSize")])
def test_router_numbers_from_the_environment(variable, value, key):
    assert refused(load_router_settings, router(), {variable: value}).key == key


@pytest.mark.parametrize("key, value", [("RefreshMarginSeconds", math.nan), ("HttpTimeoutSeconds", 1e9),
                                        ("RetryMinSeconds", 0), ("PermanentErrorRetrySeconds", math.inf)])
def test_oauth_numbers(key, value):
    config = {"DicomWebOAuth": {key: value, "Servers": {"c": {"Url": "https://x.example/", "StaticToken": "t"}}}}
    assert refused(load_oauth_settings, config).key == "DicomWebOAuth." + key


def test_priors_and_archive_numbers():
    assert refused(load_priors_settings, dict(SERVERS, MedimagingPriors={"Server": "cloud", "WindowSeconds": math.nan})
                   ).key == "MedimagingPriors.WindowSeconds"
    archive = {"ContainerUrl": "https://a.blob.core.windows.net/archive", "SasTokenEnv": "SAS", "Concurrency": 10 ** 9}
    assert refused(load_archive_settings, {"MedimagingArchive": archive}, {"SAS": "x"}).key == "MedimagingArchive.Concurrency"


def test_within_ranges_names_the_key_and_ignores_unset_values():
    within_ranges({"A": None, "B": 2}, {"A": (1, 2), "B": (1, 2)}, "S")
    with pytest.raises(ConfigError) as caught:
        within_ranges({"B": 3}, {"B": (1, 2)}, "S")
    assert caught.value.key == "S.B" and "between 1 and 2" in str(caught.value)


@pytest.mark.parametrize("destination, key", [
    ({"nowhere": {}}, "MedimagingRouter.Destinations.nowhere.Server"),
    ({"cloud": {"Server": "clod"}}, "MedimagingRouter.Destinations.cloud.Server"),
    ({"p": {"Type": "peer", "Server": "nopeer"}}, "MedimagingRouter.Destinations.p.Server")])
def test_destinations_must_name_defined_servers_and_peers(destination, key):
    error = refused(load_router_settings, router(Destinations=destination))
    assert error.key == key and "not defined" in str(error) and "defined: " in str(error)  # lists what exists


def test_servers_may_come_from_the_oauth_section_and_its_environment_form():
    config = {"DicomWebOAuth": {"Servers": {"Azure-DICOM": {}}}, "DicomWeb": {"Servers": {"plain": {}}}}
    environ = {"ORTHANC__DICOMWEB_OAUTH__SERVERS__AZURE_DICOM__URL": "https://x/",
               "ORTHANC__DICOMWEB_OAUTH__SERVERS__ONLY_ENV__URL": "https://y/"}
    assert dicomweb_servers(config, environ) == {"Azure-DICOM", "plain", "only_env"}
    assert dicomweb_servers(dict(config, DicomWebOAuth={"Enabled": False, "Servers": {"x": {}}}), {}) == {"plain"}
    settings = load_router_settings(dict(config, PostgreSQL=PG, MedimagingRouter={"Destinations": {
        "a": {"Server": "Azure-DICOM"}, "b": {"Server": "only_env"}, "off": {"Server": "gone", "Enabled": False}}}),
        environ)
    assert [d.server for d in settings.destinations] == ["Azure-DICOM", "only_env"]


def test_priors_server_must_be_defined():
    assert refused(load_priors_settings, dict(SERVERS, MedimagingPriors={"Server": "nowhere"})).key == "MedimagingPriors.Server"


@pytest.mark.parametrize("name, tag", [("InstitutionName", "0008,0080"), ("0008,0080", "0008,0080"),
                                       ("0009,10af", "0009,10AF"), ("StationName", "0008,1010")])
def test_known_keywords_and_hex_tags(name, tag):
    assert tag_of(name) == tag


@pytest.mark.parametrize("name, hint", [("InstitutonName", "did you mean InstitutionName?"), ("0008,008", "gggg,eeee"),
                                        ("ReferencedStudySequence", "gggg,eeee"), (["x"], "gggg,eeee"),
                                        ("0008,0080\n", "gggg,eeee")])
def test_unknown_tags_are_refused_with_a_hint(name, hint):
    with pytest.raises(ValueError) as caught:
        tag_of(name)
    assert hint in str(caught.value)


def test_a_rule_matches_on_the_tag_whatever_orthanc_calls_it():
    settings = load_router_settings(router(Destinations={"cloud": {"TagRule": {"Tag": "StationName", "Equals": "CT1"}}}),
                                    {})
    rule = settings.destinations[0].tag_rule
    assert rule.matches({"0008,1010": "CT1"}) and rule.matches({"StationName": "CT1"}) and not rule.matches({})


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*b", r"(\w+\s?)*$", "(a{1,3}){1,3}", "(x|xy)*z", "(a|a)+",
                                     r"(a)\1", ".*.*.*.*", "a" * 300, r"((ab)*c)+"])
def test_catastrophic_regexes_are_refused(pattern):
    with pytest.raises(UnsafeRegex):
        compile_safe(pattern)


@pytest.mark.parametrize("pattern", ["General.*", "(CT|MR)", "(cat|dog)+", r"ACC[0-9]+", "^[A-Z]{2}\\d+$", "(?:ab){2,5}",
                                     "(?=a)a+", ".*Hospital.*"])
def test_ordinary_regexes_are_accepted(pattern):
    assert compile_safe(pattern).pattern == pattern


@pytest.mark.parametrize("url", ["https://a.blob.core.windows.net/archive/../other", "https://a.example/x/%2e%2e/archive",
                                 "https://a.example//archive", "https://a.example/arch ive", "https://a.example/./archive"])
def test_container_url_without_dot_or_empty_segments(url):
    error = refused(load_archive_settings, {"MedimagingArchive": {"ContainerUrl": url, "SasTokenEnv": "S"}}, {"S": "x"})
    assert error.key == "MedimagingArchive.ContainerUrl"


def test_check_cli_reports_each_refused_section(tmp_path, capsys):
    config = router(BatchSize=-5)
    config["MedimagingArchive"] = {"ContainerUrl": "https://a.example/x/../archive", "SasTokenEnv": "SAS"}
    config["DicomWebOAuth"] = {"CaBundle": "/etc/never/there.pem",
                               "Servers": {"c": {"Url": "https://x.example/", "StaticToken": "t"}}}
    path = tmp_path / "orthanc.json"
    path.write_text(json.dumps(config))
    env = tmp_path / "orthanc.env"
    env.write_text("# comment\nSAS='sv=1&sig=a b'\n")
    assert check.main([str(path), "--env-file", str(env)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["DicomWebOAuth.CaBundle", "MedimagingRouter.BatchSize",
                                                       "MedimagingArchive.ContainerUrl"]
    # A file the deployment installs after the check is taken as present.
    del config["MedimagingRouter"]["BatchSize"], config["MedimagingArchive"]
    path.write_text(json.dumps(config))
    assert check.main([str(path), "--will-exist", "/etc/never/there.pem"]) == 0
    assert "MedimagingRouter: configured" in capsys.readouterr().out


def test_check_cli_reads_shell_quoted_values_and_refuses_unreadable_input(tmp_path, capsys):
    env = tmp_path / "orthanc.env"
    env.write_text("A='x y'\nB=plain\n\n")
    assert check.read_env_file(str(env)) == {"A": "x y", "B": "plain"}
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    assert check.main([str(deep)]) == 2 and "cannot read" in capsys.readouterr().out
