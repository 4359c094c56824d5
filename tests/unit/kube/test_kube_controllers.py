"""The controllers and the node loop over an in-memory runtime: Deployment -> ReplicaSet -> Pods -> ready replicas,
rolling updates one pod at a time, Jobs, StatefulSets with their claims, garbage collection, Services."""
import json
import time

import pytest

from kube_fakes import ADMIN, FakeRuntime, FakeServices, new_store
from lab.kube import controllers
from lab.kube.node import HOST_PORTS, NodeLoop
from lab.kube.tokens import ServiceAccountTokens


def wait_for(check, timeout=60.0, what="condition"):  # generous: the CI machine is shared
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    store = new_store()
    store.graceful_pods = True
    runtime, services = FakeRuntime(), FakeServices()
    loops = controllers.start_all(store, str(tmp_path), "lab-node")
    tokens = ServiceAccountTokens(str(tmp_path), "https://127.0.0.1:1")
    loops.append(NodeLoop(store, runtime, services, tokens, str(tmp_path)).start())
    yield store, runtime, services
    for loop in loops:
        loop.stop()
    store.stop()


def _deployment(replicas=3, image="a:1", max_surge=1, max_unavailable=0):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image,
                                                           "ports": [{"name": "http", "containerPort": 8042}]}]}}}}


def _pods(store, selector="app=web"):
    return store.list("v1", "pods", "default", selector)


def _ready_deployment(store, replicas):
    def check():
        d = store.get("apps/v1", "deployments", "default", "web")
        status = d.get("status", {})
        return status.get("observedGeneration") == d["metadata"]["generation"] and \
            status.get("readyReplicas") == replicas and status.get("updatedReplicas") == replicas and \
            status.get("replicas") == replicas and d
    return wait_for(check, what=f"{replicas} ready replicas")


def test_deployment_runs_pods_and_reports_ready(cluster):
    store, runtime, services = cluster
    store.create(_deployment(), ADMIN)
    deployment = _ready_deployment(store, 3)
    conditions = {c["type"]: c["reason"] for c in deployment["status"]["conditions"]}
    assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = _pods(store)
    assert len(pods) == 3 and {p["spec"]["nodeName"] for p in pods} == {"lab-node"}
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert len(runtime.running) == 3
    replica_sets = store.list("apps/v1", "replicasets", "default")
    assert len(replica_sets) == 1 and pods[0]["metadata"]["ownerReferences"][0]["uid"] == \
        replica_sets[0]["metadata"]["uid"]


def _is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def test_rolling_update_replaces_pods_one_by_one(cluster):
    store, runtime, _ = cluster
    store.create(_deployment(), ADMIN)
    _ready_deployment(store, 3)
    old = {p["metadata"]["name"] for p in _pods(store)}
    runtime.hold.set()                                  # new pods start not Ready: the rollout must wait for each
    deployment = store.get("apps/v1", "deployments", "default", "web")
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "a:2"
    store.update(deployment, ADMIN)

    def counts():                                       # pods not terminating: (all, old, new, ready)
        pods = [p for p in _pods(store) if not p["metadata"].get("deletionTimestamp")]
        new = [p for p in pods if p["metadata"]["name"] not in old]
        return len(pods), len(pods) - len(new), len(new), sum(1 for p in pods if _is_ready(p))
    for step in range(1, 4):
        # one surge pod at a time (maxSurge 1), no old pod removed before it is Ready (maxUnavailable 0)
        wait_for(lambda: counts()[2] == step and f"{step}", what=f"new pod {step}")
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            total, old_left, _, ready = counts()
            assert total <= 4 and ready >= 3 and old_left == 4 - step, counts()
            time.sleep(0.05)
        runtime.make_ready()
        wait_for(lambda: counts()[1] == 3 - step, what=f"old pod {step} removed")
    runtime.hold.clear()
    deployment = _ready_deployment(store, 3)
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    sets = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
            for rs in store.list("apps/v1", "replicasets", "default")}
    assert sets == {"1": 0, "2": 3}


