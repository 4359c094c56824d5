"""A store with the built-in admission, and an in-memory PodRuntime/ServiceNetwork, for controller tests."""
import threading

from lab.kube.api.auth import ADMIN_GROUP
from lab.kube.api.defaults import BuiltinDefaults
from lab.kube.api.store import MemoryStore
from lab.kube.contracts import UserInfo

ADMIN = UserInfo("tester", (ADMIN_GROUP,))


def new_store(namespaces=("default",)):
    store = MemoryStore()
    store.builtin_admissions.append(BuiltinDefaults())
    for name in namespaces:
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, ADMIN)
    return store


class FakeRuntime:
    """Pods 'run' at once: Running and Ready, unless their first container's command says exit 0 / exit 1 (then
    Succeeded / Failed, as a Job's pod would). `ready` can hold pods back to test rolling updates."""

    def __init__(self):
        self.running, self.deleted, self.on_change = {}, [], None
        self.hold = threading.Event()        # set: new pods stay not Ready
        self._lock = threading.Lock()
        self._next_ip = 1

    def _status(self, pod, ip):
        command = " ".join(pod["spec"]["containers"][0].get("command") or [])
        ready = not self.hold.is_set()
        if "exit 0" in command or "exit 1" in command:
            phase = "Succeeded" if "exit 0" in command else "Failed"
            ready = False
        else:
            phase = "Running"
        flag = "True" if ready else "False"
        return {"phase": phase, "podIP": ip, "hostIP": "10.0.0.1", "startTime": "2026-01-01T00:00:00Z",
                "conditions": [{"type": t, "status": flag} for t in ("Initialized", "ContainersReady", "Ready")]}

    def sync(self, pod, resolver):
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        with self._lock:
            if key not in self.running:
                self._next_ip += 1
                self.running[key] = self._status(pod, f"10.1.0.{self._next_ip}")
            return self.running[key]

    def make_ready(self):
        with self._lock:
            for status in self.running.values():
                if status["phase"] == "Running":
                    for cond in status["conditions"]:
                        cond["status"] = "True"

    def delete(self, namespace, name, grace_seconds=30):
        with self._lock:
            self.running.pop((namespace, name), None)
            self.deleted.append((namespace, name))

    def statuses(self):
        with self._lock:
            return {key: dict(value) for key, value in self.running.items()}

    def shutdown(self):
        self.running.clear()


class FakeServices:
    def __init__(self):
        self.synced = {}

    def sync(self, service, endpoints):
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        self.synced[key] = endpoints
        return {"clusterIP": service["spec"]["clusterIP"], "hostPorts": {p["port"]: 40000 + p["port"]
                                                                         for p in service["spec"]["ports"]}}

    def delete(self, namespace, name):
        self.synced.pop((namespace, name), None)

    def shutdown(self):
        self.synced.clear()


class LoggingRuntime(FakeRuntime):
    """FakeRuntime that keeps one line of output per container."""

    def logs(self, namespace, name, container="", tail_lines=None, previous=False):
        if (namespace, name) not in self.running:
            raise LookupError("not started")
        lines = [f"{container} line {n}" for n in range(1, 4)]
        return "\n".join(lines[-tail_lines:] if tail_lines else lines) + "\n"
