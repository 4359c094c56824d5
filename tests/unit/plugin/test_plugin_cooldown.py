"""Cooldown (one OAuth test per server at a time, then a quiet period) and the 503 + Retry-After it gives the endpoint."""
import json
import threading

from plugin_fakes import FakeClock, FakeOrthancApi

from medimaging_plugin import rest
from medimaging_plugin.cooldown import Cooldown
from medimaging_plugin.metrics_core import Registry
from medimaging_plugin.oauth_feature import TEST_COOLDOWN_SECONDS, OAuthFeature


def test_one_call_at_a_time_then_a_quiet_period():
    clock = FakeClock(100.0)
    cooldown = Cooldown(5.0, clock=clock)
    assert cooldown.acquire("cloud") == 0
    assert cooldown.acquire("cloud") == 5  # busy
    assert cooldown.acquire("other") == 0  # per key
    clock.advance(2.0)
    cooldown.release("cloud")
    clock.advance(1.5)
    assert cooldown.acquire("cloud") == 4  # ceil(5 - 1.5)
    clock.advance(3.5)
    assert cooldown.acquire("cloud") == 0



def test_thirty_concurrent_tests_make_one_token_request():
    api = FakeOrthancApi()
    config = {"DicomWebOAuth": {"Servers": {"cloud": {"Url": "http://127.0.0.1:8043/dicom-web/",
                                                      "StaticToken": "static-secret-token"}}}}
    feature = OAuthFeature.from_config(api, config, {}, registry=Registry())
    feature.start()
    try:
        calls = []
        original = feature.manager.refresh_now
        feature.manager.refresh_now = lambda name: calls.append(name) or original(name)
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(rest.oauth_test(feature, "POST", ["cloud"], None)))
                   for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(calls) == 1
        statuses = sorted(answer[0] for answer in answers)
        assert statuses.count(200) == 1 and statuses.count(503) == 29
        refused = next(answer for answer in answers if answer[0] == 503)
        assert int(refused[3]["Retry-After"]) <= TEST_COOLDOWN_SECONDS
        assert "cloud" in json.loads(refused[2])["error"]
        assert rest.oauth_test(feature, "POST", ["nope"], None)[0] == 404  # unknown names are not limited
    finally:
        feature.stop()