def test_deleted_pods_terminate_on_the_node_first(cluster):
    store, runtime, _ = cluster
    store.create(_deployment(replicas=1), ADMIN)
    pod = _ready_deployment(store, 1) and _pods(store)[0]
    name, since = pod["metadata"]["name"], store.resource_version
    marked = store.delete("v1", "pods", "default", name, ADMIN)
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30 and marked["metadata"]["deletionTimestamp"]
    wait_for(lambda: store.get("v1", "pods", "default", name) is None, what="the pod removed by the node")
    assert ("default", name) in runtime.deleted
    events = []
    for event in store.watch("v1", "pods", "default", since, timeout=2):
        if event.object["metadata"]["name"] == name:
            events.append((event.type, bool(event.object["metadata"].get("deletionTimestamp"))))
        if event.type == "DELETED" and event.object["metadata"]["name"] == name:
            break
    assert events[0] == ("MODIFIED", True) and events[-1] == ("DELETED", True)     # Terminating, then gone
    _ready_deployment(store, 1)                                                      # and replaced


def test_job_completes_or_fails(cluster):
    store, _, _ = cluster
    for name, command in (("ok", "exit 0"), ("bad", "exit 1")):
        store.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
                      "spec": {"completions": 2, "backoffLimit": 1, "template": {"spec": {
                          "restartPolicy": "Never", "containers": [{"name": "c", "image": "x", "command": [
                              "sh", "-c", command]}]}}}}, ADMIN)

    def conditions(name):
        job = store.get("batch/v1", "jobs", "default", name)
        return {c["type"] for c in job.get("status", {}).get("conditions") or []} and job
    ok = wait_for(lambda: "Complete" in {c["type"] for c in (conditions("ok") or {}).get("status", {}).get(
        "conditions", [])} and conditions("ok"), what="job ok complete")
    assert ok["status"]["succeeded"] == 2 and ok["status"]["completionTime"]
    bad = wait_for(lambda: "Failed" in {c["type"] for c in (conditions("bad") or {}).get("status", {}).get(
        "conditions", [])} and conditions("bad"), what="job bad failed")
    assert bad["status"]["failed"] == 2
    assert [c["reason"] for c in bad["status"]["conditions"] if c["type"] == "Failed"] == ["BackoffLimitExceeded"]


def test_statefulset_ordinals_and_claims(cluster):
    store, _, _ = cluster
    store.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
                  "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                           "template": {"metadata": {"labels": {"app": "db"}},
                                        "spec": {"containers": [{"name": "c", "image": "pg"}]}},
                           "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                               "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
                 ADMIN)
    wait_for(lambda: store.get("apps/v1", "statefulsets", "default", "db").get("status", {}).get(
        "readyReplicas") == 2, what="statefulset ready")
    pods = sorted(p["metadata"]["name"] for p in _pods(store, "app=db"))
    assert pods == ["db-0", "db-1"]
    pod = store.get("v1", "pods", "default", "db-1")
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-1"}} in pod["spec"]["volumes"]
    assert pod["spec"]["hostname"] == "db-1" and pod["spec"]["subdomain"] == "db"
    claims = wait_for(lambda: [c for c in store.list("v1", "persistentvolumeclaims", "default")
                               if c.get("status", {}).get("phase") == "Bound"] if len(
        [c for c in store.list("v1", "persistentvolumeclaims", "default")
         if c.get("status", {}).get("phase") == "Bound"]) == 2 else None, what="claims bound")
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1"]


