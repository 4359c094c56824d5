"""GET /medimaging/storage/status: state, configuration (no secret) of the storage area."""

from ..http_answers import json_answer, method_not_allowed


def routes(feature):
    def status(method, groups, body):
        return method_not_allowed("GET") if method != "GET" else json_answer(200, feature.status())

    return [(r"/medimaging/storage/status", status)]
