"""The cloud viewer's token broker: reuse, refresh ahead of expiry, keep a valid token through an outage, and the
HTTP answers nginx's auth_request relies on (204 + X-Authorization, 503 with a reason and no secret)."""
import importlib.util
import json
import os
import sys
import threading
from http.client import HTTPConnection
from http.server import ThreadingHTTPServer

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "files", "orthanc-plugin"))
from medimaging_plugin.tokens.model import Token, TokenError  # noqa: E402  pylint: disable=wrong-import-position

_spec = importlib.util.spec_from_file_location("token_broker", os.path.join(REPO, "files", "ohif", "token_broker.py"))
broker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(broker)


class FakeProvider:
    kind = "client_credentials"

    def __init__(self, lifetime=3600.0):
        self.lifetime = lifetime
        self.calls = 0
        self.fail = None

    def acquire(self, now):
        self.calls += 1
        if self.fail:
            raise self.fail
        return Token(value=f"token-{self.calls}", obtained_at=now, expires_at=now + self.lifetime)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_token_is_reused_until_the_margin_then_refreshed():
    provider, clock = FakeProvider(), Clock()
    cache = broker.TokenCache(provider, margin=300, clock=clock)
    assert cache.get() == "token-1"
    clock.now += 3600 - 301
    assert cache.get() == "token-1" and provider.calls == 1
    clock.now += 2
    assert cache.get() == "token-2" and provider.calls == 2


def test_a_short_token_is_refreshed_at_half_its_lifetime_not_at_every_request():
    provider, clock = FakeProvider(lifetime=120), Clock()
    cache = broker.TokenCache(provider, margin=300, clock=clock)
    cache.get()
    clock.now += 59
    cache.get()
    assert provider.calls == 1


def test_a_valid_token_survives_a_failed_refresh_and_the_error_is_reported():
    provider, clock = FakeProvider(), Clock()
    cache = broker.TokenCache(provider, margin=300, clock=clock)
    cache.get()
    provider.fail = TokenError("cannot reach https://login.example/token: timed out")
    clock.now += 3400
    assert cache.get() == "token-1"
    assert "timed out" in cache.status()["last_error"]
    clock.now += 300
    with pytest.raises(TokenError):
        cache.get()


@pytest.fixture()
def served():
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), broker.handler_for(broker.TokenCache(provider, 300)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider, server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(port, path):
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, answer.getheader("X-Authorization"), answer.read()


def test_nginx_gets_the_bearer_in_a_header_and_no_body(served):
    _, port = served
    status, header, body = _get(port, "/token")
    assert (status, header, body) == (204, "Bearer token-1", b"")


def test_without_a_token_nginx_gets_503_with_the_reason_and_status_shows_no_token(served):
    provider, port = served
    provider.fail = TokenError("invalid_client: the secret is wrong", permanent=True)
    status, header, body = _get(port, "/token")
    assert status == 503 and header is None
    assert "invalid_client" in json.loads(body)["error"]
    status, _, body = _get(port, "/status")
    assert status == 200 and "token-" not in body.decode()


def test_a_failure_is_logged_once_per_new_reason_and_the_recovery_once(capsys):
    provider, clock = FakeProvider(lifetime=60), Clock()
    cache = broker.TokenCache(provider, margin=300, clock=clock)
    provider.fail = TokenError("invalid_client: the secret is wrong", permanent=True)
    for _ in range(3):  # nginx asks once per image frame: one line, not three
        with pytest.raises(TokenError):
            cache.get()
    provider.fail = None
    assert cache.get() == "token-4"
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["token broker: no token: invalid_client: the secret is wrong",
                     "token broker: a token again (client_credentials)"]
