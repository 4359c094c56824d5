"""Pod status dicts shaped like the API's: phase, conditions, container statuses, QoS class."""
import time

from lab.kube.kubelet.quantity import parse_cpu, parse_memory


def rfc3339(seconds=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if seconds is None else seconds))


def qos_class(pod):
    containers = list(pod["spec"].get("containers") or []) + list(pod["spec"].get("initContainers") or [])
    resources = [(c.get("resources") or {}) for c in containers]
    if not any((r.get("requests") or {}) or (r.get("limits") or {}) for r in resources):
        return "BestEffort"
    for res in resources:
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            if name not in limits or parse(requests.get(name, limits[name])) != parse(limits[name]):
                return "Burstable"
    return "Guaranteed"


class Conditions:
    """Pod conditions in the kubelet's order; lastTransitionTime moves only when a status changes."""
    ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")

    def __init__(self):
        self._items = {}

    def set(self, kind, status, reason=None, message=None):
        value = "True" if status else "False"
        current = self._items.get(kind)
        if current is None or current["status"] != value:
            current = {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": rfc3339()}
            self._items[kind] = current
        current.pop("reason", None)
        current.pop("message", None)
        if reason:
            current["reason"] = reason
        if message:
            current["message"] = message

    def is_true(self, kind):
        return self._items.get(kind, {}).get("status") == "True"

    def as_list(self):
        return [dict(self._items[kind]) for kind in self.ORDER if kind in self._items]


def container_status(entry):
    """entry: the runtime's record of one container -> a containerStatuses item."""
    status = {"name": entry.name, "state": entry.state_dict(), "lastState": entry.last_state or {},
              "ready": entry.ready, "restartCount": entry.restart_count, "image": entry.spec["image"],
              "imageID": entry.image_id or "", "started": entry.started}
    if entry.container_id:
        status["containerID"] = entry.container_id
    return status
