"""The plugin's one Prometheus registry, shared by every feature (tokens, router, archive...).

Features define their metrics against REGISTRY; GET /medimaging/metrics renders it.
"""

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# The *_created series double the output and mean nothing to dashboards.
if hasattr(prometheus_client, "disable_created_metrics"):
    prometheus_client.disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def render(registry=REGISTRY):
    """Return (body_bytes, content_type) in the Prometheus text exposition format."""
    return generate_latest(registry), CONTENT_TYPE


def unregister(metrics, registry=REGISTRY):
    """Remove a feature's metrics (None entries and ones already gone are fine), so it can be rebuilt or stopped."""
    for metric in metrics:
        if metric is None:
            continue
        try:
            registry.unregister(metric)
        except KeyError:
            pass
