"""The plugin's one metrics registry, shared by every feature (tokens, router, priors, archive).

Features define their metrics against REGISTRY; GET /medimaging/metrics renders it (metrics_core.py).
"""

from .metrics_core import CONTENT_TYPE, Registry

REGISTRY = Registry()


def render(registry=REGISTRY):
    """Return (body_bytes, content_type) in the Prometheus text exposition format."""
    return registry.render(), CONTENT_TYPE


def unregister(metrics, registry=REGISTRY):
    """Remove a feature's metrics (None entries and ones already gone are fine), so it can be rebuilt or stopped."""
    for metric in metrics:
        if metric is None:
            continue
        try:
            registry.unregister(metric)
        except KeyError:
            pass
