"""Prometheus metrics of token acquisition, registered on the plugin's shared registry.

Names (all labelled by `server`, the DICOMweb server name):
  medimaging_oauth_token_acquisitions_total{server,result}   result: success | transient_error | permanent_error
  medimaging_oauth_token_acquisition_duration_seconds         histogram
  medimaging_oauth_token_refresh_failures_total               failed acquisitions or registrations
  medimaging_oauth_token_expiry_seconds                       seconds until the current token expires (<0: expired)
  medimaging_oauth_token_consecutive_failures                 failures since the last success
  medimaging_oauth_token_valid                                1 while Orthanc holds an unexpired token
"""

from ..metrics import unregister
from ..metrics_core import Counter, GaugeMetricFamily, Histogram

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class OAuthMetrics:
    def __init__(self, registry):
        self.acquisitions = Counter(
            "medimaging_oauth_token_acquisitions", "Token acquisitions by server and result",
            ["server", "result"], registry=registry)
        self.duration = Histogram(
            "medimaging_oauth_token_acquisition_duration_seconds", "Time spent acquiring a token",
            ["server"], buckets=BUCKETS, registry=registry)
        self.refresh_failures = Counter(
            "medimaging_oauth_token_refresh_failures", "Failed token refreshes (acquisition or "
            "registration in Orthanc)", ["server"], registry=registry)
        self._registry = registry
        self._collector = None

    def watch(self, snapshot):
        """Expose gauges computed at scrape time from `snapshot()` -> [(server, seconds_left|None,
        consecutive_failures, valid)]."""
        if self._collector is not None:
            self._registry.unregister(self._collector)
        self._collector = _StateCollector(snapshot)
        self._registry.register(self._collector)

    def close(self):
        unregister((self.acquisitions, self.duration, self.refresh_failures, self._collector), self._registry)


class _StateCollector:
    def __init__(self, snapshot):
        self._snapshot = snapshot

    def describe(self):
        return []

    def collect(self):
        expiry = GaugeMetricFamily("medimaging_oauth_token_expiry_seconds",
                                   "Seconds until the current token expires", labels=["server"])
        failures = GaugeMetricFamily("medimaging_oauth_token_consecutive_failures",
                                     "Consecutive failed refreshes", labels=["server"])
        valid = GaugeMetricFamily("medimaging_oauth_token_valid",
                                  "1 while Orthanc holds an unexpired token", labels=["server"])
        for server, seconds_left, consecutive, is_valid in self._snapshot():
            if seconds_left is not None:
                expiry.add_metric([server], seconds_left)
            failures.add_metric([server], consecutive)
            valid.add_metric([server], 1.0 if is_valid else 0.0)
        yield expiry
        yield failures
        yield valid
