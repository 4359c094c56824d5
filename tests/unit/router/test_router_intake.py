"""The router's intake (router/intake.py): typed events, study facts for the filters, a study forgotten only when
Orthanc said 404, and recovery run by the intake thread alone."""
import json
import threading

import pytest

from medimaging_plugin.router.config import Destination
from medimaging_plugin.router.errors import is_unknown_resource
from medimaging_plugin.router.events import NewStudy, Retrieved, StableStudy, Sweep
from medimaging_plugin.router.filters import gather_facts
from medimaging_plugin.router.intake import Intake
from medimaging_plugin.router.worker import Worker


class OrthancException(Exception):
    """As orthanc-python raises it: args (error code, description)."""


GONE = OrthancException(17, "Unknown resource")
DATABASE_DOWN = OrthancException(11, "The database encountered a problem")
STUDY = {"MainDicomTags": {"StudyInstanceUID": "1.2.3"}, "LastUpdate": "20200101T000000"}


class Settings:
    poll = 1.0
    orphan_after = 90.0

    def __init__(self, *destinations):
        self.destinations = destinations or (Destination("cloud", "dicomweb", "cloud", 20),)


class FakeQueue:
    def __init__(self, orphans=()):
        self.arrivals, self.enqueued, self.orphans, self.threads = set(), [], list(orphans), []

    def note_arrival(self, study_id):
        self.arrivals.add(study_id)

    def forget_arrival(self, study_id):
        self.arrivals.discard(study_id)

    def enqueue(self, study_id, uid, destination, count):
        self.enqueued.append((study_id, destination, count))
        return "new"

    def orphaned_arrivals(self, _older_than):
        return list(self.orphans)

    def change_cursor(self):
        self.threads.append(threading.current_thread().name)
        return 5

    def set_change_cursor(self, _seq):
        pass

    def note_arrival_if_unknown(self, study_id):
        self.arrivals.add(study_id)


class FakeMetrics:
    def __init__(self):
        self.counted = []

    def enqueue(self, destination, outcome):
        self.counted.append((destination, outcome))


class FakeApi:
    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def get_json(self, path):
        self.asked.append(path)
        answer = self.answers.get(path.split("?")[0], {"Changes": [], "Last": 5, "Done": True})
        if isinstance(answer, Exception):
            raise answer
        return answer


def _intake(answers, queue=None, *destinations):
    return Intake(FakeApi(answers), queue or FakeQueue(), Settings(*destinations), FakeMetrics(), lambda: None)


@pytest.mark.parametrize("exc, gone", [
    (GONE, True), (OrthancException("Unknown resource"), True), (DATABASE_DOWN, False),
    (OrthancException(9, "Error in the network protocol"), False), (OSError("connection reset"), False),
    (OrthancException("Unknown resource type"), False), (Exception(), False)])
def test_only_orthancs_404_means_unknown_resource(exc, gone):
    assert is_unknown_resource(exc) is gone


def test_a_stable_study_is_enqueued_and_its_arrival_forgotten():
    intake = _intake({"/studies/s1": STUDY, "/studies/s1/statistics": {"CountInstances": 3}})
    intake.queue.note_arrival("s1")
    intake.handle(StableStudy("s1"))
    assert intake.queue.enqueued == [("s1", "cloud", 3)] and intake.queue.arrivals == set()


def test_a_study_orthanc_says_is_gone_is_forgotten():
    intake = _intake({"/studies/s1": GONE})
    intake.queue.note_arrival("s1")
    intake.handle(StableStudy("s1"))
    assert intake.queue.arrivals == set() and intake.queue.enqueued == []


def test_any_other_failure_keeps_the_study_for_the_next_sweep():
    answers = {"/studies/s1": DATABASE_DOWN}
    intake = _intake(answers)
    intake.queue.note_arrival("s1")
    intake.handle(StableStudy("s1"))
    assert intake.queue.arrivals == {"s1"} and intake.queue.enqueued == []
    answers.update({"/studies/s1": STUDY, "/studies/s1/statistics": {"CountInstances": 1}})
    intake.sweep(force=True)  # hands the deferred event back to the intake queue
    intake.handle(intake._events.get_nowait())
    assert intake.queue.enqueued == [("s1", "cloud", 1)]


@pytest.mark.parametrize("answer, kept, routed", [(GONE, set(), False), (DATABASE_DOWN, {"old"}, False),
                                                  (STUDY, {"old"}, True)])
def test_an_orphaned_arrival_is_forgotten_only_on_404(answer, kept, routed):
    queue = FakeQueue(orphans=["old"])
    queue.note_arrival("old")
    intake = _intake({"/studies/old": answer}, queue)
    intake.sweep(force=True)
    assert queue.arrivals == kept
    assert (intake._events.qsize() == 1 and intake._events.get_nowait() == StableStudy("old")) is routed


def test_recovery_runs_on_the_intake_thread_only_and_one_request_at_a_time():
    intake = _intake({})
    for _ in range(50):  # worker 0 asks at every idle poll
        intake.request_sweep()
    assert intake._events.qsize() == 1 and intake._events.get_nowait() == Sweep()
    intake._sweep_pending.clear()
    worker = Worker(0, None, {}, Settings(), None, None, None, recover=intake.request_sweep)
    intake.start()  # its first event: a forced sweep
    worker.recover()
    intake.stop()
    assert intake.queue.threads and set(intake.queue.threads) == {"medimaging-router-intake"}


def test_new_and_retrieved_events():
    intake = _intake({"/studies/s9/statistics": {"CountInstances": 2}})
    intake.api.post = lambda path, body: json.dumps(["s9"]).encode()
    recorded = []
    intake.queue.record_present = lambda *args: recorded.append(args) or True
    intake.handle(NewStudy("s8"))
    intake.handle(Retrieved("cloud", "1.2.9"))
    intake.handle(Retrieved("elsewhere", "1.2.9"))
    assert intake.queue.arrivals == {"s8"} and recorded == [("s9", "1.2.9", "cloud", 2)]
    assert intake.metrics.counted == [("cloud", "from_destination")]


def test_facts_are_read_only_for_the_filters_in_use():
    api = FakeApi({"/studies/s1/series": [{"MainDicomTags": {"Modality": "ct"}, "Instances": ["i1"]}]})
    assert gather_facts(api, "s1", [Destination("cloud", "dicomweb", "cloud", 20)]).modalities == frozenset()
    assert api.asked == []
    facts = gather_facts(api, "s1", [Destination("cloud", "dicomweb", "cloud", 20, modalities=("CT",))])
    assert facts.modalities == {"CT"} and api.asked == ["/studies/s1/series"]
