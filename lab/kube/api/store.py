"""The API's objects in memory: resourceVersions, admission, status subresources, finalizers, watch.

One lock orders every write, so resourceVersions grow by one per write and each watcher sees events in that order.
HTTP requests and the in-process parts (controllers, node loop, extensions) use the same methods.
"""
import collections
import copy
import datetime
import queue
import secrets
import threading
import time
import uuid

from lab.kube.api import errors
from lab.kube.api.resources import Registry
from lab.kube.api.selectors import fields_match, labels_match, parse_fields, parse_labels
from lab.kube.contracts import AdmissionDenied, AdmissionRequest, ResourceType, WatchEvent

HISTORY = 5000             # watch events kept for resuming from a resourceVersion (410 Expired beyond)
_STOP = object()


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _omit_empty(obj):
    """Go's omitempty on ObjectMeta: an empty map or list is not part of the object (so `annotations: {}` sent
    by a client reads back as absent, as from kube-apiserver)."""
    meta = obj.get("metadata", {})
    for key in ("labels", "annotations", "finalizers", "ownerReferences", "managedFields"):
        if key in meta and not meta[key]:
            del meta[key]
    return obj


def _content(obj):
    """What counts for metadata.generation: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class MemoryStore:
    """Implements lab.kube.contracts.Store, with dry_run and the HTTP-only extras as keyword arguments."""

    def __init__(self, registry=None):
        self.registry = registry or Registry()
        self.admissions = []                  # extension plugins, after the built-in defaulting
        self.builtin_admissions = []          # set by the server (defaulting, service-account creation...)
        self._lock = threading.RLock()
        self._objects = {}                    # (group, plural) -> {(namespace, name): obj}
        self._rv = 1
        self._history = collections.deque(maxlen=HISTORY)
        self._watchers = []
        self._stopped = threading.Event()
        self._applied = {}                    # (group, plural, ns, name, manager) -> last applied object
        self.graceful_pods = False            # True when a node stops pods: deleted pods go through Terminating

    # ---- reading ---------------------------------------------------------------------------------------
    def rtype(self, api_version, plural):
        rtype = self.registry.by_api_version(api_version, plural)
        if rtype is None:
            raise errors.ApiError(404, f"the server could not find the requested resource ({plural} {api_version})")
        return rtype

    def rtype_of(self, obj):
        rtype = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if rtype is None:
            raise errors.ApiError(400, f'no kind "{obj.get("kind")}" is registered for version '
                                  f'"{obj.get("apiVersion")}": check apiVersion and kind (and that the CRD exists)')
        return rtype

    def _bucket(self, rtype):
        return self._objects.setdefault((rtype.group, rtype.plural), {})

    def _key(self, rtype, namespace, name):
        return (namespace if rtype.namespaced else "", name)

    def _out(self, obj, rtype):
        out = copy.deepcopy(obj)
        out["apiVersion"] = rtype.api_version
        return out

    def get(self, api_version, plural, namespace, name):
        rtype = self.rtype(api_version, plural)
        with self._lock:
            obj = self._bucket(rtype).get(self._key(rtype, namespace, name))
            return self._out(obj, rtype) if obj is not None else None

    def list(self, api_version, plural, namespace="", label_selector="", field_selector=""):
        return self.list_with_version(api_version, plural, namespace, label_selector, field_selector)[0]

    def list_with_version(self, api_version, plural, namespace="", label_selector="", field_selector=""):
        rtype = self.rtype(api_version, plural)
        labels, field_terms = parse_labels(label_selector), parse_fields(field_selector)
        with self._lock:
            items = [self._out(obj, rtype) for (ns, _), obj in sorted(self._bucket(rtype).items())
                     if (not namespace or not rtype.namespaced or ns == namespace)
                     and labels_match(labels, obj["metadata"].get("labels"))
                     and fields_match(field_terms, obj)]
            return items, str(self._rv)

    @property
    def resource_version(self):
        with self._lock:
            return str(self._rv)

    def lookup(self, api_version, plural, namespace, name):
        try:
            return self.get(api_version, plural, namespace, name)
        except errors.ApiError:
            return None

    # ---- writing ---------------------------------------------------------------------------------------
    def _admit(self, operation, rtype, obj, old, user, dry_run, subresource=""):
        namespace = (obj or old)["metadata"].get("namespace", "") if rtype.namespaced else ""
        ns_object = self._bucket(self.registry.get("", "v1", "namespaces")).get(("", namespace)) \
            if namespace else None
        request = AdmissionRequest(operation, rtype, namespace, (obj or old)["metadata"].get("name", ""), obj, old,
                                   user, dry_run, subresource, copy.deepcopy(ns_object), self.lookup)
        plugins = self.builtin_admissions + [p for p in self.admissions if p.mutating] + \
            [p for p in self.admissions if not p.mutating]
        for plugin in plugins:
            try:
                plugin.admit(request)
            except AdmissionDenied as err:
                if err.code == 422:
                    raise errors.invalid(rtype, request.name, err.message) from err
                raise errors.ApiError(err.code, err.message, err.reason) from err

    def _check_namespace(self, rtype, obj):
        if not rtype.namespaced:
            obj["metadata"].pop("namespace", None)
            return
        namespace = obj["metadata"].get("namespace") or "default"
        obj["metadata"]["namespace"] = namespace
        ns_obj = self._bucket(self.registry.get("", "v1", "namespaces")).get(("", namespace))
        if ns_obj is None:
            raise errors.ApiError(404, f'namespaces "{namespace}" not found',
                                  details={"name": namespace, "kind": "namespaces"})
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise errors.ApiError(403, f"{rtype.kind.lower()}s \"{obj['metadata'].get('name', '')}\" is forbidden: "
                                  f"unable to create new content in namespace {namespace} because it is being "
                                  "terminated")

    def create(self, obj, user, dry_run=False, subresource=""):
        obj = copy.deepcopy(obj)
        rtype = self.rtype_of(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789")
                                                          for _ in range(5))
        if not meta.get("name"):
            raise errors.invalid(rtype, "", "metadata.name: Required value: name or generateName is required")
        with self._lock:
            self._check_namespace(rtype, obj)
            key = self._key(rtype, meta.get("namespace", ""), meta["name"])
            if key in self._bucket(rtype):
                raise errors.already_exists(rtype, meta["name"])
            for drop in ("resourceVersion", "uid", "deletionTimestamp", "selfLink"):
                meta.pop(drop, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
            self._admit("CREATE", rtype, obj, None, user, dry_run)
            _omit_empty(obj)
            if dry_run:
                return self._out(obj, rtype)
            return self._store(rtype, key, obj, "ADDED")

    def update(self, obj, user, subresource="", dry_run=False):
        obj = copy.deepcopy(obj)
        rtype = self.rtype_of(obj)
        meta = obj.setdefault("metadata", {})
        with self._lock:
            namespace = meta.get("namespace") or ("default" if rtype.namespaced else "")
            key = self._key(rtype, namespace, meta.get("name", ""))
            old = self._bucket(rtype).get(key)
            if old is None:
                raise errors.not_found(rtype, meta.get("name", ""))
            if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise errors.stale(rtype, meta["name"])
            new = self._merge_update(rtype, old, obj, subresource)
            if subresource not in ("status",):
                self._admit("UPDATE", rtype, new, copy.deepcopy(old), user, dry_run, subresource)
            _omit_empty(new)
            if _content(new) != _content(old):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if dry_run:
                return self._out(new, rtype)
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                return self._remove(rtype, key)
            if new == old:
                return self._out(old, rtype)        # a no-op write keeps its resourceVersion, as etcd would
            return self._store(rtype, key, new, "MODIFIED")

    @staticmethod
    def _merge_update(rtype, old, obj, subresource):
        if subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = obj.get("status", {})
            return new
        new = obj
        meta = new["metadata"]
        for keep in ("uid", "creationTimestamp", "deletionTimestamp", "namespace", "generation",
                     "deletionGracePeriodSeconds", "resourceVersion"):
            if keep in old["metadata"]:
                meta[keep] = old["metadata"][keep]
            else:
                meta.pop(keep, None)
        if "status" in rtype.subresources:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def _store(self, rtype, key, obj, event_type):
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if rtype.group == "apiextensions.k8s.io":
            self._register_crd(obj)                 # before the event: watchers see it Established
        self._bucket(rtype)[key] = obj
        self._emit(rtype, event_type, obj)
        return self._out(obj, rtype)

    def _remove(self, rtype, key):
        obj = self._bucket(rtype).pop(key)
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._emit(rtype, "DELETED", obj)
        for applied in [k for k in self._applied if k[:4] == (rtype.group, rtype.plural) + key]:
            self._applied.pop(applied)
        if rtype.group == "apiextensions.k8s.io":
            self._unregister_crd(obj)
        return self._out(obj, rtype)

    def delete(self, api_version, plural, namespace, name, user, propagation=None, dry_run=False,
               preconditions=None, grace_seconds=None):
        """Delete now, or mark for deletion while finalizers remain (or, for a pod on a node, while the node
        stops it within its grace period). Returns the object as last stored."""
        rtype = self.rtype(api_version, plural)
        with self._lock:
            key = self._key(rtype, namespace, name)
            old = self._bucket(rtype).get(key)
            if old is None:
                raise errors.not_found(rtype, name)
            wanted = (preconditions or {}).get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise errors.stale(rtype, name)
            wanted = (preconditions or {}).get("uid")
            if wanted and wanted != old["metadata"]["uid"]:
                raise errors.ConflictError(f"Precondition failed: UID in precondition: {wanted}, UID in object "
                                           f"meta: {old['metadata']['uid']}")
            self._admit("DELETE", rtype, None, copy.deepcopy(old), user, dry_run)
            if dry_run:
                return self._out(old, rtype)
            finalizers = list(old["metadata"].get("finalizers") or [])
            if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if propagation == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            if rtype.plural == "namespaces" and rtype.group == "":
                return self._mark_namespace(key, old)
            grace = self._pod_grace(rtype, old, grace_seconds)
            if grace:
                return self._mark_pod(rtype, key, old, grace, finalizers)
            if not finalizers:
                return self._remove(rtype, key)
            if old["metadata"].get("deletionTimestamp") and finalizers == old["metadata"].get("finalizers"):
                return self._out(old, rtype)
            new = copy.deepcopy(old)
            new["metadata"]["finalizers"] = finalizers
            new["metadata"].setdefault("deletionTimestamp", now_rfc3339())
            new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            return self._store(rtype, key, new, "MODIFIED")

    def _pod_grace(self, rtype, old, grace_seconds):
        """Seconds of graceful termination a pod deletion gets (0: remove now), as kube-apiserver decides."""
        if not self.graceful_pods or (rtype.group, rtype.plural) != ("", "pods") or \
                not old.get("spec", {}).get("nodeName"):
            return 0
        if grace_seconds is None:
            grace_seconds = old["spec"].get("terminationGracePeriodSeconds", 30)
        if old["metadata"].get("deletionTimestamp"):
            current = old["metadata"].get("deletionGracePeriodSeconds", 30)
            return 0 if grace_seconds == 0 else current     # a second delete can only shorten it to "now"
        return max(int(grace_seconds), 0)

    def _mark_pod(self, rtype, key, old, grace, finalizers):
        if old["metadata"].get("deletionTimestamp"):
            return self._out(old, rtype)
        new = copy.deepcopy(old)
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=grace)
        new["metadata"]["deletionTimestamp"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        return self._store(rtype, key, new, "MODIFIED")

    def _mark_namespace(self, key, old):
        """Namespaces always go through Terminating; the namespace controller empties and then removes them."""
        rtype = self.registry.get("", "v1", "namespaces")
        if old["metadata"].get("deletionTimestamp"):
            return self._out(old, rtype)
        new = copy.deepcopy(old)
        new["metadata"]["deletionTimestamp"] = now_rfc3339()
        new.setdefault("status", {})["phase"] = "Terminating"
        return self._store(rtype, key, new, "MODIFIED")

    def finish_namespace(self, name):
        """Remove a Terminating namespace once it holds nothing (called by the namespace controller)."""
        with self._lock:
            for (group, plural), bucket in self._objects.items():
                rtype = self.registry.get(group, "v1", plural) or next(
                    (t for t in self.registry.all() if t.group == group and t.plural == plural), None)
                if rtype is not None and rtype.namespaced and any(ns == name for ns, _ in bucket):
                    return False
            rtype = self.registry.get("", "v1", "namespaces")
            if ("", name) in self._bucket(rtype):
                self._remove(rtype, ("", name))
            return True

    def namespaced_objects(self, namespace):
        """[(api_version, plural, name)] of every object in a namespace."""
        with self._lock:
            found = []
            for (group, plural), bucket in self._objects.items():
                rtype = next((t for t in self.registry.all() if t.group == group and t.plural == plural), None)
                if rtype is None or not rtype.namespaced:
                    continue
                found += [(rtype.api_version, plural, name) for ns, name in bucket if ns == namespace]
            return found

    def garbage_view(self):
        """(every uid, [(ResourceType, obj copy)] of the objects with owners or marked for deletion): what the
        garbage collector needs, without copying everything else (helm's release Secrets are large)."""
        with self._lock:
            uids, found = set(), []
            types = {(t.group, t.plural): t for t in self.registry.all()}
            for key, bucket in self._objects.items():
                for obj in bucket.values():
                    meta = obj["metadata"]
                    uids.add(meta["uid"])
                    if key in types and (meta.get("ownerReferences") or meta.get("deletionTimestamp")):
                        found.append((types[key], copy.deepcopy(obj)))
            return uids, found

    # ---- server-side apply memory ---------------------------------------------------------------------
    def applied(self, rtype, namespace, name, manager):
        with self._lock:
            return copy.deepcopy(self._applied.get((rtype.group, rtype.plural, namespace, name, manager)))

    def remember_applied(self, rtype, namespace, name, manager, obj):
        with self._lock:
            self._applied[(rtype.group, rtype.plural, namespace, name, manager)] = copy.deepcopy(obj)

    # ---- CRDs ------------------------------------------------------------------------------------------
    def _register_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        subs = tuple(name for name in ("status", "scale") if any(
            name in (v.get("subresources") or {}) for v in spec.get("versions", [])))
        for version in spec.get("versions", []):
            if version.get("served", True):
                self.registry.add(ResourceType(spec.get("group", ""), version["name"], names.get("kind", ""),
                                               names.get("plural", ""), spec.get("scope") != "Cluster",
                                               tuple(names.get("shortNames") or ()), subs))
        if not crd.get("status", {}).get("conditions"):
            crd["status"] = {"acceptedNames": names, "storedVersions": [
                v["name"] for v in spec.get("versions", []) if v.get("storage")], "conditions": [
                {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": now_rfc3339()}
                for t, r, m in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                                ("Established", "InitialNamesAccepted", "the initial names have been accepted"))]}

    def _unregister_crd(self, crd):
        spec = crd.get("spec", {})
        for version in spec.get("versions", []):
            self.registry.remove(spec.get("group", ""), version["name"], spec.get("names", {}).get("plural", ""))
        self._objects.pop((spec.get("group", ""), spec.get("names", {}).get("plural", "")), None)

    # ---- watch -----------------------------------------------------------------------------------------
    def _emit(self, rtype, event_type, obj):
        snapshot = copy.deepcopy(obj)
        self._history.append((self._rv, rtype.group, rtype.plural, event_type, snapshot))
        for watcher in self._watchers:
            if watcher["key"] == (rtype.group, rtype.plural) and (
                    not watcher["namespace"] or snapshot["metadata"].get("namespace") == watcher["namespace"]):
                watcher["queue"].put((event_type, snapshot))

    def watch(self, api_version, plural, namespace="", resource_version="", timeout=None, stop=None, idle=False):
        """Events after resource_version ("" or "0": from now). Ends at timeout, on stop.set(), or store stop.
        idle=True also yields None when nothing happened for half a second (HTTP watches check their client)."""
        rtype = self.rtype(api_version, plural)
        watcher = {"key": (rtype.group, rtype.plural), "namespace": namespace if rtype.namespaced else "",
                   "queue": queue.Queue()}
        with self._lock:
            if resource_version not in ("", "0"):
                try:
                    since = int(resource_version)
                except ValueError as err:
                    raise errors.ApiError(400, f"invalid resourceVersion {resource_version!r}") from err
                if len(self._history) == self._history.maxlen and self._history[0][0] > since + 1:
                    raise errors.ApiError(410, f"too old resource version: {since} ({self._history[0][0]})",
                                          reason="Expired")
                for rv, group, kind_plural, event_type, obj in self._history:
                    if rv > since and (group, kind_plural) == watcher["key"] and (
                            not watcher["namespace"] or obj["metadata"].get("namespace") == watcher["namespace"]):
                        watcher["queue"].put((event_type, copy.deepcopy(obj)))
            self._watchers.append(watcher)
        return self._drain(watcher, rtype, timeout, stop, idle)

    def _drain(self, watcher, rtype, timeout, stop, idle):
        end = None if not timeout else time.monotonic() + timeout
        try:
            while not self._stopped.is_set() and not (stop is not None and stop.is_set()):
                wait = 0.5 if end is None else min(0.5, end - time.monotonic())
                if wait <= 0:
                    return
                try:
                    item = watcher["queue"].get(timeout=wait)
                except queue.Empty:
                    if idle:
                        yield None
                    continue
                if item is _STOP:
                    return
                event_type, obj = item
                obj = copy.deepcopy(obj)            # one snapshot feeds every watcher and the history
                obj["apiVersion"] = rtype.api_version
                yield WatchEvent(event_type, obj)
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

    def stop(self):
        self._stopped.set()
        with self._lock:
            for watcher in self._watchers:
                watcher["queue"].put(_STOP)
