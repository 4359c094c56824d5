"""The node loop: hands the pods scheduled on this node to the PodRuntime, writes their status back, and feeds
Services with their Ready endpoints to the ServiceNetwork (the kubelet and kube-proxy halves of a node).

Level-triggered like the controllers: pod or service events (or one second) start a round. A pod is synced once
per uid in its own thread (starting containers can take seconds); afterwards its status comes from
PodRuntime.statuses(), which applies probes. Pods that left the store are deleted from the runtime.
"""
import copy
import json
import logging
import threading
import time

from lab.kube.api.errors import ApiError
from lab.kube.contracts import Conflict, UserInfo
from lab.kube.controllers.base import Controller
from lab.kube.controllers.endpoints import endpoints_of
from lab.kube.controllers.system import volume_dir

LOG = logging.getLogger("lab.kube.node")
NODE_USER = UserInfo("system:node:lab-node", ("system:nodes", "system:masters"))
HOST_PORTS = "lab.medimaging.io/host-ports"


class StoreResolver:
    """PodResolver over the Store (what the runtime needs to start a pod)."""

    def __init__(self, store, tokens, state_dir, addresses):
        self.store, self.tokens, self.state_dir, self._addresses = store, tokens, state_dir, addresses

    def config_map(self, namespace, name):
        return self.store.get("v1", "configmaps", namespace, name)

    def secret(self, namespace, name):
        return self.store.get("v1", "secrets", namespace, name)

    def volume_dir(self, namespace, claim):
        pvc = self.store.get("v1", "persistentvolumeclaims", namespace, claim)
        if pvc is None or pvc.get("status", {}).get("phase") != "Bound":
            raise LookupError(f'persistentvolumeclaim "{claim}" in namespace "{namespace}" is not bound')
        return volume_dir(self.state_dir, namespace, claim)

    def token(self, namespace, service_account, audience, expiration_seconds, pod):
        account = self.store.get("v1", "serviceaccounts", namespace, service_account)
        if account is None:
            raise LookupError(f'serviceaccount "{service_account}" not found in namespace "{namespace}"')
        return self.tokens.issue(namespace, service_account, [audience] if audience else [self.tokens.issuer],
                                 expiration_seconds, pod, account["metadata"]["uid"])["token"]

    def hosts(self, namespace):
        names = {}
        for (svc_ns, svc_name), address in dict(self._addresses).items():
            for name in (f"{svc_name}.{svc_ns}", f"{svc_name}.{svc_ns}.svc", f"{svc_name}.{svc_ns}.svc.cluster.local"):
                names[name] = address
            if svc_ns == namespace:
                names[svc_name] = address
        return names


