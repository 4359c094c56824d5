"""REST endpoints of the router and priors features (behind Orthanc's authentication):
  GET  /medimaging/router/status               per destination counts, oldest pending age, last error
  POST /medimaging/router/retry-dead-letters   body {} or {"Destination": "NAME"}: dead -> pending
  GET  /medimaging/priors/status               configuration and the last lookups
Handlers are pure: (method, groups, body) -> (status, content type, bytes).
"""

from ..http_answers import json_answer as _json, method_not_allowed as _method_not_allowed
from ..request_body import guard


def routes(router, priors):
    """[(regex, handler)] for orthanc_adapter.register_routes."""

    def router_status(method, groups, body):
        return _json(200, router.status()) if method == "GET" else _method_not_allowed("GET")

    def retry_dead_letters(method, groups, body):
        if method != "POST":
            return _method_not_allowed("POST")
        status, answer = router.retry_dead_letters(body)
        return _json(status, answer)

    def priors_status(method, groups, body):
        return _json(200, priors.status()) if method == "GET" else _method_not_allowed("GET")

    return [(r"/medimaging/router/status", router_status),
            (r"/medimaging/router/retry-dead-letters", guard(retry_dead_letters)),
            (r"/medimaging/priors/status", priors_status)]
