"""A level-triggered controller loop: wakes on watch events of the kinds it cares about (or every second) and
reconciles everything it owns. Small clusters make "reconcile all" cheap and impossible to get out of step."""
import hashlib
import json
import logging
import threading

from lab.kube.api.errors import ApiError
from lab.kube.api.selectors import labels_match, selector_from_match
from lab.kube.contracts import Conflict, UserInfo

LOG = logging.getLogger("lab.kube.controllers")
CONTROLLER_USER = UserInfo("system:kube-controller-manager", ("system:masters",))
RESYNC_SECONDS = 1.0


class Controller:
    name = "controller"
    watches = ()                     # [(api_version, plural)]

    def __init__(self, store, state_dir="", node_name="lab-node"):
        self.store, self.state_dir, self.node_name = store, state_dir, node_name
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        for api_version, plural in self.watches:
            self._spawn(self._watch, api_version, plural)
        self._spawn(self._run)
        return self

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, name=f"{self.name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _watch(self, api_version, plural):
        for _ in self.store.watch(api_version, plural, stop=self._stop):
            self._dirty.set()

    def _run(self):
        while not self._stop.is_set():
            self._dirty.wait(RESYNC_SECONDS)
            self._dirty.clear()
            if self._stop.is_set():
                return
            try:
                self.reconcile()
            except (Conflict, ApiError) as err:     # someone wrote first: the next round sees the new state
                LOG.debug("%s: %s", self.name, err)
                self._dirty.set()
            except Exception:  # pylint: disable=broad-except - a controller must outlive one bad object
                LOG.exception("%s failed", self.name)

    def stop(self):
        self._stop.set()
        self._dirty.set()

    def reconcile(self):
        raise NotImplementedError

    # ---- helpers shared by the workload controllers --------------------------------------------------------
    def owned(self, api_version, plural, owner):
        uid = owner["metadata"]["uid"]
        return [obj for obj in self.store.list(api_version, plural, owner["metadata"]["namespace"])
                if any(ref.get("uid") == uid and ref.get("controller") for ref in
                       obj["metadata"].get("ownerReferences") or [])]

    def write_status(self, obj, status):
        if obj.get("status") != status:
            obj["status"] = status
            self.store.update(obj, CONTROLLER_USER, subresource="status")


def owner_reference(owner):
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def pod_active(pod):
    return not pod["metadata"].get("deletionTimestamp") and \
        pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def matches(selector, obj):
    return labels_match(selector_from_match(selector), obj["metadata"].get("labels"))


def condition(kind, status, reason, message, now):
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastUpdateTime": now,
            "lastTransitionTime": now}


def keep_transition(old_conditions, new_conditions):
    """Keep lastTransitionTime (and lastUpdateTime) when a condition did not change, so status writes settle."""
    old = {c["type"]: c for c in old_conditions or []}
    for cond in new_conditions:
        before = old.get(cond["type"])
        if before and (before.get("status"), before.get("reason")) == (cond["status"], cond["reason"]):
            for stamp in ("lastTransitionTime", "lastUpdateTime", "lastProbeTime"):
                if stamp in before:
                    cond[stamp] = before[stamp]
    return new_conditions
