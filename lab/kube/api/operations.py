"""The API's verbs over the store: what one authenticated request means (path -> resource, verb -> store call).

Returns (status code, JSON-able body) or, for watch, (200, generator of event dicts).
"""
import copy
import json

import yaml

from lab.kube.api import errors, patch, protobuf, tables
from lab.kube.api.auth import allowed, rules_for
from lab.kube.api.selectors import fields_match, labels_match, parse_fields, parse_labels

PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic", "application/apply-patch+yaml": "apply"}
MIN_TOKEN_SECONDS = 600


class Target:
    """A parsed resource path."""

    def __init__(self, rtype, namespace, name, subresource):
        self.rtype, self.namespace, self.name, self.subresource = rtype, namespace, name, subresource


def parse_path(registry, parts):
    """parts after /api or /apis: [group,] version, [namespaces, ns,] plural, [name, [sub]]."""
    if parts[0] == "api":
        group, rest = "", parts[1:]
    else:
        group, rest = parts[1], parts[2:]
    if not rest:
        return None
    version, rest = rest[0], rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and group == "" and rest[2] not in ("status", "finalize") \
            or len(rest) >= 3 and rest[0] == "namespaces" and group != "":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return None
    rtype = registry.get(group, version, rest[0])
    if rtype is None:
        raise errors.ApiError(404, f"the server could not find the requested resource ({rest[0]})")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in rtype.subresources and sub != "finalize":
        raise errors.ApiError(404, f"the server could not find the requested resource ({rest[0]}/{sub})")
    return Target(rtype, namespace, name, sub)


def _first(query, key, default=""):
    return query.get(key, [default])[0]


def _pins_version(kind, operations):
    """True when a patch carries its own resourceVersion: then a conflict is the client's to see."""
    if kind == "json":
        return any(isinstance(op, dict) and str(op.get("path", "")).startswith("/metadata/resourceVersion")
                   for op in operations or [])
    return isinstance(operations, dict) and bool((operations.get("metadata") or {}).get("resourceVersion"))


def _retry_unless_pinned(attempt, pinned, tries=5):
    """Apply a read-modify-write again when another writer got in between, as kube-apiserver's
    GuaranteedUpdate does for PATCH and apply: a client that sent no resourceVersion never sees a 409
    because a controller wrote the object's status at the same moment."""
    for left in range(tries, 0, -1):
        try:
            return attempt()
        except errors.ConflictError:
            if pinned or left == 1:
                raise


def _list_kind(rtype):
    return f"{rtype.kind}List"


