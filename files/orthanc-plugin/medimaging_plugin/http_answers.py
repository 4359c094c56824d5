"""The answers every feature's REST handlers return: (status, content type, body bytes)."""

import json

JSON = "application/json"


def json_answer(status, body):
    return status, JSON, json.dumps(body, indent=2, default=str).encode("utf-8")


def method_not_allowed(allowed):
    return 405, "text/plain", ("use %s" % allowed).encode()
