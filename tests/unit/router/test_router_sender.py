"""How the sender classifies outcomes: success, "already exists" (success), retry (DestinationDown or a
non-permanent Rejected) and dead-letter (permanent Rejected), with a scripted Orthanc API."""
import pytest

from medimaging_plugin.router.errors import DestinationDown, Rejected, StudyGone
from medimaging_plugin.router.queue import Item
from medimaging_plugin.router.sender import (ERROR_BAD_REQUEST, ERROR_NETWORK, ERROR_UNAUTHORIZED,
                                             ERROR_UNKNOWN_RESOURCE, DicomWebSender, PeerSender, StudyInstances)
from router_fakes import FakeApi, FakeClock, OrthancError

INSTANCES = [("id%d" % i, "1.2.3.%d" % i, 100 + i) for i in range(5)]
ITEM = Item(id=1, study_id="s1", study_uid="1.2.3", destination="cloud", state="inflight", generation=1,
            instances=5, attempts=0, rejections=0, lease_token="t", last_error=None)


def qido_answer(uids, orthanc_form=True):
    """What /servers/NAME/qido returns: Orthanc's client rewrites Value as a string; standard JSON is a list."""
    if orthanc_form:
        return [{"00080018": {"Name": "SOPInstanceUID", "Type": "String", "Value": uid}} for uid in uids]
    return [{"00080018": {"vr": "UI", "Value": [uid]}} for uid in uids]


def fail(_body):
    raise OrthancError("Error in the network protocol")


def make(handlers, jobs=None, batch=2, clock=None):
    api = FakeApi(INSTANCES, handlers, jobs)
    sender = DicomWebSender(api, "/dicom-web/", "cloud", batch, sleep=lambda s: None, clock=clock or FakeClock(1000.0))
    return api, sender


def send(sender, api, already_tried=False):
    progress = []
    result = sender.send(ITEM, StudyInstances(api, "s1"), lambda: progress.append(1), already_tried)
    return result, len(progress)


def test_success_sends_every_instance_in_batches():
    api, sender = make({"/stow": lambda body: {}})
    (sent, sent_bytes), progress = send(sender, api)
    assert (sent, sent_bytes) == (5, sum(i[2] for i in INSTANCES))
    assert [b["Resources"] for b in api.posts("/stow")] == [["id0", "id1"], ["id2", "id3"], ["id4"]]
    assert all(b["Synchronous"] is True for b in api.posts("/stow"))
    assert progress == 3  # the lease is renewed between batches
    assert api.calls[1][1] == "/dicom-web/servers/cloud/stow"


@pytest.mark.parametrize("orthanc_form", [True, False])
def test_retry_sends_only_what_the_destination_lacks(orthanc_form):
    api, sender = make({"/stow": lambda body: {}, "/qido": lambda body: qido_answer(["1.2.3.0", "1.2.3.3"],
                                                                                      orthanc_form)})
    (sent, _bytes), _ = send(sender, api, already_tried=True)
    assert sent == 3
    assert [r for b in api.posts("/stow") for r in b["Resources"]] == ["id1", "id2", "id4"]
    assert api.posts("/qido")[0]["Uri"] == "/studies/1.2.3/instances"


def test_retry_of_a_study_the_destination_already_has_sends_nothing_and_succeeds():
    api, sender = make({"/stow": fail, "/qido": lambda body: qido_answer([i[1] for i in INSTANCES])})
    assert send(sender, api, already_tried=True)[0] == (0, 0)
    assert api.posts("/stow") == []


def test_failed_batch_whose_instances_already_exist_counts_as_success():
    """Orthanc reports a STOW failure for instances the destination already holds (409-like): success."""
    api, sender = make({"/stow": fail, "/qido": lambda body: qido_answer([i[1] for i in INSTANCES])})
    (sent, sent_bytes), _ = send(sender, api)
    assert (sent, sent_bytes) == (5, sum(i[2] for i in INSTANCES))
    assert len(api.posts("/stow")) == 3  # one try per batch, no one-by-one resend


def test_down_destination_when_stow_and_qido_both_fail():
    api, sender = make({"/stow": fail, "/qido": fail})
    with pytest.raises(DestinationDown):
        send(sender, api)


def test_study_unknown_at_destination_is_not_down():
    """QIDO /studies/UID/instances fails (404) while a study-less QIDO answers: nothing is present."""
    def qido(body):
        if body["Uri"] == "/studies":
            return []
        raise OrthancError("Unknown resource")
    api, sender = make({"/stow": lambda body: {}, "/qido": qido})
    assert sender.present("9.9") == set()
    assert send(sender, api, already_tried=True)[0][0] == 5


