"""Bad plugin configuration is refused, naming the key, at every gate (issue 11 part 5):

- the deploy-time check (python3 -m medimaging_plugin.config.check, the plugin's own loaders, on the plugin's Python);
- the plugin at start: the feature is off with the error in GET /medimaging/status, Orthanc keeps serving;
- the orthanc_host role: it fails naming the key before Orthanc's configuration or service changes, and its
  readiness check fails when the plugin turned a feature off.
"""
import os
import sys
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "orthanc_host"))
from plugin_badinput_world import (  # noqa: E402
    CLOSED, assert_no_traceback, assert_still_up, start_plugin_orthanc, wait_for_features)
from plugin_config_cases import ENV, ENV_CASES, JSON_CASES, VALID, changed, run_check  # noqa: E402


def test_the_valid_configuration_passes(tmp_path):
    done = run_check(VALID, ENV, str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MedimagingRouter: configured" in done.stdout


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_deploy_check_refuses_and_names_the_key(tmp_path, case):
    path, value, key = JSON_CASES[case]
    done = run_check(changed(VALID, path, value), ENV, str(tmp_path))
    assert done.returncode == 1 and key in done.stdout, (case, done.stdout, done.stderr)
    assert_no_traceback(done.stdout, done.stderr)


@pytest.mark.parametrize("case", sorted(ENV_CASES))
def test_deploy_check_refuses_the_container_form_and_names_the_key(tmp_path, case):
    variables, key = ENV_CASES[case]
    done = run_check(VALID, dict(ENV, **variables), str(tmp_path))
    assert done.returncode == 1 and key in done.stdout, (case, done.stdout, done.stderr)
    assert_no_traceback(done.stdout, done.stderr)


# ---- the plugin itself, at start in a real Orthanc ----
ROUTER_OK = {"Destinations": {"cloud": {}}}
START_CASES = {
    "negative-batch": ("MedimagingRouter", dict(ROUTER_OK, BatchSize=-5), "MedimagingRouter.BatchSize"),
    "unknown-server": ("MedimagingRouter", {"Destinations": {"cloud": {"Server": "clod"}}},
                       "MedimagingRouter.Destinations.cloud.Server"),
    "misspelled-tag": ("MedimagingRouter", {"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutonName",
                                                                                     "Equals": "GH"}}}},
                       "MedimagingRouter.Destinations.cloud.TagRule.Tag"),
    "catastrophic-regex": ("MedimagingRouter", {"Destinations": {"cloud": {"TagRule": {"Tag": "StationName",
                                                                                         "Regex": "(a+)+$"}}}},
                           "MedimagingRouter.Destinations.cloud.TagRule.Regex"),
    "container-url-dotdot": ("MedimagingArchive", {"ContainerUrl": CLOSED + "/account/archive/../other",
                                                   "SasTokenEnv": "BADINPUT_ARCHIVE_SAS"},
                             "MedimagingArchive.ContainerUrl"),
}


@pytest.mark.parametrize("case", sorted(START_CASES))
def test_plugin_refuses_at_start_and_orthanc_keeps_serving(orthanc_factory, pg_database, case):
    section, value, key = START_CASES[case]
    orthanc = start_plugin_orthanc(orthanc_factory, pg_database, **{section: value})
    wait_for_features(orthanc)
    status = orthanc.get_json("/medimaging/status")
    assert status[section]["state"] == "error" and key in status[section]["error"], status
    others = {name: entry["state"] for name, entry in status.items() if name != section}
    assert "error" not in others.values(), status  # one feature's mistake leaves the others running
    assert key in orthanc.log_text()  # logged clearly
    assert_no_traceback(orthanc.log_text())
    assert_still_up(orthanc)


# ---- the orthanc_host role on this machine ----
ROLE_SERVERS = {"DicomWeb": {"Servers": {"cloud": {"Url": CLOSED + "/dicom-web/"}}}}
ROLE_ROUTER = {"MedimagingRouter": {"Destinations": {"cloud": {}}, "PollSeconds": 0.5}}
ROLE_CASES = {
    "negative-batch": ({"MedimagingRouter": dict(ROLE_ROUTER["MedimagingRouter"], BatchSize=-5)},
                       "MedimagingRouter.BatchSize"),
    "unknown-server": ({"MedimagingRouter": {"Destinations": {"cloud": {"Server": "clod"}}}},
                       "MedimagingRouter.Destinations.cloud.Server"),
    "misspelled-tag": ({"MedimagingRouter": {"Destinations": {"cloud": {"TagRule": {"Tag": "InstitutonName",
                                                                                      "Equals": "GH"}}}}},
                       "MedimagingRouter.Destinations.cloud.TagRule.Tag"),
    "nan-retry": ({"MedimagingRouter": dict(ROLE_ROUTER["MedimagingRouter"], RetryMinSeconds="nan")},
                  "MedimagingRouter.RetryMinSeconds"),
}


