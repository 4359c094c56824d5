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
    (pod,) = pods_of(workloads, "demo")
    assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["ready"]


def test_rollout_replaces_the_pod_without_a_gap(workloads):
    deployment = ("apps/v1", "deployments", "default", "demo-orthanc")
    available = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            current = workloads.cluster.store.get(*deployment)
            available.append((current.get("status") or {}).get("availableReplicas", 0))
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
    assert min(available) >= 1, "maxUnavailable 0: an old pod serves until its replacement is Ready"
    # The Service follows once the endpoints drop the old pod (a moment, as with kube-proxy).
    deadline = time.monotonic() + 30
    while orthanc_name(workloads) != "second" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert orthanc_name(workloads) == "second"
    deadline = time.monotonic() + 30
    while len(pods_of(workloads, "demo")) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    (pod,) = pods_of(workloads, "demo")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["ORTHANC__NAME"] == "second"


def test_bad_image_fails_helm_wait_with_the_pods_reason(workloads):
    code, output = workloads.tool("helm", "install", "broken", CHART, "--set", "image=localhost/medimaging/absent:0",
                                  "--wait", "--timeout", "30s")
    # helm 4 waits with kstatus on the Deployment: it names the workload; the pod's reason is in its status.
    assert code != 0 and "Deployment/default/broken-orthanc not ready" in output, output
    (pod,) = pods_of(workloads, "broken")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] in ("ErrImagePull", "ImagePullBackOff") and "localhost/medimaging/absent:0" in waiting["message"]
    code, reasons = workloads.tool("kubectl", "get", "pods", "-l", "app=broken-orthanc", "-o",
                                   "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}")
    assert code == 0 and reasons in ("ImagePullBackOff", "ErrImagePull"), reasons


def test_helm_uninstall_leaves_no_containers(workloads):
    for release in ("demo", "broken"):
        code, output = workloads.tool("helm", "uninstall", release, "--wait", "--timeout", "60s")
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
