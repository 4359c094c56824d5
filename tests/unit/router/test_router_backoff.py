"""Backoff: the exponential schedule and its cap, per destination (DestinationHolds) and per item (worker)."""
import pytest

from medimaging_plugin.router.worker import DestinationHolds
from medimaging_plugin.tokens.schedule import backoff_delay
from router_fakes import FakeClock, FixedRandom


def test_schedule_doubles_from_the_minimum_and_stops_at_the_cap():
    top = FixedRandom(1.0)
    assert [backoff_delay(n, 2.0, 60.0, top) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(10_000, 2.0, 60.0, top) == 60.0  # huge counts do not overflow


def test_jitter_stays_between_half_and_all_of_the_step():
    assert backoff_delay(3, 2.0, 300.0, FixedRandom(0.0)) == 4.0
    assert backoff_delay(3, 2.0, 300.0, FixedRandom(1.0)) == 8.0
    import random
    rng = random.Random(7)
    for n in range(1, 20):
        ceiling = min(300.0, 2.0 * 2 ** (n - 1))
        assert ceiling / 2 <= backoff_delay(n, 2.0, 300.0, rng) <= ceiling


def test_zero_failures_counts_as_one():
    assert backoff_delay(0, 2.0, 300.0, FixedRandom(1.0)) == 2.0


def test_destination_hold_grows_caps_and_clears():
    clock = FakeClock(1000.0)
    holds = DestinationHolds(1.0, 5.0, clock=clock, rng=FixedRandom(1.0))
    assert holds.held() == []
    assert [holds.down("cloud", "boom %d" % i) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert holds.failures("cloud") == 5 and holds.last_error["cloud"] == "boom 4"
    assert holds.held() == ["cloud"]
    clock.advance(4.9)
    assert holds.held() == ["cloud"]
    clock.advance(0.2)
    assert holds.held() == []  # the hold expires by itself: the next claim probes the destination
    assert holds.up("cloud") is True  # was down: its backlog must be released
    assert holds.up("cloud") is False
    assert holds.failures("cloud") == 0
    assert holds.down("cloud", "again") == 1.0  # the schedule starts over after a success


def test_holds_are_per_destination():
    clock = FakeClock(1000.0)
    holds = DestinationHolds(1.0, 5.0, clock=clock, rng=FixedRandom(1.0))
    holds.down("a", "x")
    holds.down("a", "x")
    holds.down("b", "y")
    assert sorted(holds.held()) == ["a", "b"]
    clock.advance(1.5)
    assert holds.held() == ["a"]


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_hold_delay_is_within_the_jitter_band(fraction):
    holds = DestinationHolds(2.0, 300.0, clock=FakeClock(1000.0), rng=FixedRandom(fraction))
    holds.down("c", "e")
    assert holds.down("c", "e") == 2.0 + fraction * 2.0