class Operations:
    def __init__(self, store, tokens, node_name="lab-node"):
        self.store, self.tokens, self.node_name = store, tokens, node_name
        self.runtime = None                 # the PodRuntime, for pods/log when it offers logs()

    # ---- entry ----------------------------------------------------------------------------------------
    def handle(self, method, target, query, body, content_type, user, accept=""):
        verb = self._verb(method, target, query)
        if not allowed(user, verb) and not target.rtype.group == "authorization.k8s.io":
            raise errors.forbidden(user.name, verb, target.rtype, target.namespace, target.name)
        if target.rtype.group == "authorization.k8s.io":
            return self._review(target, self._body(body, content_type), user)
        handler = getattr(self, f"_{verb}")
        status, result = handler(target, query, body, content_type, user)
        if tables.wants_table(accept) and verb in ("get", "list", "watch") and not target.subresource:
            return status, self._as_table(target, query, verb, result)
        return status, result

    @staticmethod
    def _as_table(target, query, verb, result):
        include = _first(query, "includeObject", "PartialObjectMetadata")
        kind = target.rtype.kind
        if verb == "list":
            return tables.table(kind, result["items"], result["metadata"]["resourceVersion"], include)
        if verb == "get":
            return tables.table(kind, [result], result["metadata"].get("resourceVersion", ""), include)

        def events():
            for event in result:
                if event is None or event["type"] == "BOOKMARK":
                    yield event
                else:
                    obj = event["object"]
                    yield {"type": event["type"], "object": tables.table(
                        kind, [obj], obj["metadata"].get("resourceVersion", ""), include)}
        return events()

    @staticmethod
    def _verb(method, target, query):
        if method == "GET":
            if _first(query, "watch") in ("true", "1"):
                return "watch"
            return "get" if target.name else "list"
        if method == "DELETE" and not target.name:
            return "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")

    @staticmethod
    def _body(body, content_type):
        if not body:
            return {}
        if content_type.startswith(protobuf.CONTENT_TYPE):
            return protobuf.decode(body)
        try:
            if "yaml" in content_type:
                return yaml.safe_load(body) or {}
            return json.loads(body)
        except (ValueError, yaml.YAMLError) as err:
            raise errors.ApiError(400, f"the request body could not be decoded: {err}") from err

    def _object_in(self, target, body, content_type):
        obj = self._body(body, content_type)
        if not isinstance(obj, dict):
            raise errors.ApiError(400, "the request body is not an object")
        obj.setdefault("apiVersion", target.rtype.api_version)
        obj.setdefault("kind", target.rtype.kind)
        if (obj["apiVersion"], obj["kind"]) != (target.rtype.api_version, target.rtype.kind):
            raise errors.ApiError(400, f"the body is a {obj['apiVersion']} {obj['kind']} but the path is for "
                                  f"{target.rtype.api_version} {target.rtype.kind}")
        meta = obj.setdefault("metadata", {})
        if target.rtype.namespaced:
            if meta.get("namespace") and target.namespace and meta["namespace"] != target.namespace:
                raise errors.ApiError(400, "the namespace of the provided object does not match the namespace "
                                      "sent on the request")
            meta["namespace"] = target.namespace or meta.get("namespace") or "default"
        if target.name and meta.get("name") and meta["name"] != target.name:
            raise errors.ApiError(400, "the name of the object does not match the name on the URL")
        if target.name:
            meta["name"] = target.name
        return obj

    @staticmethod
    def _dry_run(query):
        value = query.get("dryRun", [])
        if value and any(v != "All" for v in value):
            raise errors.ApiError(400, f"Invalid dry run value: {value}: valid values are All")
        return bool(value)

    def _current(self, target):
        obj = self.store.get(target.rtype.api_version, target.rtype.plural, target.namespace, target.name)
        if obj is None:
            raise errors.not_found(target.rtype, target.name)
        return obj

    # ---- reads ----------------------------------------------------------------------------------------
    def _get(self, target, query, body, content_type, user):
        obj = self._current(target)
        if target.subresource == "scale":
            return 200, self._scale(obj)
        if target.subresource == "log":
            return 200, self._logs(target, query, obj)
        return 200, obj

    def _logs(self, target, query, pod):
        """Text (bytes) of a container's output, from PodRuntime.logs."""
        if not hasattr(self.runtime, "logs"):
            raise errors.ApiError(404, "this lab cluster runs no pods (or its runtime keeps no logs): pod logs are "
                                  "not available")
        container = _first(query, "container")
        names = [c["name"] for c in pod["spec"].get("initContainers", []) + pod["spec"].get("containers", [])]
        if container and container not in names:
            raise errors.ApiError(400, f"container {container} is not valid for pod {target.name}")
        if not container and len(pod["spec"].get("containers", [])) > 1:
            raise errors.ApiError(400, f"a container name must be specified for pod {target.name}, choose one of: "
                                  f"{names}")
        tail = _first(query, "tailLines")
        container = container or pod["spec"]["containers"][0]["name"]
        try:
            text = self.runtime.logs(target.namespace, target.name, container, int(tail) if tail else None,
                                     _first(query, "previous") == "true")
        except LookupError as err:
            raise errors.ApiError(400, f'container "{container}" in pod "{target.name}" is waiting to start: '
                                  f"{err}") from err
        return text.encode() if isinstance(text, str) else text

    def _list(self, target, query, body, content_type, user):
        items, rv = self.store.list_with_version(target.rtype.api_version, target.rtype.plural, target.namespace,
                                                 _first(query, "labelSelector"), _first(query, "fieldSelector"))
        return 200, {"kind": _list_kind(target.rtype), "apiVersion": target.rtype.api_version,
                     "metadata": {"resourceVersion": rv}, "items": items}

    def _watch(self, target, query, body, content_type, user):
        labels, fields = parse_labels(_first(query, "labelSelector")), parse_fields(_first(query, "fieldSelector"))
        if target.name:
            fields.append(("metadata.name", True, target.name))
        rv = _first(query, "resourceVersion")
        timeout = int(_first(query, "timeoutSeconds", "0") or 0) or 1800
        initial = []
        if rv in ("", "0") or _first(query, "sendInitialEvents") == "true":
            items, rv = self.store.list_with_version(target.rtype.api_version, target.rtype.plural,
                                                     target.namespace)
            initial = [{"type": "ADDED", "object": item} for item in items]
        events = self.store.watch(target.rtype.api_version, target.rtype.plural, target.namespace, rv, timeout,
                                  idle=True)
        bookmark = _first(query, "sendInitialEvents") == "true"

        def matches(obj):
            return labels_match(labels, obj["metadata"].get("labels")) and fields_match(fields, obj)

        def stream():
            for event in initial:
                if matches(event["object"]):
                    yield event
            if bookmark:
                yield {"type": "BOOKMARK", "object": {
                    "kind": target.rtype.kind, "apiVersion": target.rtype.api_version, "metadata": {
                        "resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}}}
            for event in events:
                if event is None:
                    yield None                  # idle: the server checks that its client is still there
                elif matches(event.object):
                    yield {"type": event.type, "object": event.object}
        return 200, stream()

    # ---- writes ---------------------------------------------------------------------------------------
    def _create(self, target, query, body, content_type, user):
        if target.subresource == "token":
            return 201, self._token_request(target, self._body(body, content_type))
        if target.subresource == "eviction":
            self.store.delete("v1", "pods", target.namespace, target.name, user, dry_run=self._dry_run(query))
            return 201, {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}
        if target.name:
            raise errors.ApiError(405, "POST goes to the collection, not to a named object")
        obj = self._object_in(target, body, content_type)
        return 201, self.store.create(obj, user, dry_run=self._dry_run(query))

    def _update(self, target, query, body, content_type, user):
        obj = self._object_in(target, body, content_type)
        if target.subresource == "scale":
            return 200, self._set_scale(target, obj.get("spec", {}).get("replicas"), user, query,
                                        obj["metadata"].get("resourceVersion"))
        sub = "status" if target.subresource in ("status", "finalize") else ""
        if target.subresource == "finalize":
            current = self._current(target)
            current["spec"] = obj.get("spec", {})
            return 200, self.store.update(current, user, dry_run=self._dry_run(query))
        return 200, self.store.update(obj, user, subresource=sub, dry_run=self._dry_run(query))

    def _patch(self, target, query, body, content_type, user):
        kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if kind is None:
            raise errors.ApiError(415, f"the body of the request was in an unknown format - accepted media types "
                                  f"include: {', '.join(PATCH_TYPES)}")
        dry_run = self._dry_run(query)
        if kind == "apply":
            return self._apply(target, query, body, user, dry_run)
        try:
            operations = json.loads(body or b"null")
        except ValueError as err:
            raise errors.ApiError(400, f"the patch could not be decoded: {err}") from err
        if target.subresource == "scale":
            scaled = self._apply_patch(kind, self._scale(self._current(target)), operations, "Scale")
            return 200, self._set_scale(target, scaled.get("spec", {}).get("replicas"), user, query)
        sub = "status" if target.subresource == "status" else ""

        def attempt():
            current = self._current(target)
            patched = self._apply_patch(kind, current, operations, target.rtype.kind)
            if not isinstance(patched, dict):
                raise errors.ApiError(422, "the patch did not produce an object")
            patched["metadata"]["name"] = target.name
            if patched.get("metadata", {}).get("resourceVersion") is None:
                patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.store.update(patched, user, subresource=sub, dry_run=dry_run)
        return 200, _retry_unless_pinned(attempt, _pins_version(kind, operations))

    @staticmethod
    def _apply_patch(kind, current, operations, object_kind):
        if kind == "json":
            return patch.json_patch(current, operations)
        if kind == "merge":
            return patch.merge_patch(current, operations)
        return patch.strategic_merge(current, operations, object_kind)

    def _apply(self, target, query, body, user, dry_run):
        manager = _first(query, "fieldManager")
        if not manager:
            raise errors.ApiError(400, "PATCH, application/apply-patch+yaml requires fieldManager to be set")
        applied = self._object_in(target, body, "application/yaml")
        previous = self.store.applied(target.rtype, target.namespace, target.name, manager)
        sub = "status" if target.subresource == "status" else ""

        def attempt():
            current = self.store.get(target.rtype.api_version, target.rtype.plural, target.namespace, target.name)
            if current is None:
                return None
            live = patch.remove_unapplied(copy.deepcopy(current), previous, applied, target.rtype.kind)
            merged = patch.strategic_merge(live, applied, target.rtype.kind)
            merged["metadata"].setdefault("resourceVersion", current["metadata"]["resourceVersion"])
            return self.store.update(merged, user, subresource=sub, dry_run=dry_run)
        result = _retry_unless_pinned(attempt, bool(applied.get("metadata", {}).get("resourceVersion")))
        if result is None:
            created = self.store.create(applied, user, dry_run=dry_run)
            if not dry_run:
                self.store.remember_applied(target.rtype, target.namespace, target.name, manager, applied)
            return 201, created
        if not dry_run:
            self.store.remember_applied(target.rtype, target.namespace, target.name, manager, applied)
        return 200, result

    def _delete(self, target, query, body, content_type, user):
        options = {}
        if body and not content_type.startswith(protobuf.CONTENT_TYPE):
            options = self._body(body, content_type) or {}
        propagation = options.get("propagationPolicy") or _first(query, "propagationPolicy") or None
        if options.get("orphanDependents") is True:
            propagation = "Orphan"
        dry_run = self._dry_run(query) or bool(options.get("dryRun"))
        grace = options.get("gracePeriodSeconds", _first(query, "gracePeriodSeconds") or None)
        obj = self.store.delete(target.rtype.api_version, target.rtype.plural, target.namespace, target.name, user,
                                propagation=propagation, dry_run=dry_run, preconditions=options.get("preconditions"),
                                grace_seconds=None if grace is None else int(grace))
        return 200, obj

    def _deletecollection(self, target, query, body, content_type, user):
        items = self._list(target, query, body, content_type, user)[1]
        for item in items["items"]:
            self.store.delete(target.rtype.api_version, target.rtype.plural, item["metadata"].get("namespace", ""),
                              item["metadata"]["name"], user, dry_run=self._dry_run(query))
        return 200, items

    # ---- subresources ---------------------------------------------------------------------------------
    @staticmethod
    def _scale(obj):
        selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {
            "name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace"),
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"]},
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}

    def _set_scale(self, target, replicas, user, query, resource_version=None):
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(target.rtype, target.name, "spec.replicas: Invalid value: must be an integer >= 0")
        current = self._current(target)
        if resource_version and resource_version != current["metadata"]["resourceVersion"]:
            raise errors.stale(target.rtype, target.name)
        current["spec"]["replicas"] = replicas
        return self._scale(self.store.update(current, user, dry_run=self._dry_run(query)))

    def _token_request(self, target, request):
        account = self._current(target)
        spec = request.get("spec", {}) or {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < MIN_TOKEN_SECONDS:
            raise errors.ApiError(422, f'TokenRequest.authentication.k8s.io "{target.name}" is invalid: '
                                  "spec.expirationSeconds: Invalid value: may not specify a duration less than "
                                  "10 minutes")
        pod = None
        bound = spec.get("boundObjectRef") or {}
        if bound.get("kind") == "Pod":
            pod = self.store.get("v1", "pods", target.namespace, bound.get("name", ""))
        status = self.tokens.issue(target.namespace, target.name, spec.get("audiences") or [self.tokens.issuer],
                                   seconds, pod, account["metadata"]["uid"])
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": target.name, "namespace": target.namespace,
                             "creationTimestamp": None},
                "spec": dict(spec, expirationSeconds=seconds), "status": status}

    @staticmethod
    def _review(target, review, user):
        review = review or {}
        review.setdefault("apiVersion", target.rtype.api_version)
        review.setdefault("kind", target.rtype.kind)
        if target.rtype.plural == "selfsubjectrulesreviews":
            review["status"] = rules_for(user)
        else:
            attributes = review.get("spec", {}).get("resourceAttributes") or {}
            verb = attributes.get("verb", "get") if attributes else "get"
            ok = allowed(user, verb)
            review["status"] = {"allowed": ok}
            if not ok:
                review["status"]["reason"] = "the lab's read-only identity may get, list and watch only"
        review.setdefault("metadata", {})["creationTimestamp"] = None
        return 201, review
