"""The Entra ID modules (issue 17) in-process against a fake Microsoft Graph v1.0 behind a requests adapter: the
calls they make, check mode writing nothing, a no-op costing one read, and a client secret that is written to a
0600 file and never appears in a result."""
import io
import json
import os
import stat
import uuid
from contextlib import redirect_stdout
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from ansible.module_utils.testing import patch_module_args

from fake_arm import FakeCredential
from ansible_collections.medimaging.orthanc.plugins.module_utils import graph_client

GRAPH = "https://graph.fake.test"
SECRET = "generated-secret-never-shown-0123456789"


class FakeGraph(requests.adapters.BaseAdapter):
    """Applications, service principals, addPassword/removePassword, as Graph v1.0 answers them."""

    def __init__(self):
        super().__init__()
        self.apps, self.sps, self.log = {}, {}, []

    def close(self):
        pass

    def writes(self):
        return [(m, p) for m, p, _ in self.log if m != "GET"]

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        path = parts.path[len("/v1.0"):]
        self.log.append((request.method, path, body))
        assert request.headers["Authorization"] == "Bearer fake-token"
        segments = path.strip("/").split("/")
        items = self.apps if segments[0] == "applications" else self.sps
        if len(segments) == 1 and request.method == "GET":
            key, value = parse_qs(parts.query)["$filter"][0].split(" eq ")
            found = [i for i in items.values() if i.get(key) == value.strip("'")]
            return answer(request, 200, {"value": found})
        if len(segments) == 1 and request.method == "POST":
            made = dict(body, id=str(uuid.uuid4()))
            if segments[0] == "applications":
                made.update(appId=str(uuid.uuid4()), passwordCredentials=[])
            items[made["id"]] = made
            return answer(request, 201, made)
        target = items[segments[1]]
        if request.method == "PATCH":
            target.update(body)
            return answer(request, 204, None)
        if request.method == "DELETE":
            del items[segments[1]]
            return answer(request, 204, None)
        if segments[2] == "addPassword":
            credential = dict(body["passwordCredential"], keyId=str(uuid.uuid4()))
            target["passwordCredentials"].append(credential)
            return answer(request, 200, dict(credential, secretText=SECRET))
        target["passwordCredentials"] = [c for c in target["passwordCredentials"] if c["keyId"] != body["keyId"]]
        return answer(request, 204, None)


def answer(request, status, payload):
    response = requests.Response()
    response.status_code, response.request, response.url = status, request, request.url
    response._content = json.dumps(payload).encode() if payload is not None else b""
    response.headers["Content-Type"] = "application/json"
    return response


def run(name, args, graph, check_mode=False):
    import importlib
    module = importlib.import_module("ansible_collections.medimaging.orthanc.plugins.modules." + name)

    def session():
        made = requests.Session()
        made.mount("https://", graph)
        return made
    graph_client.SESSION_FACTORY, graph_client.CREDENTIAL_FACTORY = session, lambda settings: FakeCredential()
    out = io.StringIO()
    try:
        with patch_module_args(dict(args, graph_endpoint=GRAPH, _ansible_check_mode=check_mode, _ansible_diff=True)), \
                redirect_stdout(out):
            try:
                module.main()
            except SystemExit:
                pass
    finally:
        graph_client.SESSION_FACTORY = graph_client.CREDENTIAL_FACTORY = None
    text = out.getvalue()
    return json.loads(text[text.index("{"):])


@pytest.fixture
def graph():
    return FakeGraph()


def test_application_check_mode_create_noop_update_absent(graph):
    args = dict(display_name="orthanc-dicom-client")
    check = run("azure_ad_application", args, graph, check_mode=True)
    assert check["changed"] and graph.writes() == []
    made = run("azure_ad_application", args, graph)
    assert made["changed"] and made["app_id"] and graph.writes() == [("POST", "/applications")]
    assert graph.log[-1][2] == {"displayName": "orthanc-dicom-client", "signInAudience": "AzureADMyOrg"}
    graph.log.clear()
    again = run("azure_ad_application", args, graph)
    assert again["changed"] is False and again["app_id"] == made["app_id"] and len(graph.log) == 1
    wider = run("azure_ad_application", dict(args, sign_in_audience="AzureADMultipleOrgs"), graph)
    assert wider["changed"] and wider["diff"]["after"] == {"signInAudience": "AzureADMultipleOrgs"}
    assert graph.writes()[-1] == ("PATCH", "/applications/%s" % made["object_id"])
    gone = run("azure_ad_application", dict(args, state="absent"), graph)
    assert gone["changed"] and graph.apps == {}


def test_two_applications_with_one_name_are_refused(graph):
    graph.apps = {"a": {"id": "a", "appId": "1", "displayName": "dup"}, "b": {"id": "b", "appId": "2",
                                                                           "displayName": "dup"}}
    result = run("azure_ad_application", dict(display_name="dup"), graph)
    assert result["failed"] and "AmbiguousName" in json.dumps(result) and graph.writes() == []


def test_service_principal_create_noop_absent_and_bad_app_id(graph):
    app = run("azure_ad_application", dict(display_name="orthanc"), graph)
    made = run("azure_ad_service_principal", dict(app_id=app["app_id"]), graph)
    assert made["changed"] and made["object_id"] in graph.sps
    graph.log.clear()
    again = run("azure_ad_service_principal", dict(app_id=app["app_id"]), graph)
    assert again["changed"] is False and again["object_id"] == made["object_id"] and len(graph.log) == 1
    assert run("azure_ad_service_principal", dict(app_id=app["app_id"], state="absent"), graph)["changed"]
    assert graph.sps == {}
    bad = run("azure_ad_service_principal", dict(app_id="orthanc"), graph)
    assert bad["failed"] and "not a client id" in bad["msg"]