class NodeLoop(Controller):
    name = "node"
    watches = (("v1", "pods"), ("v1", "services"))

    def __init__(self, store, runtime, service_network, tokens, state_dir, node_name="lab-node"):
        super().__init__(store, state_dir, node_name)
        self.runtime, self.network = runtime, service_network
        self.addresses = {}                     # (ns, service) -> address pods use
        self.resolver = StoreResolver(store, tokens, state_dir, self.addresses)
        self._synced = {}                       # uid -> (namespace, name, grace seconds)
        self._syncing = set()
        self._terminating = set()               # uids being stopped after a graceful delete
        self._services = {}                     # (ns, name) -> last (service spec, endpoints) sent
        self._lock = threading.Lock()
        if hasattr(runtime, "on_change"):                # status changes start a round at once
            runtime.on_change = lambda *_: self._dirty.set()

    def reconcile(self):
        self.round()

    # ---- one round --------------------------------------------------------------------------------------
    def round(self):
        pods = self.store.list("v1", "pods", field_selector=f"spec.nodeName={self.node_name}")
        present = {p["metadata"]["uid"] for p in pods}
        with self._lock:
            gone = [(uid, where) for uid, where in self._synced.items() if uid not in present]
        for uid, (namespace, name, grace) in gone:
            self.runtime.delete(namespace, name, grace)
            with self._lock:
                self._synced.pop(uid, None)
        with self._lock:
            self._terminating &= present
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if pod["metadata"].get("deletionTimestamp"):
                with self._lock:
                    begin = uid not in self._terminating
                    self._terminating.add(uid)
                if begin:
                    self._spawn(self._terminate, pod)
                continue
            with self._lock:
                start = uid not in self._synced and uid not in self._syncing
                if start:
                    self._syncing.add(uid)
            if start:
                self._spawn(self._sync_pod, pod)
        self._statuses(pods)
        self._sync_services()

    def _terminate(self, pod):
        """A graceful delete: stop the pod within its grace period, then remove the object (grace 0)."""
        uid, meta = pod["metadata"]["uid"], pod["metadata"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:              # a start in progress finishes first
            with self._lock:
                if uid not in self._syncing:
                    where = self._synced.pop(uid, None)
                    break
            time.sleep(0.1)
        else:
            where = None
        try:
            if where is not None:
                self.runtime.delete(meta["namespace"], meta["name"], meta.get("deletionGracePeriodSeconds", 30))
            self.store.delete("v1", "pods", meta["namespace"], meta["name"], NODE_USER, grace_seconds=0,
                              preconditions={"uid": uid})
        except (ApiError, Conflict) as err:             # already gone, or a new pod of the same name
            LOG.debug("pod %s/%s: %s", meta["namespace"], meta["name"], err)
        except Exception:  # pylint: disable=broad-except - the node must outlive one bad pod
            LOG.exception("pod %s/%s could not be stopped", meta["namespace"], meta["name"])
        self._dirty.set()

    def _sync_pod(self, pod):
        uid = pod["metadata"]["uid"]
        try:
            status = self.runtime.sync(pod, self.resolver)
            with self._lock:
                self._synced[uid] = (pod["metadata"]["namespace"], pod["metadata"]["name"],
                                     pod["spec"].get("terminationGracePeriodSeconds", 30))
            self._write_status(pod["metadata"]["namespace"], pod["metadata"]["name"], uid, status)
        except Exception as err:  # pylint: disable=broad-except - a pod that cannot start fails, the node goes on
            LOG.warning("pod %s/%s could not be started: %s", pod["metadata"]["namespace"],
                        pod["metadata"]["name"], err)
            self._write_status(pod["metadata"]["namespace"], pod["metadata"]["name"], uid, {
                "phase": "Pending", "reason": "RuntimeError", "message": str(err)})
        finally:
            with self._lock:
                self._syncing.discard(uid)
            self._dirty.set()

    def _statuses(self, pods):
        by_key = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
        for key, status in self.runtime.statuses().items():
            pod = by_key.get(tuple(key))
            if pod is not None and pod["metadata"]["uid"] in self._synced:
                self._write_status(key[0], key[1], pod["metadata"]["uid"], status)

    def _write_status(self, namespace, name, uid, runtime_status):
        pod = self.store.get("v1", "pods", namespace, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        status = copy.deepcopy(pod.get("status") or {})
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        for cond in runtime_status.get("conditions") or []:
            before = conditions.get(cond["type"])
            if before and before.get("status") == cond.get("status"):
                cond = dict(cond, lastTransitionTime=before.get("lastTransitionTime"))
            conditions[cond["type"]] = cond
        status.update({k: v for k, v in runtime_status.items() if k != "conditions"})
        status["conditions"] = list(conditions.values())
        if status != pod.get("status"):
            pod["status"] = status
            try:
                self.store.update(pod, NODE_USER, subresource="status")
            except Conflict:
                self._dirty.set()

    # ---- services (the kube-proxy half) -----------------------------------------------------------------
    def _sync_services(self):
        if self.network is None:
            return
        services = self.store.list("v1", "services")
        pods_by_ns = {}
        for pod in self.store.list("v1", "pods"):
            pods_by_ns.setdefault(pod["metadata"]["namespace"], []).append(pod)
        seen = set()
        for service in services:
            key = (service["metadata"]["namespace"], service["metadata"]["name"])
            if service["spec"].get("selector"):
                endpoints = [{"ip": pod["status"]["podIP"], "ports": ports}
                             for pod, ready, ports in endpoints_of(service, pods_by_ns.get(key[0], [])) if ready]
            else:
                endpoints = self._manual_endpoints(*key)
                if not endpoints:
                    continue
            seen.add(key)
            wanted = (service["spec"], endpoints)
            if self._services.get(key) == wanted:
                continue
            result = self.network.sync(service, endpoints)
            self._services[key] = copy.deepcopy(wanted)
            self.addresses[key] = result.get("clusterIP", service["spec"].get("clusterIP"))
            self._annotate(service, result.get("hostPorts") or {})
        for key in set(self._services) - seen:
            self.network.delete(*key)
            self._services.pop(key, None)
            self.addresses.pop(key, None)

    def _manual_endpoints(self, namespace, name):
        """A selectorless Service's own Endpoints object (e.g. `kubernetes` -> the API on the gateway)."""
        found = self.store.get("v1", "endpoints", namespace, name) or {}
        endpoints = []
        for subset in found.get("subsets") or []:
            ports = {p.get("name", ""): p["port"] for p in subset.get("ports") or []}
            endpoints += [{"ip": address["ip"], "ports": ports} for address in subset.get("addresses") or []]
        return endpoints

    def _annotate(self, service, host_ports):
        """Where this machine reaches the Service: {"service port": 127.0.0.1 port} in an annotation."""
        text = json.dumps({str(k): v for k, v in host_ports.items()}, sort_keys=True)
        fresh = self.store.get("v1", "services", service["metadata"]["namespace"], service["metadata"]["name"])
        if fresh is None:
            return
        annotations = fresh["metadata"].setdefault("annotations", {})
        if annotations.get(HOST_PORTS) != text:
            annotations[HOST_PORTS] = text
            fresh = self.store.update(fresh, NODE_USER)
        if fresh["spec"].get("type") == "LoadBalancer":      # reachable on this machine, as the kubelet documents
            status = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}}
            if fresh.get("status") != status:
                fresh["status"] = status
                self.store.update(fresh, NODE_USER, subresource="status")
