"""Prometheus metrics of the router, on the plugin's shared registry.

  medimaging_router_queue_depth{destination,state}          items pending / inflight / dead (at scrape)
  medimaging_router_oldest_pending_age_seconds{destination}  age of the oldest study not yet sent
  medimaging_router_studies_sent_total{destination}
  medimaging_router_instances_sent_total{destination}
  medimaging_router_bytes_sent_total{destination}
  medimaging_router_send_failures_total{destination,kind}    kind: destination_down | rejected | error
  medimaging_router_dead_lettered_total{destination}
  medimaging_router_enqueued_total{destination,result}       result: new | rearmed | unchanged | filtered | from_destination
  medimaging_router_send_duration_seconds{destination}       histogram, per study
  medimaging_router_instances_transcoded_total{destination}  re-encoded to Explicit VR LE before sending
  medimaging_router_instances_dead_lettered_total{destination,reason}  reason: the FailureReason code, or "none"
  medimaging_router_dead_instances{destination}              instances dead-lettered now (at scrape)
"""

from ..metrics import unregister
from ..metrics_core import Counter, GaugeMetricFamily, Histogram

BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class RouterMetrics:
    def __init__(self, registry):
        self._registry = registry
        labels = ["destination"]
        self.studies = Counter("medimaging_router_studies_sent", "Studies sent", labels, registry=registry)
        self.instances = Counter("medimaging_router_instances_sent", "Instances sent", labels, registry=registry)
        self.bytes = Counter("medimaging_router_bytes_sent", "Bytes of DICOM files sent", labels, registry=registry)
        self.failures = Counter("medimaging_router_send_failures", "Failed send attempts",
                                labels + ["kind"], registry=registry)
        self.dead = Counter("medimaging_router_dead_lettered", "Studies moved to dead-letter", labels,
                            registry=registry)
        self.enqueued = Counter("medimaging_router_enqueued", "Enqueue decisions", labels + ["result"],
                                registry=registry)
        self.transcodes = Counter("medimaging_router_instances_transcoded", "Instances re-encoded before sending",
                                  labels, registry=registry)
        self.dead_instances = Counter("medimaging_router_instances_dead_lettered", "Instances the destination "
                                      "refused for good", labels + ["reason"], registry=registry)
        self.duration = Histogram("medimaging_router_send_duration_seconds", "Time to send one study", labels,
                                  buckets=BUCKETS, registry=registry)
        self._collector = None

    def sent(self, destination, instances, sent_bytes, studies=0, seconds=None):
        if studies:
            self.studies.labels(destination).inc(studies)
        self.instances.labels(destination).inc(instances)
        self.bytes.labels(destination).inc(sent_bytes)
        if seconds is not None:
            self.duration.labels(destination).observe(seconds)

    def failed(self, destination, kind):
        self.failures.labels(destination, kind).inc()

    def dead_lettered(self, destination):
        self.dead.labels(destination).inc()

    def transcoded(self, destination, count):
        self.transcodes.labels(destination).inc(count)

    def instance_refused(self, destination, code):
        self.dead_instances.labels(destination, "none" if code is None else str(code)).inc()

    def enqueue(self, destination, result):
        self.enqueued.labels(destination, result).inc()

    def watch(self, snapshot):
        """Queue gauges computed at scrape time from snapshot() -> queue stats (see RouterQueue.stats)."""
        self._collector = _QueueCollector(snapshot)
        self._registry.register(self._collector)

    def close(self):
        owned = (self.studies, self.instances, self.bytes, self.failures, self.dead, self.enqueued, self.duration,
                 self.transcodes, self.dead_instances, self._collector)
        unregister(owned, self._registry)


class _QueueCollector:
    def __init__(self, snapshot):
        self._snapshot = snapshot

    def describe(self):
        return []

    def collect(self):
        depth = GaugeMetricFamily("medimaging_router_queue_depth", "Queued studies by state",
                                  labels=["destination", "state"])
        oldest = GaugeMetricFamily("medimaging_router_oldest_pending_age_seconds",
                                   "Age of the oldest study not yet sent", labels=["destination"])
        dead_instances = GaugeMetricFamily("medimaging_router_dead_instances", "Instances dead-lettered",
                                           labels=["destination"])
        for destination, entry in sorted((self._snapshot() or {}).items()):
            for state in ("pending", "inflight", "dead"):
                depth.add_metric([destination, state], entry.get(state, 0))
            oldest.add_metric([destination], entry.get("oldest_pending_seconds", 0.0))
            dead_instances.add_metric([destination], entry.get("dead_instances", 0))
        yield depth
        yield oldest
        yield dead_instances
