"""Cluster housekeeping: the scheduler (one node), namespaces (default ServiceAccount, termination), garbage
collection by ownerReferences (background, foreground, orphan) and PVC binding to host folders."""
import copy
import os

from lab.kube.api.errors import ApiError
from lab.kube.api.store import now_rfc3339
from lab.kube.controllers.base import CONTROLLER_USER, Controller, keep_transition


class Scheduler(Controller):
    name = "scheduler"
    watches = (("v1", "pods"),)

    def reconcile(self):
        for pod in self.store.list("v1", "pods", field_selector="spec.nodeName="):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            pod["spec"]["nodeName"] = self.node_name
            self.store.update(pod, CONTROLLER_USER)
            pod = self.store.get("v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            status = copy.deepcopy(pod.get("status") or {})
            status.setdefault("phase", "Pending")
            status["conditions"] = keep_transition(status.get("conditions"), [
                c for c in status.get("conditions") or [] if c["type"] != "PodScheduled"] + [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": now_rfc3339()}])
            self.write_status(pod, status)


class Namespaces(Controller):
    """Gives each namespace its "default" ServiceAccount and kube-root-ca.crt; empties Terminating ones."""
    name = "namespaces"
    watches = (("v1", "namespaces"),)

    def __init__(self, store, state_dir="", node_name="lab-node", ca_file=""):
        super().__init__(store, state_dir, node_name)
        self.ca_file = ca_file

    def reconcile(self):
        for namespace in self.store.list("v1", "namespaces"):
            name = namespace["metadata"]["name"]
            if namespace["metadata"].get("deletionTimestamp"):
                self._terminate(name)
                continue
            if self.store.get("v1", "serviceaccounts", name, "default") is None:
                self.store.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                   "metadata": {"name": "default", "namespace": name}}, CONTROLLER_USER)
            if self.ca_file and self.store.get("v1", "configmaps", name, "kube-root-ca.crt") is None:
                with open(self.ca_file, encoding="utf-8") as handle:
                    self.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                        "name": "kube-root-ca.crt", "namespace": name}, "data": {"ca.crt": handle.read()}},
                        CONTROLLER_USER)

    def _terminate(self, name):
        for api_version, plural, obj_name in self.store.namespaced_objects(name):
            try:
                self.store.delete(api_version, plural, name, obj_name, CONTROLLER_USER)
            except ApiError:
                pass
        self.store.finish_namespace(name)


class GarbageCollector(Controller):
    name = "garbage-collector"
    # the usual owners and dependents wake it at once (events coalesce into one round); anything else within 1 s
    watches = (("apps/v1", "deployments"), ("apps/v1", "replicasets"), ("apps/v1", "statefulsets"),
               ("batch/v1", "jobs"), ("v1", "pods"), ("v1", "services"))

    def reconcile(self):
        uids, everything = self.store.garbage_view()
        for rtype, obj in everything:
            meta = obj["metadata"]
            refs = meta.get("ownerReferences") or []
            if refs and not any(ref.get("uid") in uids for ref in refs):
                self._delete(rtype, obj, None)
            if meta.get("deletionTimestamp"):
                self._finalize(rtype, obj, everything)

    def _dependents(self, uid, everything):
        return [(rtype, obj) for rtype, obj in everything
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])]

    def _finalize(self, rtype, owner, everything):
        finalizers = owner["metadata"].get("finalizers") or []
        dependents = self._dependents(owner["metadata"]["uid"], everything)
        if "orphan" in finalizers:
            for dep_type, dep in dependents:
                dep["metadata"]["ownerReferences"] = [r for r in dep["metadata"]["ownerReferences"]
                                                      if r.get("uid") != owner["metadata"]["uid"]]
                self.store.update(dep, CONTROLLER_USER)
            self._drop_finalizer(rtype, owner, "orphan")
        elif "foregroundDeletion" in finalizers:
            for dep_type, dep in dependents:
                self._delete(dep_type, dep, "Foreground")
            if not dependents:
                self._drop_finalizer(rtype, owner, "foregroundDeletion")

    def _drop_finalizer(self, rtype, obj, finalizer):
        obj["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != finalizer]
        self.store.update(obj, CONTROLLER_USER)

    def _delete(self, rtype, obj, propagation):
        if obj["metadata"].get("deletionTimestamp") and propagation is None:
            return
        try:
            self.store.delete(rtype.api_version, rtype.plural, obj["metadata"].get("namespace", ""),
                              obj["metadata"]["name"], CONTROLLER_USER, propagation=propagation)
        except ApiError:
            pass


def volume_dir(state_dir, namespace, claim):
    return os.path.join(state_dir, "volumes", namespace, claim)


class VolumeBinder(Controller):
    """Binds each PVC to a PersistentVolume backed by a host folder under the cluster's state."""
    name = "volume-binder"
    watches = (("v1", "persistentvolumeclaims"),)

    def reconcile(self):
        for claim in self.store.list("v1", "persistentvolumeclaims"):
            if claim.get("status", {}).get("phase") == "Bound" or claim["metadata"].get("deletionTimestamp"):
                continue
            namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
            path = volume_dir(self.state_dir, namespace, name)
            os.makedirs(path, mode=0o777, exist_ok=True)
            os.chmod(path, 0o777)       # pods run as arbitrary UIDs (OpenShift ranges): the folder must let them in
            pv_name = f"pvc-{claim['metadata']['uid']}"
            capacity = claim["spec"].get("resources", {}).get("requests", {}).get("storage", "1Gi")
            modes = claim["spec"].get("accessModes") or ["ReadWriteOnce"]
            if self.store.get("v1", "persistentvolumes", "", pv_name) is None:
                self.store.create({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
                    "name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": "lab.medimaging.io/host-path"}},
                    "spec": {"capacity": {"storage": capacity}, "accessModes": modes, "hostPath": {"path": path},
                             "persistentVolumeReclaimPolicy": "Delete",
                             "storageClassName": claim["spec"].get("storageClassName", "standard"),
                             "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                                          "namespace": namespace, "uid": claim["metadata"]["uid"]}},
                    "status": {"phase": "Bound"}}, CONTROLLER_USER)
            claim["spec"]["volumeName"] = pv_name
            claim["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
            claim = self.store.update(claim, CONTROLLER_USER)
            self.write_status(claim, {"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}})
        # a released volume goes with its claim (reclaim policy Delete); its folder stays for inspection
        claims = {c["metadata"]["uid"] for c in self.store.list("v1", "persistentvolumeclaims")}
        for volume in self.store.list("v1", "persistentvolumes"):
            ref = volume["spec"].get("claimRef") or {}
            if ref.get("uid") and ref["uid"] not in claims and \
                    volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                self.store.delete("v1", "persistentvolumes", "", volume["metadata"]["name"], CONTROLLER_USER)
