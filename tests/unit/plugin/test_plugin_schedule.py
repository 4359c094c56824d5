"""Expiry math and refresh scheduling (tokens/schedule.py), with a fixed clock and deterministic jitter."""
from types import SimpleNamespace

import pytest
from plugin_fakes import FixedRandom

from medimaging_plugin.tokens.model import Token, TokenError
from medimaging_plugin.tokens.schedule import backoff_delay, refresh_delay, retry_delay

NOW = 1_700_000_000.0
SETTINGS = SimpleNamespace(retry_min=2.0, retry_max=300.0, permanent_retry=900.0)


def token(lifetime, obtained=NOW):
    return Token(value="t", obtained_at=obtained, expires_at=obtained + lifetime)


def test_refresh_one_margin_before_expiry_without_jitter():
    assert refresh_delay(token(3600), NOW, margin=300, jitter_max=0, rng=FixedRandom()) == 3300


def test_jitter_only_moves_refresh_earlier_and_stays_bounded():
    early = refresh_delay(token(3600), NOW, margin=300, jitter_max=30, rng=FixedRandom(1.0))
    late = refresh_delay(token(3600), NOW, margin=300, jitter_max=30, rng=FixedRandom(0.0))
    assert (early, late) == (3270, 3300)


def test_short_token_lead_is_capped_at_half_its_lifetime():
    # margin 300s on a 10s token would refresh immediately, forever: use half the lifetime instead
    assert refresh_delay(token(10), NOW, margin=300, jitter_max=0, rng=FixedRandom()) == 5
    # and jitter never takes more than half of that lead
    assert refresh_delay(token(10), NOW, margin=300, jitter_max=300, rng=FixedRandom(1.0)) == 2.5


def test_delay_counts_from_now_not_from_acquisition():
    assert refresh_delay(token(3600), NOW + 1000, margin=300, jitter_max=0, rng=FixedRandom()) == 2300
    assert refresh_delay(token(3600), NOW + 4000, margin=300, jitter_max=0, rng=FixedRandom()) == 0


@pytest.mark.parametrize("failures,expected_ceiling", [(1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (60, 300)])
def test_backoff_doubles_up_to_the_cap(failures, expected_ceiling):
    assert backoff_delay(failures, 2, 300, FixedRandom(1.0)) == expected_ceiling
    assert backoff_delay(failures, 2, 300, FixedRandom(0.0)) == expected_ceiling / 2


def test_permanent_error_waits_the_long_delay_even_with_a_valid_token():
    error = TokenError("invalid_client", permanent=True)
    assert retry_delay(error, 1, token(3600), NOW, SETTINGS, FixedRandom(1.0)) == 900


def test_transient_retry_is_not_scheduled_after_the_current_token_expires():
    error = TokenError("503", permanent=False)
    # 9th failure: backoff ceiling is 300s, but the token dies in 20s: try again before that
    assert retry_delay(error, 9, token(20), NOW, SETTINGS, FixedRandom(1.0)) == pytest.approx(19.5)
    # without a valid token, plain backoff
    assert retry_delay(error, 9, None, NOW, SETTINGS, FixedRandom(1.0)) == 300
    assert retry_delay(error, 9, token(20), NOW + 30, SETTINGS, FixedRandom(1.0)) == 300
