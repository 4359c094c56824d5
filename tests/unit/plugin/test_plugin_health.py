"""Probe routes: live always, ready only after Orthanc started and while the index answers; no detail leaks."""
import json

from medimaging_plugin.health import LIVE, READY, Health


def answer(handler, method="GET"):
    status, _, body = handler(method, [], None)
    return status, json.loads(body) if status != 405 else body


def test_live_answers_while_starting():
    assert answer(Health(lambda: None).live) == (200, {"status": "alive"})


def test_ready_waits_for_orthanc_started_then_probes_the_index():
    calls = []
    health = Health(lambda: calls.append(1))
    assert answer(health.ready) == (503, {"status": "starting"}) and not calls
    health.started()
    assert answer(health.ready) == (200, {"status": "ready"}) and calls == [1]
    health.stopped()
    assert answer(health.ready)[0] == 503


def test_a_failing_index_says_so_without_the_reason():
    def probe():
        raise RuntimeError("could not connect to postgresql://orthanc:pg-secret@db:5432/orthanc")

    health = Health(probe)
    health.started()
    status, body = answer(health.ready)
    assert status == 503 and body == {"status": "index database not answering"}


def test_only_get_and_exactly_two_routes():
    health = Health(lambda: None)
    assert [route for route, _ in health.routes()] == [LIVE, READY]
    assert answer(health.live, "POST")[0] == 405