def scripted_stow(refuse_ids, job_code):
    """Synchronous STOW fails for any batch holding a refused id; the async job reports job_code."""
    def stow(body):
        if not body["Synchronous"]:
            return {"ID": "job-1"}
        if set(body["Resources"]) & set(refuse_ids):
            raise OrthancError("HTTP error")
        return {}
    state = "Success" if job_code == 0 else "Failure"
    return stow, {"job-1": {"State": state, "Content": {"FunctionErrorCode": job_code}}}


def test_bad_request_is_a_permanent_rejection_after_the_others_are_sent():
    stow, jobs = scripted_stow({"id1"}, ERROR_BAD_REQUEST)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs)
    with pytest.raises(Rejected) as caught:
        send(sender, api)
    assert caught.value.permanent is True
    assert caught.value.instances_sent == 4 and "HTTP 400" in caught.value.reason and "1.2.3.1" in caught.value.reason


def test_undetailed_refusal_from_a_healthy_destination_is_a_retryable_rejection():
    stow, jobs = scripted_stow({"id3"}, ERROR_NETWORK)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs)
    with pytest.raises(Rejected) as caught:
        send(sender, api)  # batch id0,id1 succeeded just before: the destination accepts writes
    assert caught.value.permanent is False and caught.value.instances_sent == 4


def test_undetailed_refusal_without_a_recent_success_means_down():
    stow, jobs = scripted_stow({i[0] for i in INSTANCES}, ERROR_NETWORK)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs)
    with pytest.raises(DestinationDown):
        send(sender, api)


def test_accepted_recently_expires():
    clock = FakeClock(1000.0)
    stow, jobs = scripted_stow({"id3"}, ERROR_NETWORK)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs, clock=clock)
    sender.last_accepted = clock()
    clock.advance(DicomWebSender.ACCEPTED_RECENTLY_SECONDS + 1)
    assert not sender._accepts_writes()
    sender.last_accepted = clock()
    assert sender._accepts_writes()


@pytest.mark.parametrize("code", [ERROR_UNAUTHORIZED, ERROR_UNKNOWN_RESOURCE])
def test_unauthorized_or_not_found_is_down_never_dead_letter(code):
    stow, jobs = scripted_stow({"id1"}, code)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs)
    with pytest.raises(DestinationDown):
        send(sender, api)


def test_an_instance_accepted_by_the_job_counts_as_sent():
    stow, jobs = scripted_stow({"id1"}, 0)
    api, sender = make({"/stow": stow, "/qido": lambda body: []}, jobs)
    assert send(sender, api)[0] == (5, sum(i[2] for i in INSTANCES))


def test_study_deleted_locally():
    with pytest.raises(StudyGone):
        StudyInstances(FakeApi(INSTANCES), "gone")


def test_peer_sender_success_and_any_failure_is_down():
    api = FakeApi(INSTANCES, {"/store": lambda body: {}})
    sent = PeerSender(api, "cloudpeer", 3).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)
    assert sent == (5, sum(i[2] for i in INSTANCES))
    assert [b["Resources"] for b in api.posts("/store")] == [["id0", "id1", "id2"], ["id3", "id4"]]
    api = FakeApi(INSTANCES, {"/store": fail})
    with pytest.raises(DestinationDown):
        PeerSender(api, "cloudpeer", 3).send(ITEM, StudyInstances(api, "s1"), lambda: None, False)


def test_one_bad_request_among_other_refusals_makes_the_rejection_permanent():
    codes = iter([ERROR_NETWORK, ERROR_BAD_REQUEST])
    jobs = {}

    def stow(body):
        if not body["Synchronous"]:
            job = "job-%d" % len(jobs)
            jobs[job] = {"State": "Failure", "Content": {"FunctionErrorCode": next(codes)}}
            return {"ID": job}
        if set(body["Resources"]) & {"id2", "id3"}:
            raise OrthancError("HTTP error")
        return {}
    api, sender = make({"/stow": stow, "/qido": lambda body: []})
    api.jobs = jobs  # filled as the jobs are created
    with pytest.raises(Rejected) as caught:
        send(sender, api)
    assert caught.value.permanent is True and caught.value.instances_sent == 3
    assert "2 instance(s)" in caught.value.reason