def test_password_is_written_0600_never_returned_and_kept_while_the_file_holds_it(graph, tmp_path):
    app = run("azure_ad_application", dict(display_name="orthanc"), graph)
    path = str(tmp_path / "client-secret")
    args = dict(app_id=app["app_id"], display_name="orthanc-plugin", secret_file=path)
    check = run("azure_ad_application_password", args, graph, check_mode=True)
    assert check["changed"] and not os.path.exists(path) and ("POST", "/applications/%s/addPassword" %
                                                              app["object_id"]) not in graph.writes()
    made = run("azure_ad_application_password", args, graph)
    assert made["changed"] and made["key_id"] and SECRET not in json.dumps(made)
    assert open(path).read() == SECRET and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    graph.log.clear()
    again = run("azure_ad_application_password", args, graph)
    assert again["changed"] is False and again["key_id"] == made["key_id"] and graph.writes() == []
    os.remove(path)  # the value is lost: Graph cannot give it again, the module says what to do
    lost = run("azure_ad_application_password", args, graph)
    assert lost["failed"] and "SecretValueLost" in json.dumps(lost) and "state=absent" in lost["msg"]
    gone = run("azure_ad_application_password", dict(args, state="absent"), graph)
    assert gone["changed"] and graph.writes()[-1] == ("POST", "/applications/%s/removePassword" % app["object_id"])
    assert graph.apps[app["object_id"]]["passwordCredentials"] == []


def test_an_expired_password_is_replaced_new_one_first(graph, tmp_path):
    app = run("azure_ad_application", dict(display_name="orthanc"), graph)
    graph.apps[app["object_id"]]["passwordCredentials"] = [
        {"keyId": "old", "displayName": "orthanc-plugin", "endDateTime": "2020-01-01T00:00:00Z"}]
    path = tmp_path / "client-secret"
    path.write_text("old value")
    graph.log.clear()
    result = run("azure_ad_application_password", dict(app_id=app["app_id"], display_name="orthanc-plugin",
                                                        secret_file=str(path)), graph)
    assert result["changed"] and [p.rsplit("/", 1)[-1] for _, p in graph.writes()] == ["addPassword",
                                                                                        "removePassword"]
    assert path.read_text() == SECRET


def test_rotation_adds_a_new_secret_first_and_removes_the_old_ones_only_when_asked(graph, tmp_path):
    app = run("azure_ad_application", dict(display_name="orthanc"), graph)
    path = tmp_path / "client-secret"
    args = dict(app_id=app["app_id"], display_name="orthanc-plugin", secret_file=str(path))
    first = run("azure_ad_application_password", args, graph)
    path.write_text("old value")  # what the first one wrote (the fake returns one text for every secret)
    graph.log.clear()
    rotated = run("azure_ad_application_password", dict(args, rotate=True), graph)
    assert rotated["changed"] and rotated["key_id"] != first["key_id"] and rotated["previous_key_ids"] == [first["key_id"]]
    assert [p.rsplit("/", 1)[-1] for _, p in graph.writes()] == ["addPassword"]   # the old one still works
    assert path.read_text() == SECRET and SECRET not in json.dumps(rotated)
    keys = [c["keyId"] for c in graph.apps[app["object_id"]]["passwordCredentials"]]
    assert keys == [first["key_id"], rotated["key_id"]]
    graph.log.clear()
    cleanup = dict(app_id=app["app_id"], display_name="orthanc-plugin", keep_key_id=rotated["key_id"], state="absent")
    check = run("azure_ad_application_password", cleanup, graph, check_mode=True)
    assert check["changed"] and graph.writes() == []
    removed = run("azure_ad_application_password", cleanup, graph)
    assert removed["changed"] and removed["previous_key_ids"] == [first["key_id"]]
    assert [c["keyId"] for c in graph.apps[app["object_id"]]["passwordCredentials"]] == [rotated["key_id"]]
    assert path.exists()   # the file holds the kept one's value
    assert run("azure_ad_application_password", cleanup, graph)["changed"] is False
    unknown = run("azure_ad_application_password", dict(cleanup, keep_key_id=first["key_id"]), graph)
    assert unknown["failed"] and "KeyIdNotFound" in json.dumps(unknown)
    assert run("azure_ad_application_password", dict(cleanup, keep_key_id="nope"), graph)["msg"].startswith(
        "Invalid keep_key_id")


def test_graph_errors_say_what_to_do(graph, tmp_path):
    def denied(request, **kwargs):
        return answer(request, 403, {"error": {"code": "Authorization_RequestDenied",
                                               "message": "Insufficient privileges to complete the operation."}})
    graph.send = denied
    result = run("azure_ad_application", dict(display_name="orthanc"), graph)
    assert result["failed"] and "Application.ReadWrite.All" in result["msg"] and "403" in result["msg"]


def test_a_service_principal_of_a_just_created_app_is_retried_while_entra_replicates(graph, monkeypatch):
    app = run("azure_ad_application", dict(display_name="orthanc"), graph)
    slept = []
    monkeypatch.setattr(graph_client, "SLEEP", slept.append)
    real_send, refusals = graph.send, []

    def not_yet(request, **kwargs):
        if request.method == "POST" and request.url.endswith("/servicePrincipals") and len(refusals) < 2:
            refusals.append(request.url)
            return answer(request, 400, {"error": {"code": "Request_BadRequest", "message": "The appId '%s' of the "
                                                   "service principal does not reference a valid application object."
                                                   % app["app_id"]}})
        return real_send(request, **kwargs)
    graph.send = not_yet
    made = run("azure_ad_service_principal", dict(app_id=app["app_id"]), graph)
    assert made["changed"] and made["object_id"] in graph.sps and len(slept) == 2
