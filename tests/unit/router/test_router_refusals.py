"""What the router does with what a destination refuses: STOW answers read per instance, encodings the
destination refuses re-encoded first, instances refused for good dead-lettered one by one."""
import json

import pytest

from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.http_client import HttpError, Response
from medimaging_plugin.router import stow_answer, transcode
from medimaging_plugin.router.direct_stow import DirectStow, RequestRefused, static_server
from medimaging_plugin.router.errors import DestinationDown, Rejected
from medimaging_plugin.router.sender import DicomWebSender, StudyInstances
from router_fakes import FakeApi, FakeClock, OrthancError
from test_router_sender import INSTANCES, ITEM, qido_answer

IMPLICIT, EXPLICIT = transcode.IMPLICIT_VR_LITTLE_ENDIAN, transcode.EXPLICIT_VR_LITTLE_ENDIAN


def answer(stored=(), failed=()):
    body = {}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [
            {"00081155": {"vr": "UI", "Value": [uid]} if uid else {"vr": "UI"},
             "00081197": {"vr": "US", "Value": [code]}} for uid, code in failed]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": [uid]}} for uid in stored]}
    return body


def test_per_instance_reads_both_sequences_and_names_what_is_missing():
    codes = stow_answer.per_instance(answer(["a"], [("b", 43264), ("c", 45070)]), ["a", "b", "c", "d"])
    assert codes == {"a": 0, "b": 43264, "c": 45070, "d": stow_answer.NOT_MENTIONED}
    # an unreadable part is named by no UID: it is the one instance left
    assert stow_answer.per_instance(answer(["a"], [(None, 272)]), ["a", "b"]) == {"a": 0, "b": 272}


@pytest.mark.parametrize("code,transient", [(272, True), (45071, True), (0xA700, True), (43264, False),
                                            (43265, False), (0xC000, False), (stow_answer.NOT_MENTIONED, True)])
def test_transient_codes(code, transient):
    assert stow_answer.is_transient(code) is transient
    assert stow_answer.reason(code)


def test_transcode_setting_defaults_and_refusals():
    assert transcode.parse_setting(None, "dicomweb", "p") == transcode.DEFAULT_DICOMWEB
    assert transcode.parse_setting(None, "peer", "p") == ()
    assert transcode.parse_setting([], "dicomweb", "p") == ()
    with pytest.raises(ConfigError, match="losslessly"):
        transcode.parse_setting(["1.2.840.10008.1.2.4.50"], "dicomweb", "p")
    with pytest.raises(ConfigError, match="only DICOMweb"):
        transcode.parse_setting([IMPLICIT], "peer", "p")


def test_static_server_gives_url_and_headers_as_orthanc_sends_them():
    config = {"DicomWeb": {"Servers": {"a": {"Url": "https://a/v2/", "HttpHeaders": {"X-K": "v"}},
                                       "b": ["https://b/", "user", "pw"]}}}
    assert static_server(config, "a") == ("https://a/v2/", {"X-K": "v"})
    url, headers = static_server(config, "b")
    assert url == "https://b/" and headers["Authorization"].startswith("Basic ")
    assert static_server(config, "c") is None


class FakeHttp:
    def __init__(self, status=200, body=None, error=None):
        self.status, self.body, self.error = status, body, error
        self.requests = []

    def request(self, method, url, headers=None, data=None, ca_bundle=None):
        self.requests.append((method, url, headers, data))
        if self.error:
            raise self.error
        return Response(self.status, {}, json.dumps(self.body).encode() if self.body is not None else b"")


def direct(http, target=("https://cloud/v2/", {"Authorization": "Bearer t"})):
    return DirectStow(http, "cloud", lambda: target)


def test_direct_stow_sends_multipart_with_the_servers_headers_and_reads_the_answer():
    http = FakeHttp(202, answer(["u1"], [("u2", 43264)]))
    assert direct(http).send([("u1", b"DICM1"), ("u2", b"DICM2")]) == {"u1": 0, "u2": 43264}
    method, url, headers, data = http.requests[0]
    assert (method, url) == ("POST", "https://cloud/v2/studies") and headers["Authorization"] == "Bearer t"
    assert headers["Content-Type"].startswith('multipart/related; type="application/dicom"; boundary=')
    assert data.count(b"Content-Type: application/dicom\r\n\r\nDICM") == 2


@pytest.mark.parametrize("http,raised", [(FakeHttp(503), DestinationDown), (FakeHttp(401), DestinationDown),
                                         (FakeHttp(error=HttpError("refused")), DestinationDown),
                                         (FakeHttp(415, {"error": "x"}), RequestRefused)])
def test_direct_stow_failures(http, raised):
    with pytest.raises(raised):
        direct(http).send([("u1", b"x")])


def test_direct_stow_without_a_token_yet_is_down_and_unknown_server_is_unavailable():
    with pytest.raises(DestinationDown):
        direct(FakeHttp(), ("https://cloud/v2/", None)).send([("u1", b"x")])
    assert not DirectStow(FakeHttp(), "cloud", lambda: None).available()


