"""What Orthanc's own DICOMweb client (POST {Root}servers/NAME/stow) tells the router when the destination refuses
instances, recorded on both lines the lab runs (2026-12-03: Orthanc 1.10.1 + DICOMweb 1.7 on the host, Orthanc 1.12.7
+ the project image's DICOMweb), with the lab's conformant DICOM service answering 202 (one of two instances refused,
43264 implicit VR) and 409 (the only one refused).

Neither line exposes the destination's answer: the synchronous call fails with HTTP 500 "Error encountered within
the plugin engine", the asynchronous job fails with FunctionErrorCode 9 (network protocol: the same code as a
connection error or a 5xx) and an empty ErrorDetails. 1.12 adds only Content.Resources (the Orthanc ids sent) and
Content.Server. So on both lines the FailureReason per instance comes from the router's own STOW-RS (DirectStow),
and without it the refusal stays a retried, undetailed rejection: never a dead-letter on a guess."""
import pytest

from medimaging_plugin.router.errors import Rejected
from medimaging_plugin.router.sender import ERROR_NETWORK, DicomWebSender, StudyInstances
from router_fakes import FakeApi, FakeClock, OrthancError
from test_router_sender import INSTANCES, ITEM, qido_answer

SYNC_FAILURE = {"Details": "Error encountered within the plugin engine", "HttpError": "Internal Server Error",
                "HttpStatus": 500, "Message": "Error encountered within the plugin engine", "Method": "POST",
                "OrthancError": "Error encountered within the plugin engine", "OrthancStatus": 1,
                "Uri": "/dicom-web/servers/cloud/stow"}
_JOB_1_10 = {"State": "Failure", "ErrorCode": 1, "ErrorDescription": "Error encountered within the plugin engine",
             "ErrorDetails": "", "Content": {"FunctionErrorCode": 9, "FunctionErrorDescription":
                                             "Error in the network protocol", "InstancesCount": "1",
                                             "NetworkSizeMB": "0"}}
_JOB_1_12 = dict(_JOB_1_10, Content=dict(_JOB_1_10["Content"], Resources={"Instances": [
    "a9b9b0ea-0a02d068-0b1528a3-e3fc3d04-dc408e28"]}, Server="cloud"))
RECORDED_JOBS = {"1.10": _JOB_1_10, "1.12": _JOB_1_12}
REFUSED_UID = "1.2.3.2"  # INSTANCES' id2


class Cloud:
    """The router's own STOW-RS to the destination: the FailureReason per instance."""

    def __init__(self, codes):
        self.codes = codes

    def send(self, files):
        return {uid: self.codes.get(uid, 0) for uid, _data in files}

    def available(self):
        return True


class PacsApi(FakeApi):
    def get_bytes(self, path):
        return b"FILE-" + path.split("/")[2].encode()


def pacs(line):
    def stow(body):
        if "id2" not in body["Resources"]:
            return {}
        if body["Synchronous"]:
            raise OrthancError(SYNC_FAILURE["Details"])
        return {"ID": "job-" + line}
    return PacsApi(INSTANCES, {"/stow": stow, "/qido": lambda b: qido_answer(["1.2.3.%d" % i for i in (0, 1, 3, 4)])},
                   jobs={"job-" + line: RECORDED_JOBS[line]})


def send(api, direct):
    sender = DicomWebSender(api, "/dicom-web/", "cloud", 2, sleep=lambda s: None, clock=FakeClock(1000.0),
                            direct=direct)
    return sender.send(ITEM, StudyInstances(api, "s1"), lambda: None, False)


@pytest.mark.parametrize("line", sorted(RECORDED_JOBS))
def test_neither_line_details_a_refusal(line):
    content = RECORDED_JOBS[line]["Content"]
    assert content["FunctionErrorCode"] == ERROR_NETWORK and RECORDED_JOBS[line]["ErrorDetails"] == ""
    assert not any(key in content for key in ("00081198", "FailedSOPSequence", "Answer", "HttpStatus"))


@pytest.mark.parametrize("line", sorted(RECORDED_JOBS))
def test_the_reason_per_instance_comes_from_the_routers_own_stow_on_both_lines(line):
    api = pacs(line)
    result = send(api, Cloud({REFUSED_UID: 43264}))
    assert tuple(result)[0] == 4 and [(uid, code) for uid, code, _r in result.refused] == [(REFUSED_UID, 43264)]
    assert "FailureReason 43264" in result.refused[0][2]
    assert all(body["Synchronous"] for body in api.posts("/stow"))  # no job was needed to learn the reason


@pytest.mark.parametrize("line", sorted(RECORDED_JOBS))
def test_without_its_own_stow_the_router_retries_an_undetailed_refusal(line):
    api = pacs(line)
    sender = DicomWebSender(api, "/dicom-web/", "cloud", 2, sleep=lambda s: None, clock=FakeClock(1000.0))
    with pytest.raises(Rejected) as caught:
        sender.send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert caught.value.permanent is False and caught.value.refused == []
    assert "does not detail" in caught.value.reason and caught.value.instances_sent == 4
    assert {"Resources": ["id2"], "Synchronous": False} in api.posts("/stow")  # the recorded job was read
