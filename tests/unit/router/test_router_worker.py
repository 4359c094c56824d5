"""The worker turns a sender's outcome into a queue transition: done, retry later, or dead-letter."""

from medimaging_plugin.router.config import RouterSettings
from medimaging_plugin.router.errors import DestinationDown, LeaseLost, Rejected, StudyGone
from medimaging_plugin.router.queue import Item
from medimaging_plugin.router.sender import Sent
from medimaging_plugin.router.worker import DestinationHolds, Worker
from router_fakes import FakeApi, FakeClock, FixedRandom

SETTINGS = RouterSettings(enabled=True, retry_min=2.0, retry_max=60.0, lease=30.0, max_rejections=3)


class FakeQueue:
    def __init__(self, items=()):
        self.items = list(items)
        self.calls = []

    def claim(self, owner, lease, exclude):
        self.calls.append(("claim", tuple(exclude)))
        return self.items.pop(0) if self.items else None

    def extend(self, item, lease):
        self.calls.append(("extend", item.id))
        return True

    def complete(self, item, sent, sent_bytes):
        self.calls.append(("complete", item.id, sent, sent_bytes))
        return True

    def fail(self, item, delay, error, count_attempt=True, rejection=False):
        self.calls.append(("fail", item.id, delay, count_attempt, rejection))
        return True

    def dead_letter(self, item, reason):
        self.calls.append(("dead", item.id, reason))
        return True

    def release_destination(self, destination):
        self.calls.append(("release", destination))
        return 4

    def dead_letter_instances(self, item, refused):
        self.calls.append(("dead_instances", item.id, [uid for uid, _code, _reason in refused]))


class FakeMetrics:
    def __init__(self):
        self.events = []

    def sent(self, destination, instances, sent_bytes, studies=0, seconds=None):
        self.events.append(("sent", destination, instances, studies))

    def failed(self, destination, kind):
        self.events.append(("failed", destination, kind))

    def dead_lettered(self, destination):
        self.events.append(("dead", destination))

    def transcoded(self, destination, count):
        self.events.append(("transcoded", destination, count))

    def instance_refused(self, destination, code):
        self.events.append(("instance_refused", destination, code))


class ScriptedSender:
    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []

    def send(self, item, instances, on_progress, already_tried):
        self.calls.append(already_tried)
        on_progress()
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def item(attempts=0, rejections=0, destination="cloud", taken_over=False):
    return Item(id=7, study_id="s1", study_uid="1.2", destination=destination, state="inflight", generation=1,
                instances=1, attempts=attempts, rejections=rejections, lease_token="tok", last_error=None,
                taken_over=taken_over)


def worker(outcome, holds=None):
    queue, metrics = FakeQueue(), FakeMetrics()
    holds = holds or DestinationHolds(2.0, 60.0, clock=FakeClock(1000.0), rng=FixedRandom(1.0))
    api = FakeApi([("i1", "1.2.1", 10)])
    w = Worker(0, queue, {"cloud": ScriptedSender(outcome)}, SETTINGS, holds, metrics, api)
    w.rng = FixedRandom(1.0)
    return w, queue, metrics, holds


def test_success_completes_the_item():
    w, queue, metrics, _ = worker((1, 10))
    w.process(item())
    assert queue.calls == [("extend", 7), ("complete", 7, 1, 10)]
    assert ("sent", "cloud", 1, 1) in metrics.events


def test_a_retry_asks_the_sender_to_check_the_destination_first():
    w, _, _, _ = worker((1, 10))
    w.process(item(attempts=2))
    assert w.senders["cloud"].calls == [True]
    w.process(item(attempts=0))
    assert w.senders["cloud"].calls == [True, False]
    w.process(item(attempts=0, taken_over=True))  # first attempt, but a crashed worker may have sent some
    assert w.senders["cloud"].calls == [True, False, True]