class PacsApi(FakeApi):
    """FakeApi plus what the transcoding path asks Orthanc: metadata, /modify and /file."""

    def __init__(self, syntaxes, handlers):
        super().__init__(INSTANCES, handlers)
        self.syntaxes = syntaxes

    def get_json(self, path):
        if path.endswith("/metadata?expand"):
            self.calls.append(("GET", path, None))
            return {"TransferSyntax": self.syntaxes.get(path.split("/")[2], EXPLICIT)}
        return super().get_json(path)

    def get_bytes(self, path):
        self.calls.append(("GET", path, None))
        return b"FILE-" + path.split("/")[2].encode()


class Cloud:
    """A destination: answers direct STOW per instance from `codes` (uid -> code, default stored)."""

    def __init__(self, codes=None):
        self.codes = dict(codes or {})
        self.received = []

    def send(self, files):
        self.received.extend(files)
        return {uid: self.codes.get(uid, 0) for uid, _data in files}

    def available(self):
        return True


def sender(api, cloud, syntaxes=transcode.DEFAULT_DICOMWEB):
    return DicomWebSender(api, "/dicom-web/", "cloud", 2, sleep=lambda s: None, clock=FakeClock(1000.0),
                          direct=cloud, transcode_syntaxes=syntaxes)


def modify(body):
    assert body == {"Transcode": EXPLICIT, "Keep": ["SOPInstanceUID"], "Force": True}
    return b"EXPLICIT-COPY"


def test_implicit_vr_instances_are_transcoded_and_sent_directly_the_rest_through_orthanc():
    api = PacsApi({"id1": IMPLICIT, "id3": transcode.EXPLICIT_VR_BIG_ENDIAN}, {"/stow": lambda b: {}, "/modify": modify})
    cloud = Cloud()
    result = sender(api, cloud).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert tuple(result) == (5, 100 + 102 + 104 + 2 * len(b"EXPLICIT-COPY"))
    assert result.transcoded == 2 and result.refused == []
    assert [r for b in api.posts("/stow") for r in b["Resources"]] == ["id0", "id2", "id4"]
    assert cloud.received == [("1.2.3.1", b"EXPLICIT-COPY"), ("1.2.3.3", b"EXPLICIT-COPY")]
    assert not [c for c in api.calls if c[1].startswith("/instances/") and c[0] == "POST" and "modify" not in c[1]]


def test_without_a_transcode_list_nothing_is_inspected():
    api = PacsApi({"id1": IMPLICIT}, {"/stow": lambda b: {}})
    sender(api, Cloud(), syntaxes=()).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert not [c for c in api.calls if "metadata" in c[1]]


def test_refused_instances_are_dead_lettered_one_by_one_and_the_study_completes():
    """A batch fails in Orthanc's client; the destination holds some; the rest are asked again directly."""
    def stow(body):
        if "id2" in body["Resources"] or "id4" in body["Resources"]:
            raise OrthancError("Error in the network protocol")
        return {}
    api = PacsApi({}, {"/stow": stow, "/qido": lambda b: qido_answer(["1.2.3.3"])})
    cloud = Cloud({"1.2.3.2": 43264, "1.2.3.4": 45070})
    result = sender(api, cloud).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert tuple(result)[0] == 4  # id0, id1, id3 (present), id4 (45070: already stored)
    assert [(uid, code) for uid, code, _reason in result.refused] == [("1.2.3.2", 43264)]
    assert "FailureReason 43264" in result.refused[0][2]
    assert [uid for uid, _data in cloud.received] == ["1.2.3.2", "1.2.3.4"]
    assert cloud.received[0][1] == b"FILE-id2"


def test_a_transient_failure_retries_the_study_and_keeps_the_permanent_ones():
    api = PacsApi({"id0": IMPLICIT, "id1": IMPLICIT}, {"/stow": lambda b: {}, "/modify": modify})
    cloud = Cloud({"1.2.3.0": 272, "1.2.3.1": 43265})
    with pytest.raises(Rejected) as caught:
        sender(api, cloud).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert caught.value.permanent is False and caught.value.instances_sent == 3
    assert [(uid, code) for uid, code, _r in caught.value.refused] == [("1.2.3.1", 43265)]


def test_an_instance_orthanc_cannot_transcode_is_refused_with_the_reason():
    def broken(body):
        raise OrthancError("Cannot transcode")
    api = PacsApi({"id0": IMPLICIT}, {"/stow": lambda b: {}, "/modify": broken})
    result = sender(api, Cloud()).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert tuple(result)[0] == 4 and result.refused[0][0] == "1.2.3.0" and result.refused[0][1] is None


def test_transcoded_instances_wait_when_the_destination_is_down():
    class DownCloud(Cloud):
        def send(self, files):
            raise DestinationDown("cloud: 503")
    api = PacsApi({"id0": IMPLICIT}, {"/stow": lambda b: {}, "/modify": modify})
    with pytest.raises(DestinationDown):
        sender(api, DownCloud()).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)


