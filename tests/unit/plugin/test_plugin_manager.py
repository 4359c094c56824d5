"""TokenManager with a fake clock: registration, refresh schedule, failures, recovery, status, metrics."""
import pytest
from plugin_fakes import FakeClock, FixedRandom
from medimaging_plugin.metrics_core import Registry

from medimaging_plugin.config.oauth import load_oauth_settings
from medimaging_plugin.tokens.manager import TokenManager
from medimaging_plugin.tokens.metrics import OAuthMetrics
from medimaging_plugin.tokens.model import Token, TokenError

DICOM = "https://ws-svc.dicom.azurehealthcareapis.com/v2/"


class ScriptedProvider:
    """Answers each acquire() with the next scripted item: a lifetime (seconds) or a TokenError."""
    kind = "client_credentials"

    def __init__(self, *script):
        self.script = list(script)
        self.calls = 0

    def acquire(self, now):
        self.calls += 1
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return Token(value="token-%d" % self.calls, obtained_at=now, expires_at=now + item)


class Registrar:
    def __init__(self):
        self.registered = []
        self.fail_next = 0

    def __call__(self, server, token):
        if self.fail_next:
            self.fail_next -= 1
            raise ValueError("Orthanc said 500")
        self.registered.append((server.name, token.value))


@pytest.fixture
def world():
    settings = load_oauth_settings({"DicomWebOAuth": {
        "RefreshMarginSeconds": 60, "RefreshJitterSeconds": 0, "RetryMinSeconds": 2,
        "RetryMaxSeconds": 30, "PermanentErrorRetrySeconds": 600,
        "Servers": {"cloud": {"Url": DICOM, "StaticToken": "unused"}}}}, {})
    clock, registry, registrar = FakeClock(), Registry(), Registrar()

    def make(*script):
        provider = ScriptedProvider(*script)
        manager = TokenManager(settings, {"cloud": provider}, registrar, OAuthMetrics(registry),
                               clock=clock, timer=clock, rng=FixedRandom(1.0))
        return manager, provider

    class World:
        pass
    w = World()
    w.clock, w.registry, w.registrar, w.make = clock, registry, registrar, make
    return w


