"""REST endpoints of the archive feature (behind Orthanc's authentication):
  POST /medimaging/archive/restore   {"StudyInstanceUID": "..."} -> counts restored/already_present/failed/bytes
  GET  /medimaging/archive/status    state, configuration (no secrets), restores in progress, the last 20
Handlers are pure: (method, groups, body) -> (status, content type, bytes).
"""

from ..http_answers import json_answer as _json, method_not_allowed as _method_not_allowed
from ..request_body import guard


def routes(feature):
    def restore(method, groups, body):
        if method != "POST":
            return _method_not_allowed("POST")
        status, answer = feature.restore_request(body)
        return _json(status, answer)

    def status(method, groups, body):
        return _json(200, feature.status()) if method == "GET" else _method_not_allowed("GET")

    return [(r"/medimaging/archive/restore", guard(restore)), (r"/medimaging/archive/status", status)]