def test_a_request_refused_as_a_whole_is_split_to_find_the_instance_at_fault():
    class PickyCloud(Cloud):
        def send(self, files):
            self.received.append([uid for uid, _data in files])
            if any(uid == "1.2.3.1" for uid, _data in files):
                raise RequestRefused("cloud answered HTTP 400 to STOW-RS: bad part")
            return {uid: 0 for uid, _data in files}
    api = PacsApi({"id0": IMPLICIT, "id1": IMPLICIT}, {"/stow": lambda b: {}, "/modify": modify})
    cloud = PickyCloud()
    result = sender(api, cloud).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert cloud.received == [["1.2.3.0", "1.2.3.1"], ["1.2.3.0"], ["1.2.3.1"]]
    assert tuple(result)[0] == 4 and [r[0] for r in result.refused] == ["1.2.3.1"] and "HTTP 400" in result.refused[0][2]


def test_transcode_key_in_the_router_section_json_and_environment():
    from medimaging_plugin.router.config import load_router_settings
    config = {"PostgreSQL": {"Host": "127.0.0.1"}, "DicomWeb": {"Servers": {"azure": {"Url": "https://a/v2/"}}},
              "OrthancPeers": {"peer": {"Url": "https://p/"}},
              "MedimagingRouter": {"Destinations": {"azure": {}, "peer": {"Type": "peer"}}}}
    by_name = {d.name: d for d in load_router_settings(config, {}).destinations}
    assert by_name["azure"].transcode == transcode.DEFAULT_DICOMWEB and by_name["peer"].transcode == ()
    assert by_name["azure"].public_view()["transcode"] == list(transcode.DEFAULT_DICOMWEB)
    environ = {"ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__AZURE__TRANSCODE": IMPLICIT}
    assert load_router_settings(config, environ).destinations[0].transcode == (IMPLICIT,)
    config["MedimagingRouter"]["Destinations"]["azure"]["Transcode"] = ["1.2.840.10008.1.2.4.50"]
    with pytest.raises(ConfigError, match=r"Destinations\.azure\.Transcode"):
        load_router_settings(config, {})


def test_a_server_replaced_at_runtime_is_not_reached_directly():
    from medimaging_plugin.router.direct_stow import configured_server
    config = {"DicomWeb": {"Servers": {"a": {"Url": "https://a/v2/", "HttpHeaders": {"X-K": "v"}}}}}

    class Api:
        def __init__(self, url):
            self.url = url

        def get_json(self, path):
            assert path == "/dicom-web/servers?expand"
            return {"a": {"Url": self.url, "HttpHeaders": ["X-K"]}}
    assert configured_server(config, Api("https://a/v2"), "/dicom-web/", "a") == ("https://a/v2/", {"X-K": "v"})
    assert configured_server(config, Api("https://elsewhere/"), "/dicom-web/", "a") is None


def test_present_pages_the_qido_answer():
    pages = {"0": ["1.2.3.0", "1.2.3.1"], "2": ["1.2.3.2", "1.2.3.3"], "4": ["1.2.3.4"]}
    api = PacsApi({}, {"/qido": lambda body: qido_answer(pages[body["Arguments"]["offset"]])})
    s = sender(api, Cloud())
    s.QIDO_PAGE = 2
    assert s.present("1.2.3") == {"1.2.3.%d" % i for i in range(5)}
    assert [b["Arguments"]["limit"] for b in api.posts("/qido")] == ["2", "2", "2"]


@pytest.mark.parametrize("direct", [None, "unavailable"])
def test_instances_to_transcode_for_a_server_the_router_cannot_reach_are_refused_for_configuration(direct):
    """Without DirectStow (no URL or credentials the router can use) a re-encoded copy cannot be sent: each such
    instance is dead-lettered with a reason naming the configuration to fix, Orthanc is not asked to re-encode
    it, and the rest of the study still goes through Orthanc's client."""
    class Unavailable(Cloud):
        def available(self):
            return False
    api = PacsApi({"id1": IMPLICIT, "id3": transcode.EXPLICIT_VR_BIG_ENDIAN},
                  {"/stow": lambda b: {}, "/modify": modify})
    result = sender(api, None if direct is None else Unavailable()).send(
        ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert tuple(result)[0] == 3 and result.transcoded == 0
    assert [(uid, code) for uid, code, _reason in result.refused] == [("1.2.3.1", None), ("1.2.3.3", None)]
    assert all("cannot send STOW-RS itself" in reason and "DicomWebOAuth" in reason and "DicomWeb.Servers" in reason
               for _uid, _code, reason in result.refused)
    assert [r for b in api.posts("/stow") for r in b["Resources"]] == ["id0", "id2", "id4"]
    assert not [c for c in api.calls if "/modify" in c[1]]
