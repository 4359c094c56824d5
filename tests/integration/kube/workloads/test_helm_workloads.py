"""End to end on the lab cluster: helm 4 installs a small chart whose Deployment runs the project's Orthanc image on
podman; Orthanc answers through its Service; an env change rolls out pod by pod; a bad image fails `helm --wait`
(the pod shows why: ImagePullBackOff naming the image); `helm uninstall` leaves no container behind."""
import json
import os
import threading
import time
import urllib.request

from lab.containers.runtime import podman

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chart")


def orthanc_name(workloads, release="demo"):
    """Orthanc's configured Name, asked through the Service's 127.0.0.1 port (the node's host-ports annotation)."""
    service = workloads.cluster.store.get("v1", "services", "default", f"{release}-orthanc")
    port = json.loads(service["metadata"]["annotations"]["lab.medimaging.io/host-ports"])["80"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/system", timeout=10) as reply:
        return json.loads(reply.read())["Name"]


def pods_of(workloads, release):
    return [p for p in workloads.cluster.store.list("v1", "pods", "default")
            if p["metadata"]["labels"].get("app") == f"{release}-orthanc"]


def test_helm_install_wait_runs_orthanc_behind_its_service(workloads):
    code, output = workloads.tool("helm", "install", "demo", CHART, "--wait", "--timeout", "150s")
    assert code == 0, output
    assert orthanc_name(workloads) == "first"
    pods = pods_of(workloads, "demo")
    assert len(pods) == 2
    assert all(p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["ready"] for p in pods)


def test_rollout_replaces_pods_one_by_one(workloads):
    deployment = ("apps/v1", "deployments", "default", "demo-orthanc")
    available, running = [], []
    done = threading.Event()

    def watch():
        while not done.is_set():
            current = workloads.cluster.store.get(*deployment)
            available.append((current.get("status") or {}).get("availableReplicas", 0))
            # Terminating pods do not count against maxSurge (kube-controller-manager does not count them either).
            running.append([(p["metadata"]["name"][-5:], [c["type"][0] + c["status"][0] for c in
                             (p.get("status") or {}).get("conditions") or []]) for p in pods_of(workloads, "demo")
                            if not p["metadata"].get("deletionTimestamp")])
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, output = workloads.tool("kubectl", "set", "env", "deployment/demo-orthanc", "ORTHANC__NAME=second")
        assert code == 0, output
        code, output = workloads.tool("kubectl", "rollout", "status", "deployment/demo-orthanc", "--timeout=150s")
        assert code == 0 and "successfully rolled out" in output, output
    finally:
        done.set()
        watcher.join()
    # maxUnavailable 0, maxSurge 1: one pod at a time, an old one serving until its replacement is Ready.
    assert min(available) >= 2 and max(len(sample) for sample in running) <= 3, list(zip(available, running))
    # The old ReplicaSet's last pod goes a moment after the rollout reports success; the Service follows it.
    deadline = time.monotonic() + 90  # both waits below share it: generous for 3 parts on 2 cores
    while time.monotonic() < deadline:
        pods = pods_of(workloads, "demo")
        if len(pods) == 2 and all(p["spec"]["containers"][0]["env"][0]["value"] == "second" for p in pods):
            break
        time.sleep(0.5)
    assert [p["spec"]["containers"][0]["env"][0] for p in pods] == [{"name": "ORTHANC__NAME", "value": "second"}] * 2
    answers = []
    while time.monotonic() < deadline and answers[-4:] != ["second"] * 4:
        answers.append(orthanc_name(workloads))
        time.sleep(0.2)
    assert answers[-4:] == ["second"] * 4, answers


def test_bad_image_fails_helm_wait_with_the_pods_reason(workloads):
    code, output = workloads.tool("helm", "install", "broken", CHART, "--set", "image=localhost/medimaging/absent:0",
                                  "--wait", "--timeout", "30s")
    # helm 4 waits with kstatus on the Deployment: it names the workload; the pod's reason is in its status.
    assert code != 0 and "Deployment/default/broken-orthanc not ready" in output, output
    # helm gives up after 30 s whatever the pods' progress: on a loaded machine a pod may not have tried its pull yet
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not all(
            (((p.get("status") or {}).get("containerStatuses") or [{}])[0].get("state") or {}).get("waiting", {}).get(
                "reason") in ("ErrImagePull", "ImagePullBackOff") for p in pods_of(workloads, "broken") or [{}]):
        time.sleep(0.5)
    for pod in pods_of(workloads, "broken"):
        waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] in ("ErrImagePull", "ImagePullBackOff")
        assert "localhost/medimaging/absent:0" in waiting["message"]
    code, reasons = workloads.tool("kubectl", "get", "pods", "-l", "app=broken-orthanc", "-o",
                                   "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}")
    assert code == 0 and set(reasons.split()) <= {"ImagePullBackOff", "ErrImagePull"} and reasons, reasons


def test_helm_uninstall_leaves_no_containers(workloads):
    for release in ("demo", "broken"):
        code, output = workloads.tool("helm", "uninstall", release, "--ignore-not-found", "--wait", "--timeout", "60s")
        assert code == 0, output
    deadline = time.monotonic() + 60
    while True:
        left = podman("ps", "-a", "--filter", "label=io.kubernetes.pod.namespace=default", "--filter",
                      "label=io.medimaging.lab=kube-workloads-it", "--format", "{{.Names}}").stdout.decode().split()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == []
    assert pods_of(workloads, "demo") == [] and pods_of(workloads, "broken") == []
