"""ReplicaSet: keeps spec.replicas pods from its template; replaces failed ones; rolls up ready/available."""
import copy

from lab.kube.api.errors import ApiError
from lab.kube.controllers.base import CONTROLLER_USER, Controller, owner_reference, pod_active, pod_ready


def pod_from_template(owner, template, name="", generate_name=""):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": copy.deepcopy(template.get("metadata") or {}),
           "spec": copy.deepcopy(template.get("spec") or {})}
    meta = pod["metadata"]
    meta.pop("creationTimestamp", None)
    meta["namespace"] = owner["metadata"]["namespace"]
    meta["ownerReferences"] = [owner_reference(owner)]
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{owner['metadata']['name']}-"
    return pod


class ReplicaSetController(Controller):
    name = "replicaset"
    watches = (("apps/v1", "replicasets"), ("v1", "pods"))

    def reconcile(self):
        for replica_set in self.store.list("apps/v1", "replicasets"):
            if replica_set["metadata"].get("deletionTimestamp"):
                continue
            self.sync(replica_set)

    def sync(self, replica_set):
        pods = self.owned("v1", "pods", replica_set)
        for pod in pods:
            if pod.get("status", {}).get("phase") in ("Failed",) and not pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
        active = [p for p in pods if pod_active(p)]
        wanted = replica_set["spec"].get("replicas", 1)
        refused = None
        if len(active) < wanted:
            for _ in range(wanted - len(active)):
                try:
                    self.store.create(pod_from_template(replica_set, replica_set["spec"]["template"]),
                                      CONTROLLER_USER)
                except ApiError as exc:
                    # Admission refused the pod (an SCC, a quota): say so on this replica set and go on with
                    # the others, as kube-controller-manager does (condition ReplicaFailure, reason FailedCreate).
                    refused = str(exc)
                    break
        elif len(active) > wanted:
            # not-ready pods first, then the newest (as the real controller ranks them)
            ranked = sorted(active, key=lambda p: (pod_ready(p), p["metadata"]["creationTimestamp"],
                                                   p["metadata"]["name"]), reverse=False)
            doomed = [p for p in ranked if not pod_ready(p)]
            doomed += sorted([p for p in ranked if pod_ready(p)], key=lambda p: p["metadata"]["creationTimestamp"],
                             reverse=True)
            for pod in doomed[:len(active) - wanted]:
                self._delete(pod)
        pods = [p for p in self.owned("v1", "pods", replica_set) if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": replica_set["metadata"]["generation"]}
        if not ready:
            status.pop("readyReplicas")
            status.pop("availableReplicas")
        if refused:
            status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                     "message": refused}]
        self.write_status(replica_set, status)

    def _delete(self, pod):
        try:
            self.store.delete("v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"], CONTROLLER_USER)
        except ApiError:
            pass
