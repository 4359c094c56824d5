"""REST of the storage area (behind Orthanc's authentication):
  GET  /medimaging/storage/status   state and configuration (no secret)
  POST /medimaging/storage/migrate  {"Direction": "ToObjectStorage"|"ToDisk", "DeleteSource": false} -> 202
  GET  /medimaging/storage/migrate  progress of the running or last migration (migrate.py)
"""

from ..http_answers import json_answer, method_not_allowed
from ..request_body import read_object

MIGRATE_SHAPE = '{"Direction": "ToObjectStorage" | "ToDisk", "DeleteSource": false}'


def routes(feature):
    def status(method, groups, body):
        return method_not_allowed("GET") if method != "GET" else json_answer(200, feature.status())

    def migrate(method, groups, body):
        if feature.migration is None:
            return json_answer(503, {"error": "MedimagingStorage is %s" % feature.state, "detail": feature.error})
        if method == "GET":
            return json_answer(200, feature.migration.status())
        if method != "POST":
            return method_not_allowed("GET, POST")
        request = read_object(body, {"Direction": str, "DeleteSource": bool}, MIGRATE_SHAPE)
        return json_answer(*feature.migration.start(request.get("Direction"), bool(request.get("DeleteSource"))))

    return [(r"/medimaging/storage/status", status), (r"/medimaging/storage/migrate", migrate)]