def metric(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_first_token_is_registered_and_refresh_is_one_margin_ahead(world):
    manager, _ = world.make(3600)
    assert manager.attempt("cloud")
    assert world.registrar.registered == [("cloud", "token-1")]
    status = manager.status("cloud")
    assert status["state"] == "ok" and status["seconds_until_expiry"] == 3600
    assert status["next_attempt"] is not None
    assert manager._states["cloud"].next_attempt_at == world.clock.now + 3540


def test_exactly_one_acquisition_per_token_lifetime_when_driven_by_the_schedule(world):
    manager, provider = world.make(*([600] * 10))
    start = world.clock.now
    for _ in range(200):  # drive the loop as the thread would, second by second, for ~1 hour
        if world.clock.now >= manager._states["cloud"].next_attempt_at:
            manager.attempt("cloud")
        world.clock.advance(20)
    elapsed = world.clock.now - start
    # one token per (lifetime - margin) = 540 s of wall time: 4000 s -> 8 acquisitions
    assert provider.calls == int(elapsed // 540) + 1
    assert manager.current_token("cloud") is not None


def test_outage_keeps_the_last_token_then_recovers(world):
    down = TokenError("cannot reach https://login/token: ConnectionError")
    manager, provider = world.make(100, down, down, down, down, down, down, 100)
    manager.attempt("cloud")
    world.clock.advance(60)  # refresh time (100 - margin capped to 50)
    for _ in range(3):
        assert not manager.attempt("cloud")
        world.clock.advance(manager._states["cloud"].next_attempt_at - world.clock.now)
    status = manager.status("cloud")
    assert status["state"] == "degraded" and status["token_valid"]
    assert world.registrar.registered == [("cloud", "token-1")]  # Orthanc still holds the good token
    while world.clock.now < manager._states["cloud"].token.expires_at:
        assert not manager.attempt("cloud")
        # while the token is valid, retries are not scheduled later than its expiry (plus the 2s floor)
        assert manager._states["cloud"].next_attempt_at <= manager._states["cloud"].token.expires_at + 2
        world.clock.advance(manager._states["cloud"].next_attempt_at - world.clock.now)
    status = manager.status("cloud")
    assert status["state"] == "expired" and not status["token_valid"]
    assert status["last_error"].startswith("cannot reach") and status["consecutive_failures"] >= 4
    assert manager.current_token("cloud") is None
    assert metric(world.registry, "medimaging_oauth_token_valid", server="cloud") == 0
    assert metric(world.registry, "medimaging_oauth_token_consecutive_failures", server="cloud") >= 4
    provider.script = [100]
    assert manager.attempt("cloud")
    assert manager.status("cloud")["state"] == "ok"
    assert metric(world.registry, "medimaging_oauth_token_consecutive_failures", server="cloud") == 0


def test_permanent_error_does_not_storm(world):
    wrong = TokenError("https://login/token answered HTTP 401 invalid_client", permanent=True)
    manager, provider = world.make(*([wrong] * 50))
    attempts = 0
    end = world.clock.now + 1800
    while world.clock.now < end:
        if world.clock.now >= manager._states["cloud"].next_attempt_at:
            manager.attempt("cloud")
            attempts += 1
        world.clock.advance(1)
    assert attempts == 3  # t=0, 600, 1200: PermanentErrorRetrySeconds apart
    assert metric(world.registry, "medimaging_oauth_token_acquisitions_total", server="cloud",
                  result="permanent_error") == 3
    assert manager.status("cloud")["last_error_permanent"] is True


def test_transient_backoff_grows_and_is_capped(world):
    down = TokenError("503")
    manager, _ = world.make(*([down] * 8))
    delays = []
    for _ in range(8):
        manager.attempt("cloud")
        delays.append(manager._states["cloud"].next_attempt_at - world.clock.now)
        world.clock.advance(delays[-1])
    assert delays == [2, 4, 8, 16, 30, 30, 30, 30]


def test_registration_failure_counts_and_retries_soon(world):
    manager, _ = world.make(3600, 3600)
    world.registrar.fail_next = 1
    assert not manager.attempt("cloud")
    status = manager.status("cloud")
    assert "registering the server in Orthanc failed" in status["last_error"]
    assert manager._states["cloud"].next_attempt_at == world.clock.now + 2
    world.clock.advance(2)
    assert manager.attempt("cloud")
    assert world.registrar.registered == [("cloud", "token-2")]
    assert metric(world.registry, "medimaging_oauth_token_refresh_failures_total", server="cloud") == 1


def test_status_and_metrics_never_show_the_token(world):
    manager, _ = world.make(3600)
    manager.attempt("cloud")
    text = world.registry.render().decode()
    assert "token-1" not in str(manager.status("cloud")) and "token-1" not in text
    for name in ("medimaging_oauth_token_acquisitions_total", "medimaging_oauth_token_acquisition_duration_seconds",
                 "medimaging_oauth_token_refresh_failures_total", "medimaging_oauth_token_expiry_seconds",
                 "medimaging_oauth_token_consecutive_failures"):
        assert name in text
    assert metric(world.registry, "medimaging_oauth_token_expiry_seconds", server="cloud") == 3600


def test_threads_start_and_stop(world):
    import time as real_time
    settings_clock = world.clock
    manager, provider = world.make(3600)
    manager.clock = real_time.time  # let the thread see time pass
    manager.start()
    deadline = real_time.monotonic() + 30  # a thread's first run may wait seconds for a loaded CPU
    while provider.calls == 0 and real_time.monotonic() < deadline:
        real_time.sleep(0.01)
    manager.stop(timeout=10)
    assert provider.calls == 1 and not manager._states["cloud"].thread.is_alive()
    assert settings_clock.now  # fake clock untouched
