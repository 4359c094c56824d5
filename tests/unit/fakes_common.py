"""Fakes shared by the unit tests of the plugin and of the router: a clock and a deterministic rng.

Imported as `fakes_common` through plugin_fakes and router_fakes: tests/unit is on sys.path through
tests/unit/plugin/conftest.py and tests/unit/router/conftest.py (and pytest's own `prepend` import mode when
it loads tests/unit/conftest.py)."""


class FakeClock:
    """A time.time()-like callable that stands still until advance()."""

    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class FixedRandom:
    """rng.uniform(a, b) -> a + fraction * (b - a): deterministic jitter."""

    def __init__(self, fraction=0.5):
        self.fraction = fraction

    def uniform(self, a, b):
        return a + self.fraction * (b - a)
