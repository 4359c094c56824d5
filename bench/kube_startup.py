"""Lab cluster start-up: seconds from `python -m lab.kube up` to an answer to `kubectl get ns` (an empty cluster,
API only), and, with the lab kubelet, from `kubectl apply` of one Orthanc Deployment
(localhost/medimaging/orthanc:trixie; `python -m lab.containers build orthanc` first) to its pod Ready and its
Service answering on 127.0.0.1. Each cluster lives in a temporary LAB_DIR and is taken down after. Prints JSON
measured in this one run (--rounds for the API-only start)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBECTL = os.path.join(REPO_ROOT, ".cache", "tools", "bin", "kubectl")
ORTHANC = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: orthanc}
spec:
  selector: {matchLabels: {app: orthanc}}
  template:
    metadata: {labels: {app: orthanc}}
    spec:
      containers:
      - name: orthanc
        image: localhost/medimaging/orthanc:trixie
        ports: [{name: http, containerPort: 8042}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: orthanc}
spec:
  selector: {app: orthanc}
  ports: [{name: http, port: 8042, targetPort: http}]
"""


def _lab(lab_dir, *args, check=True):
    env = dict(os.environ, LAB_DIR=lab_dir)
    return subprocess.run([sys.executable, "-m", "lab.kube", *args], cwd=REPO_ROOT, env=env, check=check,
                          capture_output=True, text=True)


def _kubectl(kubeconfig, *args, stdin=None):
    return subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, *args], check=True, capture_output=True,
                          text=True, input=stdin, timeout=180)


def empty_cluster(lab_dir, name):
    started = time.monotonic()
    facts = json.loads(_lab(lab_dir, "up", "--name", name, "--no-pods").stdout)
    _kubectl(facts["kubeconfig"], "get", "ns")
    return time.monotonic() - started


def orthanc_pod(lab_dir, name):
    started = time.monotonic()
    facts = json.loads(_lab(lab_dir, "up", "--name", name).stdout)
    cluster_up = time.monotonic() - started
    started = time.monotonic()
    _kubectl(facts["kubeconfig"], "apply", "-f", "-", stdin=ORTHANC)
    _kubectl(facts["kubeconfig"], "rollout", "status", "deploy/orthanc", "--timeout=170s")
    ready = time.monotonic() - started
    service = json.loads(_kubectl(facts["kubeconfig"], "get", "svc", "orthanc", "-o", "json").stdout)
    port = json.loads(service["metadata"]["annotations"]["lab.medimaging.io/host-ports"])["8042"]
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/system", timeout=10)  # noqa: S310 - the lab's Service
        answer = 200
    except urllib.error.HTTPError as err:
        answer = err.code                    # 401: Orthanc answers and asks for credentials
    return {"cluster_up_s": round(cluster_up, 2), "apply_to_ready_s": round(ready, 2),
            "service_answer": answer, "up_to_service_answer_s": round(cluster_up + time.monotonic() - started, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-pods", action="store_true", help="skip the Orthanc pod measurement")
    args = parser.parse_args()
    lab_dir = tempfile.mkdtemp(prefix="medimaging-bench-kube-")
    result = {}
    try:
        times = []
        for round_number in range(args.rounds):
            times.append(empty_cluster(lab_dir, f"bench-empty-{round_number}"))
            _lab(lab_dir, "down", "--name", f"bench-empty-{round_number}")
        result["empty_cluster_to_get_ns_s"] = {"min": round(min(times), 2), "max": round(max(times), 2),
                                               "rounds": args.rounds}
        if not args.no_pods:
            try:
                result["orthanc_pod"] = orthanc_pod(lab_dir, "bench-pod")
            finally:
                _lab(lab_dir, "down", "--name", "bench-pod", check=False)
    finally:
        shutil.rmtree(lab_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
