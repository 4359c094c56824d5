"""StatefulSet: pods NAME-0..N-1 created in order (OrderedReady waits for each to be Ready; Parallel does not),
a PVC per volumeClaimTemplate and ordinal (kept when the set scales down, as Retain says), rolling update from
the highest ordinal down, one pod at a time."""
import copy

from lab.kube.api.errors import ApiError
from lab.kube.controllers.base import CONTROLLER_USER, Controller, pod_active, pod_ready, template_hash
from lab.kube.controllers.replicaset import pod_from_template

REVISION_LABEL = "controller-revision-hash"


class StatefulSetController(Controller):
    name = "statefulset"
    watches = (("apps/v1", "statefulsets"), ("v1", "pods"))

    def reconcile(self):
        for stateful_set in self.store.list("apps/v1", "statefulsets"):
            if not stateful_set["metadata"].get("deletionTimestamp"):
                self.sync(stateful_set)

    def sync(self, sts):
        name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
        revision = f"{name}-{template_hash(sts['spec']['template'])}"
        wanted = sts["spec"].get("replicas", 1)
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {p["metadata"]["name"]: p for p in self.owned("v1", "pods", sts)}
        for ordinal in range(wanted):
            pod_name = f"{name}-{ordinal}"
            pod = pods.get(pod_name)
            if pod is None:
                self._claims(sts, ordinal)
                self.store.create(self._pod(sts, ordinal, revision), CONTROLLER_USER)
                if ordered:
                    break
                continue
            if pod.get("status", {}).get("phase") == "Failed" and pod_active(pod) is False:
                self._delete(pod)
                break
            if ordered and not (pod_ready(pod) and pod_active(pod)):
                break
        for pod_name, pod in sorted(pods.items(), key=lambda item: -self._ordinal(item[0])):
            if self._ordinal(pod_name) >= wanted and not pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
                if ordered:
                    break
        self._roll(sts, pods, revision, wanted)
        self._status(sts, revision)

    @staticmethod
    def _ordinal(pod_name):
        tail = pod_name.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    def _pod(self, sts, ordinal, revision):
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = pod_from_template(sts, sts["spec"]["template"], name=name)
        labels = pod["metadata"].setdefault("labels", {})
        labels.update({REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": name,
                       "apps.kubernetes.io/pod-index": str(ordinal)})
        pod["spec"].setdefault("hostname", name)
        if sts["spec"].get("serviceName"):
            pod["spec"].setdefault("subdomain", sts["spec"]["serviceName"])
        volumes = pod["spec"].setdefault("volumes", [])
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            claim = template["metadata"]["name"]
            volumes[:] = [v for v in volumes if v.get("name") != claim]
            volumes.append({"name": claim, "persistentVolumeClaim": {
                "claimName": f"{claim}-{sts['metadata']['name']}-{ordinal}"}})
        return pod

    def _claims(self, sts, ordinal):
        namespace = sts["metadata"]["namespace"]
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            claim_name = f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"
            if self.store.get("v1", "persistentvolumeclaims", namespace, claim_name) is not None:
                continue
            meta = copy.deepcopy(template.get("metadata") or {})
            meta.update(name=claim_name, namespace=namespace)
            meta.setdefault("labels", {}).update(sts["spec"]["selector"].get("matchLabels") or {})
            self.store.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                               "spec": copy.deepcopy(template.get("spec") or {})}, CONTROLLER_USER)

    def _roll(self, sts, pods, revision, wanted):
        strategy = sts["spec"].get("updateStrategy", {})
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
        current = [p for n, p in pods.items() if self._ordinal(n) < wanted]
        if len(current) < wanted or not all(pod_ready(p) and pod_active(p) for p in current):
            return
        stale = [p for p in current if p["metadata"].get("labels", {}).get(REVISION_LABEL) != revision
                 and self._ordinal(p["metadata"]["name"]) >= partition]
        if stale:
            self._delete(max(stale, key=lambda p: self._ordinal(p["metadata"]["name"])))

    def _status(self, sts, revision):
        pods = [p for p in self.owned("v1", "pods", sts) if pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get(REVISION_LABEL) == revision)
        old = sts.get("status", {})
        status = {"observedGeneration": sts["metadata"]["generation"], "replicas": len(pods),
                  "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": updated,
                  "updatedReplicas": updated, "updateRevision": revision,
                  "currentRevision": revision if updated == len(pods) else old.get("currentRevision", revision),
                  "collisionCount": 0}
        for field in ("readyReplicas", "availableReplicas", "currentReplicas", "updatedReplicas"):
            if not status[field]:
                status.pop(field)
        self.write_status(sts, status)

    def _delete(self, pod):
        try:
            self.store.delete("v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"], CONTROLLER_USER)
        except ApiError:
            pass
