"""The queue's state machine on a real PostgreSQL (no Orthanc): claim / lease / complete / fail /
dead-letter / re-arm, SKIP LOCKED between concurrent claimers, and the priors gate shared by replicas."""
import sys
import threading
import time

import pytest
from router_harness import PLUGIN_DIR

if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

from medimaging_plugin.priors.gate import PostgresGate  # noqa: E402
from medimaging_plugin.database import Database  # noqa: E402
from medimaging_plugin.router.queue import RouterQueue  # noqa: E402


def _params(pg):
    return {"host": pg["host"], "port": pg["port"], "dbname": pg["database"], "user": pg["user"],
            "password": pg["password"]}


@pytest.fixture
def queue(pg_database):
    db = Database(_params(pg_database))
    q = RouterQueue(db)
    q.ensure_schema()
    q.ensure_schema()  # idempotent (a second replica starting)
    yield q
    db.close()


def _state(queue, item_id):
    return queue.db.execute("SELECT state, attempts, rejections, generation, last_error FROM medimaging_router.items "
                            "WHERE id = %s", (item_id,), fetch="one")


def test_enqueue_once_claim_complete(queue):
    assert queue.enqueue("s1", "1.1", "cloud", 3) == "new"
    assert queue.enqueue("s1", "1.1", "cloud", 3) == "unchanged"  # a second replica sees the same study
    assert queue.enqueue("s1", "1.1", "archive", 3) == "new"
    first = queue.claim("w1", 30, exclude_destinations=["archive"])
    assert first.destination == "cloud" and first.state == "inflight"
    assert queue.claim("w2", 30, exclude_destinations=["archive"]) is None  # leased: nobody else takes it
    assert queue.complete(first, 3, 300)
    assert _state(queue, first.id)[0] == "done"
    assert queue.complete(first, 3, 300) is False  # the lease is gone with the completion
    assert queue.stats()["cloud"]["done"] == 1 and queue.stats()["cloud"]["bytes_sent"] == 300


def test_fail_backs_off_and_counts(queue):
    queue.enqueue("s1", "1.1", "cloud", 1)
    item = queue.claim("w", 30)
    assert queue.fail(item, 3600, "cloud down")
    assert _state(queue, item.id)[:3] == ("pending", 1, 0)
    assert queue.claim("w", 30) is None  # not due for an hour
    assert queue.release_destination("cloud") == 1  # the destination answers again: due now
    again = queue.claim("w", 30)
    assert again.attempts == 1 and again.lease_token != item.lease_token
    assert queue.fail(item, 0, "stale lease") is False  # an old lease cannot touch the row


def test_rejections_are_not_released_early(queue):
    queue.enqueue("s1", "1.1", "cloud", 1)
    item = queue.claim("w", 30)
    queue.fail(item, 3600, "refused", rejection=True)
    assert _state(queue, item.id)[2] == 1
    assert queue.release_destination("cloud") == 0


def test_dead_letter_and_retry(queue):
    queue.enqueue("s1", "1.1", "cloud", 1)
    item = queue.claim("w", 30)
    assert queue.dead_letter(item, "HTTP 400 Bad Request")
    assert _state(queue, item.id)[0] == "dead"
    assert queue.claim("w", 30) is None
    assert queue.dead_letters()[0]["reason"] == "HTTP 400 Bad Request"
    assert queue.retry_dead_letters("other") == 0
    assert queue.retry_dead_letters("cloud") == 1
    assert _state(queue, item.id)[:3] == ("pending", 0, 0)


def test_expired_lease_is_taken_over(queue):
    queue.enqueue("s1", "1.1", "cloud", 1)
    crashed = queue.claim("crashed", 0.2)
    time.sleep(0.4)
    rescuer = queue.claim("rescuer", 30)
    assert rescuer is not None and rescuer.id == crashed.id
    assert (crashed.taken_over, rescuer.taken_over) == (False, True)  # the rescuer asks what is there first
    assert queue.extend(crashed, 30) is False and queue.complete(crashed, 1, 1) is False
    assert queue.complete(rescuer, 1, 1)


def test_study_changed_while_sending_goes_back_to_pending(queue):
    queue.enqueue("s1", "1.1", "cloud", 2)
    item = queue.claim("w", 30)
    assert queue.enqueue("s1", "1.1", "cloud", 3) == "rearmed"  # a late instance arrived
    assert queue.complete(item, 2, 20)
    assert _state(queue, item.id)[0] == "pending"
    newer = queue.claim("w", 30)
    assert newer.generation == 2 and queue.complete(newer, 1, 10)
    assert _state(queue, item.id)[0] == "done"
    assert queue.enqueue("s1", "1.1", "cloud", 4) == "rearmed"  # done -> pending again
    assert _state(queue, item.id)[0] == "pending"


def test_concurrent_claimers_never_share_an_item(queue, pg_database):
    for index in range(40):
        queue.enqueue("s%d" % index, "1.%d" % index, "cloud", 1)
    taken, errors = [], []

    def claimer(name):
        db = Database(_params(pg_database))
        q = RouterQueue(db)
        try:
            while True:
                item = q.claim(name, 30)
                if item is None:
                    return
                taken.append(item.id)
                q.complete(item, 1, 1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=claimer, args=("w%d" % i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(taken) == 40 and len(set(taken)) == 40
    assert queue.stats()["cloud"]["done"] == 40


def test_arrivals_and_change_cursor(queue):
    queue.note_arrival("s1")
    queue.note_arrival("s1")
    queue.enqueue("s2", "1.2", "cloud", 1)
    queue.note_arrival_if_unknown("s2")  # already queued: not an arrival
    assert queue.orphaned_arrivals(0) == ["s1"]
    queue.forget_arrival("s1")
    assert queue.orphaned_arrivals(0) == []
    queue.set_change_cursor(10)
    queue.set_change_cursor(5)  # never goes back
    assert queue.change_cursor() == 10


def test_priors_gate_once_per_window_across_replicas(pg_database):
    first, second = Database(_params(pg_database)), Database(_params(pg_database))
    try:
        gate_a, gate_b = PostgresGate(first, 3600), PostgresGate(second, 3600)
        gate_a.ensure_schema()
        gate_b.ensure_schema()
        assert gate_a.claim("PAT1") is True
        assert gate_b.claim("PAT1") is False  # the other replica sees the window
        assert gate_b.claim("PAT2") is True
        short = PostgresGate(second, 0.2)
        time.sleep(0.3)
        assert short.claim("PAT1") is True
        stored = first.execute("SELECT patient_key FROM medimaging_priors.lookups", fetch="all")
        assert all("PAT" not in row[0] for row in stored)
    finally:
        first.close()
        second.close()
