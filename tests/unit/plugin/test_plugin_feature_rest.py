"""OAuthFeature and REST handlers against a fake Orthanc API: refusals, registration body, test endpoint."""
import json

from plugin_fakes import FakeOrthancApi

from medimaging_plugin import rest
from medimaging_plugin.metrics_core import Registry
from medimaging_plugin.oauth_feature import OAuthFeature

DICOM = "http://127.0.0.1:8043/dicom-web/"


def feature_for(api, orthanc_config=None, servers=None):
    config = dict(orthanc_config or {})
    config["DicomWebOAuth"] = {"Servers": servers or {
        "cloud": {"Url": DICOM, "StaticToken": "static-secret-token", "ServerOptions": {"HasDelete": False}}}}
    return OAuthFeature.from_config(api, config, {}, registry=Registry())


def test_invalid_configuration_disables_only_the_feature():
    feature = feature_for(FakeOrthancApi(), servers={"cloud": {"Url": DICOM, "Bogus": 1}})
    assert feature.state == "error" and "DicomWebOAuth.Servers.cloud.Bogus" in feature.error
    feature.start()  # no-op, no exception
    status, _, body = rest.oauth_status(feature, "GET", [], None)
    assert status == 200 and json.loads(body)["state"] == "error"


def test_servers_in_database_is_refused():
    api = FakeOrthancApi()
    feature = feature_for(api, {"DicomWeb": {"ServersInDatabase": True}})
    feature.start()
    assert feature.state == "error" and "ServersInDatabase" in feature.error
    assert api.puts == []


def test_missing_dicomweb_plugin_is_detected():
    feature = feature_for(FakeOrthancApi(plugins=["python"]))
    feature.start()
    assert feature.state == "error" and "DICOMweb plugin" in feature.error


def test_registration_body_under_the_configured_root_and_test_endpoint():
    api = FakeOrthancApi()
    feature = feature_for(api, {"DicomWeb": {"Root": "/v2"}})
    feature.start()
    try:
        status, answer = feature.test("cloud")  # forces an acquisition even if the thread ran first
        assert status == 200 and answer["ok"] and answer["qido"]["studies"] == 0
        uri, body = api.puts[-1]
        assert uri == "/v2/servers/cloud"
        assert body == {"Url": DICOM, "HttpHeaders": {"Authorization": "Bearer static-secret-token"},
                        "HasDelete": False}
        assert api.posts[-1] == ("/v2/servers/cloud/qido", {"Uri": "/studies", "Arguments": {"limit": "1"}})
        api.post_answers.append(ValueError("Error in the network protocol: HTTP 401"))
        status, answer = feature.test("cloud")
        assert status == 502 and not answer["ok"] and "401" in answer["qido"]["error"]
        assert "hint" not in answer["qido"]  # a network-level error says nothing about roles
        api.post_answers.append(Exception(29, "Bad credentials"))  # as orthanc-python raises a 401/403
        status, answer = feature.test("cloud")
        assert status == 502 and answer["token"]["ok"] and "data role" in answer["qido"]["hint"]
        status, _, text = rest.oauth_test(feature, "POST", ["nope"], None)
        assert status == 404 and "cloud" in json.loads(text)["servers"]
        _, _, status_body = rest.oauth_status(feature, "GET", [], None)
        assert "static-secret-token" not in status_body.decode()
        assert rest.oauth_test(feature, "GET", ["cloud"], None)[0] == 405
    finally:
        feature.stop()


def test_metrics_endpoint_renders_prometheus_text():
    status, content_type, body = rest.metrics_endpoint(None, "GET", [], None)
    assert status == 200 and content_type.startswith("text/plain")
