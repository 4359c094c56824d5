"""Endpoints and EndpointSlices from the pods a Service selects (Ready ones serve, the others are listed as not
ready), as the endpoints and endpointslice controllers keep them."""
import hashlib

from lab.kube.controllers.base import CONTROLLER_USER, Controller, pod_ready

SLICE_MANAGER = "endpointslice-controller.k8s.io"


def _target_port(service_port, pod):
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod["spec"].get("containers", []):
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return port["containerPort"]
    return None


def endpoints_of(service, pods):
    """[(pod, ready, {port name: number})] of the pods the service selects that have an IP."""
    selector = service["spec"].get("selector") or {}
    found = []
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        if not pod.get("status", {}).get("podIP") or pod["metadata"].get("deletionTimestamp") or \
                pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        ports = {}
        for port in service["spec"].get("ports") or []:
            number = _target_port(port, pod)
            if number is not None:
                ports[port.get("name", "")] = number
        found.append((pod, pod_ready(pod), ports))
    return found


class EndpointsController(Controller):
    name = "endpoints"
    watches = (("v1", "services"), ("v1", "pods"))

    def reconcile(self):
        pods_by_ns = {}
        for pod in self.store.list("v1", "pods"):
            pods_by_ns.setdefault(pod["metadata"]["namespace"], []).append(pod)
        for service in self.store.list("v1", "services"):
            if not service["spec"].get("selector"):
                continue
            namespace = service["metadata"]["namespace"]
            found = endpoints_of(service, pods_by_ns.get(namespace, []))
            self._endpoints(service, found)
            self._slice(service, found)
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list("v1", "services")}
        for endpoints in self.store.list("v1", "endpoints"):
            key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
            if key not in services:       # the Service went: its Endpoints go too (slices go by ownerReference)
                self.store.delete("v1", "endpoints", key[0], key[1], CONTROLLER_USER)

    @staticmethod
    def _address(pod):
        return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"), "targetRef": {
            "kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"]}}

    def _put(self, desired):
        meta = desired["metadata"]
        plural = "endpoints" if desired["kind"] == "Endpoints" else "endpointslices"
        current = self.store.get(desired["apiVersion"], plural, meta["namespace"], meta["name"])
        if current is None:
            self.store.create(desired, CONTROLLER_USER)
            return
        body = {k: v for k, v in desired.items() if k not in ("metadata", "apiVersion", "kind")}
        if any(current.get(k) != v for k, v in body.items()) or \
                current["metadata"].get("labels") != meta.get("labels"):
            current.update(body)
            current["metadata"]["labels"] = meta.get("labels")
            self.store.update(current, CONTROLLER_USER)

    def _endpoints(self, service, found):
        ports = [{"name": p.get("name"), "port": number, "protocol": p.get("protocol", "TCP")}
                 for p in service["spec"].get("ports") or [] for name, number in
                 [(p.get("name", ""), (found[0][2].get(p.get("name", "")) if found else None))] if number]
        for port in ports:
            if not port["name"]:
                port.pop("name")
        ready = [self._address(pod) for pod, is_ready, _ in found if is_ready]
        not_ready = [self._address(pod) for pod, is_ready, _ in found if not is_ready]
        subset = {"ports": ports}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        meta = service["metadata"]
        self._put({"apiVersion": "v1", "kind": "Endpoints", "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "labels": meta.get("labels") or {}},
            "subsets": [subset] if found and ports else []})

    def _slice(self, service, found):
        meta = service["metadata"]
        suffix = hashlib.sha256(meta["uid"].encode()).hexdigest()[:5]
        endpoints = [{"addresses": [pod["status"]["podIP"]], "conditions": {
            "ready": ready, "serving": ready, "terminating": False}, "nodeName": pod["spec"].get("nodeName"),
            "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": pod["metadata"]["name"],
                          "uid": pod["metadata"]["uid"]}} for pod, ready, _ in found]
        ports = [{"name": p.get("name", ""), "port": found[0][2].get(p.get("name", "")),
                  "protocol": p.get("protocol", "TCP")} for p in service["spec"].get("ports") or []] if found else []
        labels = dict(meta.get("labels") or {}, **{"kubernetes.io/service-name": meta["name"],
                                                   "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER})
        owner = {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"], "controller": True,
                 "blockOwnerDeletion": True}
        self._put({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {
            "name": f"{meta['name']}-{suffix}", "namespace": meta["namespace"], "labels": labels,
            "ownerReferences": [owner]}, "addressType": "IPv4", "endpoints": endpoints, "ports": ports})
