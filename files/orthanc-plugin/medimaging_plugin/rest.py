"""REST endpoints of the plugin, as pure functions: (method, groups, body) -> (status, type, bytes[, headers]).

Orthanc routes them behind its own authentication (RegisterRestCallback).
  GET  /medimaging/oauth/status              per server: provider, expiry, last refresh, last error
  POST /medimaging/oauth/servers/{name}/test token now + QIDO ping (503, Retry-After if again within 5 s)
  GET  /medimaging/metrics                   Prometheus text format (all features)
  GET  /medimaging/status                    state and configuration error of every feature (deploy checks)
"""

from . import metrics
from .http_answers import json_answer as _json, method_not_allowed

ROUTES = {
    "oauth_status": r"/medimaging/oauth/status",
    "oauth_test": r"/medimaging/oauth/servers/([A-Za-z0-9_.-]+)/test",
    "metrics": r"/medimaging/metrics",
}


def _only(method, allowed):
    return method_not_allowed(allowed) if method != allowed else None


def oauth_status(feature, method, groups, body):
    return _only(method, "GET") or _json(200, feature.status())


def oauth_test(feature, method, groups, body):
    refused = _only(method, "POST")
    if refused:
        return refused
    status, answer, retry_after = feature.test_limited(groups[0])
    if retry_after:
        return _json(status, answer) + ({"Retry-After": str(retry_after)},)
    return _json(status, answer)


def metrics_endpoint(feature, method, groups, body):
    refused = _only(method, "GET")
    if refused:
        return refused
    payload, content_type = metrics.render()
    return 200, content_type, payload


HANDLERS = {"oauth_status": oauth_status, "oauth_test": oauth_test, "metrics": metrics_endpoint}


def status_route(features):
    """(regex, handler) of GET /medimaging/status: {feature section: {"state", "error"}} for {section: feature}."""

    def status(method, groups, body):
        return _only(method, "GET") or _json(200, {section: {"state": feature.state, "error": feature.error}
                                                   for section, feature in features.items()})

    return r"/medimaging/status", status
