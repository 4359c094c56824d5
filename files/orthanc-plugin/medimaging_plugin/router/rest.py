"""REST endpoints of the router and priors features (behind Orthanc's authentication):
  GET  /medimaging/router/status               per destination counts, oldest pending age, last error
  POST /medimaging/router/retry-dead-letters   body {} or {"Destination": "NAME"}: dead -> pending
  GET  /medimaging/priors/status               configuration and the last lookups
Handlers are pure: (method, groups, body) -> (status, content type, bytes).
"""

from ..http_answers import json_answer as _json, method_not_allowed as _method_not_allowed
from ..log import redact
from ..request_body import guard, read_object
from .config import SECTION

EMPTY_COUNTS = {"pending": 0, "inflight": 0, "done": 0, "dead": 0, "dead_instances": 0, "oldest_pending_seconds": 0.0,
                "bytes_sent": 0, "last_error": None}


def router_status(router):
    """State, error, per destination counts/reachability/configuration, and the latest dead letters."""
    body = {"feature": SECTION, "state": router.state, "error": router.error, "destinations": {}}
    if router.settings is None or not router.settings.enabled:
        return body
    stats = router.cached_stats(max_age=0.0) if router.queue is not None else {}
    holds = router.holds
    held = set(holds.held()) if holds else set()
    for d in router.settings.destinations:
        entry = dict(EMPTY_COUNTS, **stats.get(d.name, {}))
        if holds and holds.last_error.get(d.name) and d.name in held:
            entry["last_error"] = holds.last_error[d.name]
        entry["last_error"] = redact(entry["last_error"]) if entry["last_error"] else None
        entry["reachable"] = d.name not in held
        entry["config"] = d.public_view()
        body["destinations"][d.name] = entry
    if router.queue is not None:
        try:
            body["dead_letters"] = [dict(x, reason=redact(x["reason"] or "")) for x in router.queue.dead_letters(20)]
            body["dead_instances"] = [dict(x, reason=redact(x["reason"])) for x in
                                      router.queue.dead_instance_letters(50)]
        except Exception as exc:
            body["dead_letters_error"] = redact(exc)
    return body


def retry_dead_letters(router, body):
    """(status, answer): dead items of one destination (or all) back to pending."""
    destination = read_object(body, {"Destination": str}, '{} or {"Destination": "NAME"}').get("Destination")
    if router.queue is None:
        return 503, {"error": "%s is %s" % (SECTION, router.state), "detail": router.error}
    if destination is not None and destination not in {d.name for d in router.settings.destinations}:
        return 404, {"error": "Destination: no destination named %r" % destination[:64]}
    count = router.queue.retry_dead_letters(destination)
    for worker in router.workers:
        worker.wakeup.set()
    return 200, {"requeued": count}


def routes(router, priors):
    """[(regex, handler)] for orthanc_adapter.register_routes."""

    def status(method, groups, body):
        return _json(200, router_status(router)) if method == "GET" else _method_not_allowed("GET")

    def retry(method, groups, body):
        if method != "POST":
            return _method_not_allowed("POST")
        return _json(*retry_dead_letters(router, body))

    def priors_status(method, groups, body):
        return _json(200, priors.status()) if method == "GET" else _method_not_allowed("GET")

    return [(r"/medimaging/router/status", status),
            (r"/medimaging/router/retry-dead-letters", guard(retry)),
            (r"/medimaging/priors/status", priors_status)]
