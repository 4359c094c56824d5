"""Deployment: one ReplicaSet per pod template (pod-template-hash), revisions for rollout undo / helm rollback,
RollingUpdate (maxSurge/maxUnavailable) and Recreate, and the status kubectl rollout status and helm read."""
import copy
import math

from lab.kube.api.store import now_rfc3339
from lab.kube.controllers.base import (CONTROLLER_USER, Controller, condition, keep_transition, owner_reference,
                                       template_hash)

REVISION = "deployment.kubernetes.io/revision"


def resolve(value, total, round_up):
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value or 0)


def _replicas(rs):
    return rs["spec"].get("replicas", 0)


def _available(rs):
    return rs.get("status", {}).get("availableReplicas", 0)


class DeploymentController(Controller):
    name = "deployment"
    watches = (("apps/v1", "deployments"), ("apps/v1", "replicasets"))

    def reconcile(self):
        for deployment in self.store.list("apps/v1", "deployments"):
            if deployment["metadata"].get("deletionTimestamp"):
                continue
            self.sync(deployment)

    def sync(self, deployment):
        sets = self.owned("apps/v1", "replicasets", deployment)
        new, old = self._new_set(deployment, sets)
        desired = deployment["spec"].get("replicas", 1)
        if not deployment["spec"].get("paused"):
            strategy = deployment["spec"].get("strategy", {})
            if strategy.get("type") == "Recreate":
                self._recreate(new, old, desired)
            else:
                self._rolling(new, old, desired, strategy.get("rollingUpdate") or {})
            self._prune(deployment, old)
        self._status(deployment)

    def _new_set(self, deployment, sets):
        template = copy.deepcopy(deployment["spec"]["template"])
        digest = template_hash(template)
        new = next((rs for rs in sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == digest), None)
        old = [rs for rs in sets if rs is not new]
        revision = max([int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in sets] + [0])
        if new is None:
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = digest
            selector = copy.deepcopy(deployment["spec"]["selector"])
            selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
            desired = deployment["spec"].get("replicas", 1)
            new = self.store.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
                "name": f"{deployment['metadata']['name']}-{digest}",
                "namespace": deployment["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {REVISION: str(revision + 1), "deployment.kubernetes.io/desired-replicas": str(desired),
                                "deployment.kubernetes.io/max-replicas": str(desired + 1)},
                "ownerReferences": [owner_reference(deployment)]},
                "spec": {"replicas": 0, "selector": selector, "template": template}}, CONTROLLER_USER)
        elif int(new["metadata"].get("annotations", {}).get(REVISION, "0")) < revision:
            new["metadata"].setdefault("annotations", {})[REVISION] = str(revision + 1)   # a rollback
            new = self.store.update(new, CONTROLLER_USER)
        return new, old

    def _scale(self, rs, replicas):
        if _replicas(rs) != replicas:
            rs["spec"]["replicas"] = replicas
            self.store.update(rs, CONTROLLER_USER)

    def _recreate(self, new, old, desired):
        for rs in old:
            self._scale(rs, 0)
        if all(rs.get("status", {}).get("replicas", 0) == 0 for rs in old):
            self._scale(new, desired)

    def _rolling(self, new, old, desired, rolling):
        surge = resolve(rolling.get("maxSurge", "25%"), desired, True)
        unavailable = resolve(rolling.get("maxUnavailable", "25%"), desired, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        total = _replicas(new) + sum(_replicas(rs) for rs in old)
        room = desired + surge - total
        if _replicas(new) < desired and room > 0:
            self._scale(new, min(desired, _replicas(new) + room))
        elif _replicas(new) > desired:
            self._scale(new, desired)
        # old sets shrink only as far as availability allows (kube-controller-manager's reconcileOldReplicaSets):
        # the budget counts desired replicas, so a status not yet updated never lets two pods go at once
        min_available = desired - unavailable
        budget = _replicas(new) + sum(_replicas(rs) for rs in old) - min_available - \
            max(0, _replicas(new) - _available(new))
        oldest_first = sorted(old, key=lambda r: r["metadata"]["creationTimestamp"])
        for rs in oldest_first:                         # unhealthy old pods go first
            cut = min(max(0, _replicas(rs) - _available(rs)), max(0, budget))
            if cut:
                budget -= cut
                self._scale(rs, _replicas(rs) - cut)
        available = _available(new) + sum(min(_available(rs), _replicas(rs)) for rs in old)
        extra = min(budget, available - min_available)
        for rs in oldest_first:
            cut = min(_replicas(rs), max(0, extra))
            if cut:
                extra -= cut
                self._scale(rs, _replicas(rs) - cut)

    def _prune(self, deployment, old):
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old if _replicas(rs) == 0 and rs.get("status", {}).get("replicas", 0) == 0]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get(REVISION, "0")))
        for rs in idle[:max(0, len(idle) - limit)]:
            self.store.delete("apps/v1", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"],
                              CONTROLLER_USER)

    def _status(self, deployment):
        sets = self.owned("apps/v1", "replicasets", deployment)
        digest = template_hash(deployment["spec"]["template"])
        new = next((rs for rs in sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == digest), None)
        desired = deployment["spec"].get("replicas", 1)

        def total(field):
            return sum(rs.get("status", {}).get(field, 0) for rs in sets)
        replicas, ready, available = total("replicas"), total("readyReplicas"), total("availableReplicas")
        updated = (new or {}).get("status", {}).get("replicas", 0)
        rolling = deployment["spec"].get("strategy", {}).get("rollingUpdate") or {}
        max_unavailable = resolve(rolling.get("maxUnavailable", "25%"), desired, False)
        now = now_rfc3339()
        is_available = available >= desired - max_unavailable
        complete = updated == desired and replicas == desired and available == desired and \
            new is not None and new.get("status", {}).get("observedGeneration") == new["metadata"]["generation"]
        name = (new or {}).get("metadata", {}).get("name", "")
        conditions = [
            condition("Available", "True" if is_available else "False",
                      "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                      "Deployment has minimum availability." if is_available
                      else "Deployment does not have minimum availability.", now),
            condition("Progressing", "True", "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                      f'ReplicaSet "{name}" has successfully progressed.' if complete
                      else f'ReplicaSet "{name}" is progressing.', now)]
        status = {"observedGeneration": deployment["metadata"]["generation"], "replicas": replicas,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                  "unavailableReplicas": max(0, desired - available),
                  "conditions": keep_transition(deployment.get("status", {}).get("conditions"), conditions)}
        for field in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[field]:
                status.pop(field)
        revision = (new or {}).get("metadata", {}).get("annotations", {}).get(REVISION)
        if revision and deployment["metadata"].get("annotations", {}).get(REVISION) != revision:
            deployment["metadata"].setdefault("annotations", {})[REVISION] = revision
            deployment = self.store.update(deployment, CONTROLLER_USER)
        self.write_status(deployment, status)
