"""Fakes for the router's unit tests: a clock, a deterministic rng, an Orthanc API that scripts answers."""
import json

from fakes_common import FakeClock, FixedRandom  # noqa: F401 (the router's tests import them from here)


class OrthancError(Exception):
    pass


class FakeApi:
    """Orthanc's internal REST API as the sender sees it: get_json(path) and post(path, body).

    `handlers` maps a path suffix (e.g. "/stow", "/qido") to a function(body dict) -> answer or raising.
    Every call is recorded as (method, path, body dict)."""

    def __init__(self, instances=(), handlers=None, jobs=None):
        self.instances = list(instances)  # [(id, sop uid, size)]
        self.handlers = dict(handlers or {})
        self.jobs = dict(jobs or {})
        self.calls = []

    def get_json(self, path):
        self.calls.append(("GET", path, None))
        if path.endswith("/instances") and path.startswith("/studies/"):
            if path == "/studies/gone/instances":
                raise OrthancError("Unknown resource")
            return [{"ID": i, "MainDicomTags": {"SOPInstanceUID": uid}, "FileSize": size}
                    for i, uid, size in self.instances]
        if path.startswith("/jobs/"):
            return self.jobs[path[len("/jobs/"):]]
        raise OrthancError("unexpected GET %s" % path)

    def post(self, path, body):
        data = json.loads(body)
        self.calls.append(("POST", path, data))
        for suffix, handler in self.handlers.items():
            if path.endswith(suffix):
                answer = handler(data)
                return answer if isinstance(answer, (bytes, str)) else json.dumps(answer).encode()
        raise OrthancError("unexpected POST %s" % path)

    def posts(self, suffix):
        return [body for method, path, body in self.calls if method == "POST" and path.endswith(suffix)]