def _role_prerequisites():
    from orthanc_host_harness import ORTHANC_BINARY
    if os.geteuid() != 0:
        pytest.skip("the orthanc_host role deploys system-wide: run as root")
    if not os.path.exists(ORTHANC_BINARY):
        pytest.skip("%s missing: run `make setup`" % ORTHANC_BINARY)


@pytest.fixture(scope="module")
def role_material(tmp_path_factory):
    """What the harness's Deployment needs of its TLS material here: a private folder for extra-vars files."""
    _role_prerequisites()
    workdir = str(tmp_path_factory.mktemp("badinput-role"))
    os.chmod(workdir, 0o700)
    return types.SimpleNamespace(workdir=workdir, ca=types.SimpleNamespace(cert_path=True))


def _plugin_vars(sections):
    return {"orthanc_host_plugin_enabled": True, "orthanc_host_plugin_sections": sections,
            "orthanc_host_extra_config": ROLE_SERVERS, "orthanc_host_stable_age": 1}


@pytest.fixture(scope="module")
def routed_deployment(request, role_material, postgres_cluster):
    """A running Orthanc deployed by the role with the plugin's router: the bad runs below must leave it as it is."""
    from orthanc_host_harness import Deployment
    deployment = Deployment("badinput-routed", role_material, postgres_cluster, _plugin_vars(ROLE_ROUTER))
    request.addfinalizer(deployment.teardown)
    deployment.deploy()
    return deployment


# The harness runs the role on this machine or on a systemd host container (deployment.host): read either.
def _read(deployment, path):
    """The file's bytes on the deployment's host, or None."""
    if hasattr(deployment, "host"):
        return deployment.host.read(path)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _orthanc_pid(deployment):
    return deployment.main_pid() if hasattr(deployment, "main_pid") else deployment.pids()[1]


def _refused(done, key):
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "would refuse" in output and key in output, output[-3000:]
    assert_no_traceback(output)


@pytest.mark.parametrize("case", sorted(ROLE_CASES))
def test_role_refuses_before_changing_a_running_orthanc(routed_deployment, case):
    sections, key = ROLE_CASES[case]
    config_file = os.path.join(routed_deployment.config_dir, "orthanc.json")
    config_before, pid_before = _read(routed_deployment, config_file), _orthanc_pid(routed_deployment)
    done = routed_deployment.run("present", **_plugin_vars(sections))
    _refused(done, key)
    assert _read(routed_deployment, config_file) == config_before  # the configuration was not rewritten
    assert pid_before and _orthanc_pid(routed_deployment) == pid_before  # nor was Orthanc restarted
    assert routed_deployment.rest("GET", "/system").status_code == 200
    assert routed_deployment.rest("GET", "/medimaging/status").json()["MedimagingRouter"]["state"] == "running"


def test_role_refuses_a_first_deployment_before_installing_anything(request, role_material, postgres_cluster):
    from orthanc_host_harness import Deployment
    sections, key = ROLE_CASES["unknown-server"]
    deployment = Deployment("badinput-first", role_material, postgres_cluster, _plugin_vars(sections))
    request.addfinalizer(deployment.teardown)
    _refused(deployment.run("present"), key)
    assert _read(deployment, os.path.join(deployment.config_dir, "orthanc.json")) is None  # no configuration written
    assert deployment.ports_closed() and not _orthanc_pid(deployment)  # no Orthanc started


def test_role_readiness_fails_when_the_plugin_turned_a_feature_off(request, role_material, postgres_cluster):
    """A configuration the check cannot judge (the DICOMweb plugin is not loaded) is caught once Orthanc runs."""
    from orthanc_host_harness import Deployment
    sections = {"DicomWebOAuth": {"Servers": {"cloud": {"Url": CLOSED + "/dicom-web/", "StaticToken": "t0ken"}}}}
    deployment = Deployment("badinput-ready", role_material, postgres_cluster,
                            dict(_plugin_vars(sections), orthanc_host_dicomweb_enabled=False, orthanc_host_extra_config={}))
    request.addfinalizer(deployment.teardown)
    done = deployment.run("present")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "turned features off" in output and "DICOMweb plugin" in output, output[-3000:]
    assert deployment.rest("GET", "/system").status_code == 200  # Orthanc itself serves
