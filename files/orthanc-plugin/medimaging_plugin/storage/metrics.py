"""Storage-area metrics: operations and bytes per kind, latency histograms, retries, errors."""

from ..metrics import REGISTRY, unregister
from ..metrics_core import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StorageMetrics:
    def __init__(self, registry=REGISTRY):
        self._registry = registry
        self.operations = Counter("medimaging_storage_operations", "Storage-area operations by backend, kind "
                                  "(create, read, remove) and result (ok, error, not_found, disk)",
                                  ["backend", "operation", "result"], registry=registry)
        self.bytes = Counter("medimaging_storage_bytes", "Bytes written (create) and read (read) by backend",
                             ["backend", "operation"], registry=registry)
        self.latency = Histogram("medimaging_storage_latency_seconds", "Latency of storage-area operations, "
                                 "retries included", ["backend", "operation"], buckets=LATENCY_BUCKETS,
                                 registry=registry)
        self.retries = Counter("medimaging_storage_retries", "Requests retried after a transient failure",
                               ["backend", "operation"], registry=registry)

    def close(self):
        unregister((self.operations, self.bytes, self.latency, self.retries), self._registry)
