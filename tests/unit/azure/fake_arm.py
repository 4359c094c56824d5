"""An in-memory ARM behind a requests adapter, so the real SDK clients and azure-core run unchanged.

Only what the engine needs: GET/PUT/PATCH/DELETE/POST on resource paths, optional LRO answers
(201 + Azure-AsyncOperation), injected failures, and a log of every request for counting.
"""
import copy
import io
import json
import time
import uuid
from urllib.parse import urlsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

BASE = "https://arm.fake.test"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
READ_ONLY = {"provisioningState": "Succeeded"}


class FakeCredential:
    def get_token(self, *scopes, **kwargs):
        self.scopes = scopes
        return AccessToken("fake-token", int(time.time()) + 3600)


def _merge(base, overlay):
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class FakeArm(requests.adapters.BaseAdapter):
    def __init__(self, lro=False, server_defaults=None, create_status=201, groups=("rg",)):
        super().__init__()
        self.store = {}            # lower-case path -> resource JSON
        self.log = []              # (method, path, body)
        self.failures = {}         # (method, lower path suffix) -> (status, code, message)
        self.lro = lro             # True: PUT/PATCH answer 201 + Azure-AsyncOperation; 202: 202 + both headers
        self.lro_fail = None       # (code, message): the async operation ends Failed
        self.server_defaults = server_defaults or {}  # added to every stored resource (read-only noise)
        self.operations = {}
        self.create_status = create_status  # storage answers 200 to a synchronous create
        for name in groups:  # resource groups that exist: a path in any other group answers ResourceGroupNotFound
            self.add_group(name)

    # ------------------------------------------------------------- helpers for tests
    def transport(self):
        session = requests.Session()
        session.mount("https://", self)
        return RequestsTransport(session=session, session_owner=False)

    def writes(self):
        return [entry for entry in self.log if entry[0] != "GET"]

    def gets(self):
        return [entry for entry in self.log if entry[0] == "GET"]

    def fail(self, method, path_suffix, status, code, message):
        self.failures[(method, path_suffix.lower())] = (status, code, message)

    def put(self, path, resource):
        self.store[path.lower()] = _merge(self._identity(path), resource)

    # ------------------------------------------------------------- requests adapter
    def close(self):
        pass

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        path = parts.path
        body = json.loads(request.body) if request.body else None
        self.log.append((request.method, path, body))
        for (method, suffix), (status, code, message) in self.failures.items():
            if method == request.method and path.lower().endswith(suffix):
                return self._answer(request, status, {"error": {"code": code, "message": message}})
        if path.startswith("/operations/"):
            return self._operation(request, path)
        key = path.lower()
        group = self._missing_group(key)
        if group and request.method in ("GET", "PUT", "PATCH"):  # as ARM: the group is checked first
            return self._answer(request, 404, {"error": {"code": "ResourceGroupNotFound",
                                                         "message": "Resource group '%s' could not be found." % group}})
        if request.method == "GET":
            if key in self.store:
                return self._answer(request, 200, self.store[key])
            children = [v for k, v in sorted(self.store.items())
                        if k.startswith(key + "/") and "/" not in k[len(key) + 1:]]
            if children or self._is_collection(key):
                return self._answer(request, 200, {"value": children})
            return self._answer(request, 404, {"error": {"code": "ResourceNotFound",
                                                         "message": "The resource %s was not found." % path}})
        if request.method in ("PUT", "PATCH"):
            exists = key in self.store
            if request.method == "PATCH" and not exists:
                return self._answer(request, 404, {"error": {"code": "ResourceNotFound", "message": "absent"}})
            base = self.store.get(key) if (exists and request.method == "PATCH") else self._identity(path)
            stored = _merge(_merge(base, body or {}), self._defaults())
            if "/roleassignments/" in key:  # ARM adds the scope an assignment was made at
                stored["properties"]["scope"] = path[:key.index("/providers/microsoft.authorization/")]
            self.store[key] = stored
            if self.lro and request.method in ("PUT", "PATCH"):
                op = uuid.uuid4().hex
                self.operations[op] = stored
                headers = {"Azure-AsyncOperation": BASE + "/operations/" + op}
                if self.lro == 202:  # PostgreSQL flexible style: 202 + both headers, no body
                    headers["Location"] = BASE + path
                    return self._answer(request, 202, None, headers)
                return self._answer(request, 201, stored, headers)
            return self._answer(request, self.create_status if not exists else 200, stored)
        if request.method == "DELETE":
            existed = self.store.pop(key, None) is not None
            if existed and self.lro:
                op_url = BASE + "/operations/" + uuid.uuid4().hex
                return self._answer(request, 202, None, {"Azure-AsyncOperation": op_url, "Location": op_url})
            return self._answer(request, 200 if existed else 204, None)
        if request.method == "POST":
            return self._answer(request, 200, {})
        return self._answer(request, 405, {"error": {"code": "MethodNotAllowed", "message": request.method}})

    def _missing_group(self, key):
        """The name of the resource group a path below a group names, when that group is not stored."""
        parts = key.split("/")
        if len(parts) > 5 and parts[1] == "subscriptions" and parts[3] == "resourcegroups":
            if "/".join(parts[:5]) not in self.store:
                return parts[4]
        return None

    def add_group(self, name="rg", subscription=SUBSCRIPTION):
        self.put("/subscriptions/%s/resourceGroups/%s" % (subscription, name), {"location": "westeurope"})

    @staticmethod
    def _is_collection(key):
        # list endpoints the modules call: role assignments/definitions of a scope, resources of a group.
        # Like a lax server, the fake ignores $filter: the modules must match what they asked for themselves.
        return key.endswith("/providers/microsoft.authorization/roleassignments") or key.endswith("/resources") \
            or key.endswith("/providers/microsoft.authorization/roledefinitions") \
            or key.endswith("/virtualnetworklinks")

    def _defaults(self):
        out = {"properties": dict(READ_ONLY)}
        return _merge(out, self.server_defaults)

    def _identity(self, path):
        segments = [s for s in path.split("/") if s]
        return {"id": path, "name": segments[-1] if segments else "", "type": "fake"}

    def _operation(self, request, path):
        op = path.rsplit("/", 1)[-1]
        if self.lro_fail:
            code, message = self.lro_fail
            return self._answer(request, 200, {"status": "Failed", "error": {"code": code, "message": message}})
        return self._answer(request, 200, {"status": "Succeeded"})

    def _answer(self, request, status, payload, headers=None):
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = request.url
        data = json.dumps(payload).encode() if payload is not None else b""
        response.raw = io.BytesIO(data)
        response._content = data
        response.headers["Content-Type"] = "application/json"
        response.headers["x-ms-request-id"] = uuid.uuid4().hex
        for name, value in (headers or {}).items():
            response.headers[name] = value
        response.reason = "OK" if status < 400 else "Error"
        return response