def test_garbage_collection_and_service_endpoints(cluster):
    store, runtime, services = cluster
    store.create(_deployment(replicas=2), ADMIN)
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"selector": {"app": "web"}, "ports": ports}}, ADMIN)
    _ready_deployment(store, 2)
    endpoints = wait_for(lambda: (store.get("v1", "endpoints", "default", "web") or {}).get("subsets") and len(
        store.get("v1", "endpoints", "default", "web")["subsets"][0].get("addresses", [])) == 2 and
        store.get("v1", "endpoints", "default", "web"), what="endpoints")
    assert endpoints["subsets"][0]["ports"] == [{"name": "http", "port": 8042, "protocol": "TCP"}]
    wait_for(lambda: len(services.synced.get(("default", "web"), [])) == 2, what="service network sync")
    assert {tuple(e["ports"].items()) for e in services.synced[("default", "web")]} == {(("http", 8042),)}
    service = wait_for(lambda: HOST_PORTS in (store.get("v1", "services", "default", "web")["metadata"].get(
        "annotations") or {}) and store.get("v1", "services", "default", "web"), what="host ports")
    assert json.loads(service["metadata"]["annotations"][HOST_PORTS]) == {"80": 40080}
    slices = wait_for(lambda: [s for s in store.list("discovery.k8s.io/v1", "endpointslices", "default",
                                                     "kubernetes.io/service-name=web") if len(s["endpoints"]) == 2],
                      what="an endpoint slice with both pods")
    assert len(slices) == 1 and {e["conditions"]["ready"] for e in slices[0]["endpoints"]} == {True}
    store.delete("apps/v1", "deployments", "default", "web", ADMIN, propagation="Foreground")
    wait_for(lambda: store.get("apps/v1", "deployments", "default", "web") is None, what="foreground deletion")
    wait_for(lambda: not _pods(store) and not store.list("apps/v1", "replicasets", "default"), what="GC")
    wait_for(lambda: not runtime.running, what="runtime pods deleted")
    store.delete("v1", "services", "default", "web", ADMIN)
    wait_for(lambda: store.get("v1", "endpoints", "default", "web") is None and not store.list(
        "discovery.k8s.io/v1", "endpointslices", "default"), what="endpoints removed")
    wait_for(lambda: ("default", "web") not in services.synced, what="service network delete")


def test_namespace_deletion_and_default_service_account(cluster):
    store, _, _ = cluster
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}}, ADMIN)
    wait_for(lambda: store.get("v1", "serviceaccounts", "doomed", "default"), what="default service account")
    store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "doomed"}}, ADMIN)
    marked = store.delete("v1", "namespaces", "", "doomed", ADMIN)
    assert marked["status"]["phase"] == "Terminating"
    wait_for(lambda: store.get("v1", "namespaces", "", "doomed") is None, what="namespace removed")
    assert store.get("v1", "configmaps", "doomed", "c") is None


class _RefuseLabelledPods:
    """An admission that refuses pods labelled app=refused (as an SCC refuses a root pod)."""
    name, mutating = "refuse-test", False

    def admit(self, request):
        from lab.kube.contracts import AdmissionDenied
        if request.resource.plural == "pods" and request.operation == "CREATE" and \
                (request.obj or {}).get("metadata", {}).get("labels", {}).get("app") == "refused":
            raise AdmissionDenied('pods "x" is forbidden: refused by the test policy')


def test_a_refused_pod_marks_its_replica_set_and_spares_the_others(cluster):
    store, _, _ = cluster
    store.admissions.append(_RefuseLabelledPods())
    refused = _deployment(replicas=1)
    refused["metadata"]["name"] = "a-refused"
    refused["spec"]["selector"]["matchLabels"] = refused["spec"]["template"]["metadata"]["labels"] = {"app": "refused"}
    store.create(refused, ADMIN)
    store.create(_deployment(replicas=2), ADMIN)
    _ready_deployment(store, 2)

    def failure():
        sets = store.list("apps/v1", "replicasets", "default", "app=refused")
        conditions = sets[0].get("status", {}).get("conditions", []) if sets else []
        return [c for c in conditions if c["type"] == "ReplicaFailure" and c["reason"] == "FailedCreate"]
    assert "refused by the test policy" in wait_for(failure, what="ReplicaFailure")[0]["message"]
    assert _pods(store, "app=refused") == []