def test_destination_down_is_retried_with_the_destination_backoff_never_dead_lettered():
    w, queue, metrics, holds = worker(DestinationDown("connection refused"))
    for expected_delay in (2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0):
        queue.calls.clear()
        w.process(item(attempts=9, rejections=0))
        assert queue.calls[-1] == ("fail", 7, expected_delay, True, False)
    assert holds.held() == ["cloud"]
    assert not any(call[0] == "dead" for call in queue.calls)
    assert ("failed", "cloud", "destination_down") in metrics.events


def test_recovery_releases_the_backlog():
    w, queue, _, holds = worker((1, 10))
    holds.down("cloud", "was down")
    w.process(item())
    assert ("release", "cloud") in queue.calls and queue.calls[-1][0] == "complete"
    assert holds.failures("cloud") == 0


def test_permanent_rejection_is_dead_lettered_at_once():
    w, queue, metrics, _ = worker(Rejected("cloud refused 1 instance(s) (HTTP 400 Bad Request)", True, 3, 30))
    w.process(item())
    assert queue.calls[-1][0] == "dead" and "HTTP 400" in queue.calls[-1][2]
    assert ("dead", "cloud") in metrics.events
    assert ("sent", "cloud", 3, 0) in metrics.events  # partial progress is still counted


def test_other_rejections_retry_with_backoff_then_dead_letter_after_max():
    outcome = Rejected("cloud refused 1 instance(s)", False)
    w, queue, _, _ = worker(outcome)
    w.process(item(rejections=0))
    assert queue.calls[-1] == ("fail", 7, 2.0, True, True)
    w.process(item(rejections=1))
    assert queue.calls[-1] == ("fail", 7, 4.0, True, True)
    w.process(item(rejections=2))  # the third refusal with MaxRejections 3
    assert queue.calls[-1][0] == "dead" and "refused 3 times" in queue.calls[-1][2]


def test_study_deleted_locally_is_completed_with_nothing_sent():
    w, queue, _, _ = worker(StudyGone("s1"))
    w.process(item())
    assert queue.calls[-1] == ("complete", 7, 0, 0)


def test_lease_lost_leaves_the_row_alone():
    w, queue, _, _ = worker(LeaseLost(7))
    w.process(item())
    assert [c[0] for c in queue.calls] == ["extend"]


def test_unexpected_error_retries_with_the_item_backoff():
    w, queue, metrics, holds = worker(RuntimeError("bug"))
    w.process(item(attempts=2))
    assert queue.calls[-1] == ("fail", 7, 8.0, True, False)
    assert holds.held() == []  # not the destination's fault
    assert ("failed", "cloud", "error") in metrics.events


def test_unconfigured_destination_is_parked_without_counting_an_attempt():
    w, queue, _, _ = worker((1, 10))
    w.process(item(destination="removed"))
    assert queue.calls == [("fail", 7, 60.0, False, False)]


def test_step_skips_held_destinations_and_reports_idle():
    w, queue, _, holds = worker((1, 10))
    holds.down("cloud", "x")
    assert w.step() is False
    assert queue.calls == [("claim", ("cloud",))]


def test_stopping_worker_gives_the_lease_up_between_batches():
    w, queue, _, _ = worker((1, 10))
    w.stopping.set()
    w.process(item())
    assert not any(c[0] == "complete" for c in queue.calls)  # renew() raised LeaseLost


def test_instances_refused_for_good_are_dead_lettered_and_the_study_completes():
    w, queue, metrics, _ = worker(Sent(3, 30, refused=[("1.2.9", 43264, "bad UID")], transcoded=1))
    w.process(item())
    assert queue.calls == [("extend", 7), ("dead_instances", 7, ["1.2.9"]), ("complete", 7, 3, 30)]
    assert ("instance_refused", "cloud", 43264) in metrics.events and ("transcoded", "cloud", 1) in metrics.events


def test_a_rejection_still_records_the_instances_refused_for_good():
    w, queue, _, _ = worker(Rejected("272 on one", False, 2, 20, refused=[("1.2.8", None, "cannot transcode")]))
    w.process(item())
    assert ("dead_instances", 7, ["1.2.8"]) in queue.calls and queue.calls[-1][0] == "fail"
